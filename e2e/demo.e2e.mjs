// The demo, driven in Debian's Chromium as a person would use it (issue #5). Each stage below is
// one thing a person does; each ends with screenshots at 1280 and 390 px in e2e/out/.
// The run fails on any console error, page error or failed request.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { assert, start } from './harness.mjs';
import { answerDialog, catalogButton, openDatabase, panel, runSql, settle, succeed, watchMainThread } from './ui.mjs';

const DB = 'e2e-demo';
const ROWS = 50_000; // ~18 MB: long enough for the progress bar to move
const PASSPHRASE = 'correct horse battery staple';
const BIG_MB = 100;

const h = await start();
const { page } = h;
const t0 = Date.now();
const log = (message) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);
const generator = panel(page, 'generator');
const backup = panel(page, 'backup');
const catalog = panel(page, 'catalog');
const upload = panel(page, 'upload');
const editor = panel(page, 'console').getByLabel('SQL', { exact: true });

/** Counts the rows of `table` through the SQL console. */
async function count(table = 'item') {
  const result = await runSql(page, `SELECT count(*) AS n FROM ${table}`);
  assert(result.tone === 'ok', `count query failed: ${result.text}`);
  return Number(result.rows[0]?.[0]);
}

/** Downloads the backup whose row mentions `note` in `format`; returns the saved file's path. */
async function download(note, format, passphrase = '') {
  await catalog.getByLabel('Download as').selectOption(format);
  if (format === 'archive') await catalog.getByLabel('Encrypt with passphrase').fill(passphrase);
  const waiting = page.waitForEvent('download');
  await succeed(page, 'catalog', async () => (await catalogButton(page, note, 'Download')).click());
  const file = await waiting;
  const path = join(h.downloads, file.suggestedFilename());
  await file.saveAs(path);
  return path;
}

async function deleteDatabase(name) {
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await answerDialog(page, 'Delete database');
  await page.locator('#panel-database .db-list li', { hasText: name }).waitFor({ state: 'detached' });
}

