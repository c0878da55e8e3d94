// How the e2e works the demo page: through labels, roles and the panels' status lines, the way
// a person reads the page.

/** The panel section with this id suffix (`database`, `console`, `catalog`...). */
export function panel(page, id) {
  return page.locator(`#panel-${id}`);
}

/**
 * Runs `action` (which clicks something in panel `id`) and waits for that panel's status line to
 * change and settle on a final tone. Returns `{ tone, text, code }`; `code` is the error code
 * shown, if any. Waiting for a change means an earlier message is never mistaken for the answer.
 */
export async function settle(page, id, action) {
  const status = panel(page, id).locator('.status').first();
  await status.evaluate((element) => {
    element.__observer?.disconnect();
    element.__changed = false;
    element.__observer = new MutationObserver(() => (element.__changed = true));
    element.__observer.observe(element, { childList: true, subtree: true, characterData: true, attributes: true });
  });
  await action();
  await page.waitForFunction(
    (selector) => {
      const element = document.querySelector(selector);
      return element?.__changed === true && ['ok', 'error', 'info'].includes(element.dataset.tone ?? '');
    },
    `#panel-${id} .status`,
    { timeout: 120_000 },
  );
  return status.evaluate((element) => ({
    tone: element.dataset.tone,
    text: element.textContent ?? '',
    code: element.querySelector('.code')?.textContent ?? undefined,
  }));
}

/** Like `settle`, but the outcome must be `ok`; otherwise it throws with what the page said. */
export async function succeed(page, id, action) {
  const result = await settle(page, id, action);
  if (result.tone !== 'ok') throw new Error(`panel ${id}: expected success, page said [${result.tone}] ${result.text}`);
  return result;
}

/** Types SQL into the console, runs it, and returns the status and the result table's rows. */
export async function runSql(page, sql) {
  const console = panel(page, 'console');
  await console.getByLabel('SQL', { exact: true }).fill(sql);
  const result = await settle(page, 'console', () => console.getByRole('button', { name: 'Run', exact: true }).click());
  const rows = await console.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  return { ...result, rows };
}

/** Answers the open `<dialog>` with its button named `name` (e.g. "Restore", "Cancel"). */
export async function answerDialog(page, name, fill) {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  if (fill !== undefined) await dialog.getByRole('textbox').fill(fill);
  await dialog.getByRole('button', { name, exact: true }).click();
}

/** Opens (or creates) a database by name through the picker. */
export async function openDatabase(page, name) {
  const picker = panel(page, 'database');
  await picker.getByLabel('Name').fill(name);
  await picker.getByRole('button', { name: 'Open or create' }).click();
  await page.locator('[data-testid=open-db]', { hasText: name }).waitFor();
}

/** Picks the backup whose row mentions `note` in the catalog; returns the toolbar button `action`. */
export async function catalogButton(page, note, action) {
  const catalog = panel(page, 'catalog');
  await catalog.locator('tbody tr', { hasText: note }).first().getByRole('radio').check();
  return catalog.locator('.toolbar').getByRole('button', { name: action, exact: true });
}

/**
 * Starts watching the page's main thread: the longest task (Long Tasks API), the longest gap
 * between animation frames, and every value the progress bar `progressSelector` shows.
 * Returns a function that stops watching and returns `{ longestTaskMs, longestFrameGapMs, progress }`.
 */
export async function watchMainThread(page, progressSelector) {
  await page.evaluate((selector) => {
    const watch = { longestTaskMs: 0, longestFrameGapMs: 0, progress: [], on: true };
    window.__e2eWatch = watch;
    const bar = document.querySelector(selector);
    const observer = new MutationObserver(() => watch.progress.push(Number(bar.getAttribute('value'))));
    observer.observe(bar, { attributes: true, attributeFilter: ['value'] });
    const tasks = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) watch.longestTaskMs = Math.max(watch.longestTaskMs, entry.duration);
    });
    tasks.observe({ type: 'longtask' });
    let last = performance.now();
    const frame = (now) => {
      watch.longestFrameGapMs = Math.max(watch.longestFrameGapMs, now - last);
      last = now;
      if (watch.on) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    watch.stop = () => {
      watch.on = false;
      observer.disconnect();
      tasks.disconnect();
    };
  }, progressSelector);
  return () =>
    page.evaluate(() => {
      const watch = window.__e2eWatch;
      watch.stop();
      return { longestTaskMs: Math.round(watch.longestTaskMs), longestFrameGapMs: Math.round(watch.longestFrameGapMs), progress: watch.progress };
    });
}