const stages = {
  async empty() {
    await page.goto(h.url);
    await page.locator('#panel-database h2').waitFor();
  },

  async generated() {
    await openDatabase(page, DB);
    await page.locator('#panel-database .db-list li', { hasText: DB }).waitFor();
    await generator.getByLabel('Amount').fill(String(ROWS));
    const generated = await succeed(page, 'generator', () => generator.getByRole('button', { name: 'Generate' }).click());
    assert(generated.text.includes(`${ROWS.toLocaleString('en-US')} rows`), `generator said: ${generated.text}`);
    assert((await generator.locator('progress').getAttribute('value')) === '100', 'generator progress ends at 100');
    log(generated.text);
  },

  async 'console-error'() {
    assert((await count()) === ROWS, 'console counts the generated rows');
    const bad = await runSql(page, 'SELECT * FROM no_such_table');
    assert(bad.tone === 'error' && bad.code === 'SQLITE', `a bad query shows SQLITE, got ${bad.code}: ${bad.text}`);
  },

  async 'console-rows'() {
    // By keyboard: Ctrl+Enter in the editor runs it; Tab moves on to Run.
    await editor.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('SELECT id, label, amount FROM item ORDER BY id DESC LIMIT 5');
    await succeed(page, 'console', () => page.keyboard.press('Control+Enter'));
    const rows = await panel(page, 'console').locator('tbody tr').count();
    const first = await panel(page, 'console').locator('tbody tr').first().locator('td').first().textContent();
    assert(rows === 5 && first === String(ROWS), 'Ctrl+Enter ran the query and the table shows the latest rows');
    await page.keyboard.press('Tab'); // focus moves on to the Run button, with a visible ring
    assert(await page.evaluate(() => document.activeElement?.textContent === 'Run'), 'Tab from the editor reaches Run');
  },

  async 'backed-up'() {
    await backup.getByLabel('Note').fill('first backup');
    const stop = await watchMainThread(page, '#panel-backup progress');
    const done = await succeed(page, 'backup', async () => {
      await backup.getByRole('button', { name: 'Back up now' }).click();
      await backup.locator('.progress:not([hidden])').waitFor();
      await h.shot('backup-running');
      await editor.fill('');
      await editor.pressSequentially('SELECT 42 AS typed_during_backup', { delay: 5 });
    });
    const watched = await stop();
    log(`${done.text} Progress values shown: ${watched.progress.length}; longest main-thread task ${watched.longestTaskMs} ms`);
    assert(watched.progress.some((v) => v > 0 && v < 100), `the progress bar moved between 0 and 100 (saw ${watched.progress.join(',')})`);
    assert(watched.progress.at(-1) === 100, 'the progress bar ends at 100');
    assert((await editor.inputValue()) === 'SELECT 42 AS typed_during_backup', 'typing worked during the backup');
    await catalog.locator('tbody tr', { hasText: 'first backup' }).waitFor();
  },

  async uploaded() {
    const archive = await download('first backup', 'archive');
    log(`downloaded ${basename(archive)} (${readFileSync(archive).byteLength} bytes)`);
    await runSql(page, 'DELETE FROM item');
    assert((await count()) === 0, 'rows deleted');
    log((await succeed(page, 'database', () => panel(page, 'database').getByRole('button', { name: 'Save now' }).click())).text);
    // A real reload: the page reopens the database it had open.
    await page.reload();
    await page.locator('[data-testid=open-db]', { hasText: DB }).waitFor();
    assert((await count()) === 0, 'after the reload the deleted rows are still gone');
    await upload.locator('input[type=file]').setInputFiles(archive);
    await upload.getByLabel('Note').fill('uploaded archive');
    log((await succeed(page, 'upload', () => upload.getByRole('button', { name: 'Upload' }).click())).text);
  },

  async restored() {
    const restored = await succeed(page, 'upload', async () => {
      await upload.getByRole('button', { name: 'Restore it now' }).click();
      await page.locator('dialog[open]').waitFor();
      await h.shot('restore-confirm', { fullPage: false });
      await answerDialog(page, 'Restore');
    });
    log(restored.text);
    assert((await count()) === ROWS, 'the restored database has every row again');
  },

  async 'wrong-passphrase'() {
    const sealed = await download('first backup', 'archive', PASSPHRASE);
    await catalog.getByLabel('Encrypt with passphrase').fill('');
    // Drag and drop: the file arrives in a DataTransfer, as from the desktop.
    const dataTransfer = await page.evaluateHandle(
      ({ b64, name }) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
        return transfer;
      },
      { b64: readFileSync(sealed).toString('base64'), name: basename(sealed) },
    );
    const zone = upload.locator('.dropzone');
    await zone.dispatchEvent('dragover', { dataTransfer });
    await zone.dispatchEvent('drop', { dataTransfer });
    await upload.locator('.drop-file', { hasText: basename(sealed) }).waitFor();
    // Inspecting without the passphrase: the header says it is encrypted; the tables stay sealed.
    await upload.getByRole('button', { name: 'Inspect file' }).click();
    await upload.locator('.inspect dd', { hasText: 'yes' }).waitFor();
    await upload.getByLabel('Passphrase').fill('not the passphrase');
    const wrong = await settle(page, 'upload', () => upload.getByRole('button', { name: 'Upload' }).click());
    assert(wrong.tone === 'error' && wrong.code === 'WRONG_PASSPHRASE', `a wrong passphrase shows WRONG_PASSPHRASE, got ${wrong.code}: ${wrong.text}`);
  },

  async 'right-passphrase'() {
    await upload.getByLabel('Passphrase').fill(PASSPHRASE);
    await upload.getByLabel('Note').fill('encrypted upload');
    await succeed(page, 'upload', () => upload.getByRole('button', { name: 'Upload' }).click());
    await catalog.locator('tbody tr', { hasText: 'encrypted upload' }).waitFor();
    log('encrypted archive: the wrong passphrase was refused, the right one accepted');
    for (const format of ['sqlite', 'sqlite.gz', 'sql']) {
      const path = await download('first backup', format);
      log(`downloaded ${basename(path)} (${readFileSync(path).byteLength} bytes)`);
    }
  },

  async 'verified-inspected'() {
    log((await succeed(page, 'catalog', async () => (await catalogButton(page, 'first backup', 'Verify')).click())).text);
    await catalog.locator('tbody tr', { hasText: 'first backup' }).locator('.badge.good').waitFor();
    await (await catalogButton(page, 'first backup', 'Inspect')).click();
    await catalog.locator('.inspect td', { hasText: ROWS.toLocaleString('en-US') }).waitFor();
  },

  async 'partial-backup'() {
    await runSql(page, "CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO tag (name) VALUES ('red'), ('green'), ('blue')");
    await backup.getByRole('checkbox', { name: 'item' }).check();
    await backup.getByLabel('Rows of item to keep').fill('id <= 100');
    await backup.getByLabel('Note').fill('first 100 items');
    await backup.getByRole('checkbox', { name: /^Verify/ }).check();
    log((await succeed(page, 'backup', () => backup.getByRole('button', { name: 'Back up now' }).click())).text);
    const row = catalog.locator('tbody tr', { hasText: 'first 100 items' });
    await row.locator('.badge', { hasText: 'partial' }).waitFor();
    await row.locator('.badge.good').waitFor(); // verified before it was listed
    await backup.getByRole('checkbox', { name: 'item' }).uncheck();
    await backup.getByRole('checkbox', { name: /^Verify/ }).uncheck();
    // Put one table back from a backup: the tag table (made after it) is left alone.
    await runSql(page, 'DELETE FROM item WHERE id > 10');
    const tableRestore = await succeed(page, 'catalog', async () => {
      await (await catalogButton(page, 'first backup', 'Restore tables…')).click();
      const dialog = page.locator('dialog[open]');
      await dialog.getByRole('checkbox', { name: 'item' }).check();
      await dialog.getByRole('button', { name: 'Restore tables' }).click();
    });
    log(tableRestore.text);
    assert((await count()) === ROWS && (await count('tag')) === 3, 'the item table is back and the tag table untouched');
  },

  async 'restored-into'() {
    const into = await succeed(page, 'catalog', async () => {
      await (await catalogButton(page, 'first backup', 'Restore as…')).click();
      await answerDialog(page, 'Restore', `${DB}-copy`);
    });
    log(into.text);
    await catalog.getByRole('button', { name: `Open "${DB}-copy"` }).click();
    await page.locator('[data-testid=open-db]', { hasText: `${DB}-copy` }).waitFor();
    assert((await count()) === ROWS, 'the copy holds every row');
  },

  async 'schedule-retention-storage'() {
    await openDatabase(page, DB);
    const schedule = panel(page, 'schedule');
    await schedule.getByLabel('Name').fill('hourly');
    await schedule.getByLabel('Interval').fill('1h');
    await succeed(page, 'schedule', () => schedule.getByRole('button', { name: 'Save schedule' }).click());
    await schedule.locator('tbody tr', { hasText: 'every 1h' }).waitFor();
    const retention = panel(page, 'retention');
    // Rules apply per group (full, partial per table set, uploads, automatic): keep 1 of each.
    await retention.getByLabel('Keep last').fill('1');
    log(`retention: ${(await succeed(page, 'retention', () => retention.getByRole('button', { name: 'Preview' }).click())).text}`);
    await retention.locator('tbody .badge', { hasText: 'removed' }).first().waitFor();
    const ask = panel(page, 'storage').getByRole('button', { name: 'Request persistent storage' });
    if (await ask.isVisible()) log(`persistence: ${(await settle(page, 'storage', () => ask.click())).text}`);
  },

  async history() {
    await succeed(page, 'catalog', async () => {
      await (await catalogButton(page, 'encrypted upload', 'Drop')).click();
      await answerDialog(page, 'Drop backup');
    });
    await catalog.locator('tbody tr', { hasText: 'encrypted upload' }).waitFor({ state: 'detached' });
    const outcomes = await panel(page, 'history').locator('tbody .badge').allTextContents();
    assert(outcomes.includes('succeeded') && outcomes.includes('failed'), `history shows succeeded and failed jobs (${outcomes.join(', ')})`);
    await deleteDatabase(`${DB}-copy`);
  },

  async 'retention-applied'() {
    const before = await catalog.locator('tbody tr').count();
    const retention = panel(page, 'retention');
    await retention.getByRole('button', { name: 'Apply now' }).click(); // previews, then asks
    await page.locator('dialog[open]').waitFor();
    const applied = await succeed(page, 'retention', () => answerDialog(page, 'Remove'));
    const removed = Number(/Removed (\d+)/.exec(applied.text)?.[1]);
    log(`retention: ${applied.text}`);
    await page.waitForFunction(([n]) => document.querySelectorAll('#panel-catalog tbody tr').length === n, [before - removed]);
    assert(removed > 0, 'the policy removed backups');
  },

  async 'big-responsive'() {
    await openDatabase(page, `${DB}-big`);
    await generator.getByLabel('Amount').fill(String(BIG_MB));
    await generator.getByLabel('Unit').selectOption('mb');
    log((await succeed(page, 'generator', () => generator.getByRole('button', { name: 'Generate' }).click())).text);
    await backup.getByLabel('Note').fill(`${BIG_MB} MB`);
    const stop = await watchMainThread(page, '#panel-backup progress');
    const began = Date.now();
    const done = await succeed(page, 'backup', async () => {
      await backup.getByRole('button', { name: 'Back up now' }).click();
      await editor.fill('');
      await editor.pressSequentially(`SELECT count(*) FROM item -- typed during the ${BIG_MB} MB backup`, { delay: 10 });
      await page.mouse.move(640, 400);
      for (let i = 0; i < 8; i++) await page.mouse.wheel(0, 250);
    });
    const wallMs = Date.now() - began;
    const scrolled = await page.evaluate(() => window.scrollY);
    const watched = await stop();
    log(`${done.text} Wall ${wallMs} ms; longest main-thread task ${watched.longestTaskMs} ms; longest frame gap ${watched.longestFrameGapMs} ms`);
    assert((await editor.inputValue()).endsWith(`${BIG_MB} MB backup`), 'typing kept working during the big backup');
    assert(scrolled > 0, 'scrolling kept working during the big backup');
  },

  async 'big-cancelled'() {
    await page.evaluate(() => window.scrollTo(0, 0));
    // The database is saved, so a page-copy backup is its head and done in milliseconds: a compacted
    // copy still reads and stores every page, which leaves time to cancel it.
    await backup.getByLabel(/VACUUM INTO/).check();
    const cancelled = await settle(page, 'backup', async () => {
      await backup.getByRole('button', { name: 'Back up now' }).click();
      await backup.getByRole('button', { name: 'Cancel backup' }).click();
    });
    assert(cancelled.tone === 'info' && cancelled.text.includes('cancelled'), `cancel reports the backup cancelled; page said: ${cancelled.text}`);
    await panel(page, 'history').locator('tbody .badge', { hasText: 'cancelled' }).first().waitFor();
    await backup.getByLabel(/Page copy/).check();
  },

  async 'storage-lost'() {
    // The browser evicts a vault's IndexedDB data (as under storage pressure) while the page is closed.
    const lost = `${DB}-lost`;
    await openDatabase(page, lost);
    await runSql(page, 'CREATE TABLE kept (v)');
    await succeed(page, 'database', () => panel(page, 'database').getByRole('button', { name: 'Save now' }).click());
    await panel(page, 'database').getByRole('button', { name: 'Close' }).click();
    await page.locator('[data-testid=open-db]').waitFor({ state: 'detached' });
    await page.evaluate((name) => new Promise((resolve, reject) => Object.assign(indexedDB.deleteDatabase(name), { onsuccess: resolve, onerror: reject })), `pagevault:${lost}`);
    await page.reload(); // reopens the database used last, and finds its data gone
    await page.locator('#panel-database .status .code', { hasText: 'STORAGE_LOST' }).waitFor();
    await h.shot('storage-lost-reported');
    await panel(page, 'database').getByRole('button', { name: `Start "${lost}" empty` }).click();
    await page.locator('[data-testid=open-db]', { hasText: lost }).waitFor();
    await deleteDatabase(lost);
  },

  async final() {
    await deleteDatabase(`${DB}-big`);
    await openDatabase(page, DB);
  },

  // A second tab of the demo opens the same database (the one used last) and sees the same rows and
  // backups; what one tab does shows in the other without a click there (vault.onChange).
  async 'two-tabs'() {
    const other = await page.context().newPage();
    other.setDefaultTimeout(60_000);
    try {
      await other.goto(h.url);
      await other
        .locator('[data-testid=open-db]', { hasText: DB })
        .waitFor()
        .catch(async (error) => {
          const said = await other.evaluate(() => [...document.querySelectorAll('.status[data-tone]')].map((s) => `${s.closest('section')?.id}: [${s.dataset.tone}] ${s.textContent}`));
          await other.screenshot({ path: join('e2e', 'out', 'failure-other-tab.png'), fullPage: true });
          throw new Error(`the second tab did not open ${DB}; its panels said:\n${said.join('\n')}`, { cause: error });
        });
      const rows = async (tab) => Number((await runSql(tab, 'SELECT count(*) AS n FROM item')).rows[0]?.[0]);
      const before = await rows(other);
      assert(before === (await rows(page)), 'both tabs read the same rows');
      await runSql(page, 'DELETE FROM item WHERE id IN (SELECT id FROM item LIMIT 5)');
      assert((await rows(other)) === before - 5, 'the other tab reads the write');
      const listed = () => other.locator('#panel-catalog tbody tr').count();
      const backupsBefore = await listed();
      await backup.getByLabel('Note').fill('from the first tab');
      await succeed(page, 'backup', () => backup.getByRole('button', { name: 'Back up now' }).click());
      await other.waitForFunction((n) => document.querySelectorAll('#panel-catalog tbody tr').length === n, backupsBefore + 1);
      log(`two tabs: ${before - 5} rows and ${backupsBefore + 1} backups in both`);
    } finally {
      await other.close();
    }
  },
};

let failed = false;
try {
  for (const [name, stage] of Object.entries(stages)) {
    await stage();
    await h.shot(name);
  }
  assert(h.errors.length === 0, `no console errors, got:\n${h.errors.join('\n')}`);
  log('e2e passed');
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.stack : error);
  if (h.errors.length > 0) console.error(`console errors:\n${h.errors.join('\n')}`);
  const said = await page
    .evaluate(() => [...document.querySelectorAll('.status[data-tone]')].map((s) => `${s.closest('section')?.id}: [${s.dataset.tone}] ${s.textContent}`))
    .catch(() => []);
  if (said.length > 0) console.error(`what the panels said:\n${said.join('\n')}`);
  await page.screenshot({ path: join('e2e', 'out', 'failure.png'), fullPage: true }).catch(() => undefined);
} finally {
  await h.stop();
}
process.exit(failed ? 1 : 0);
