// The demo, driven in Debian's Chromium as a person would use it (issue #5):
// generate data, back up with live progress, download the archive, reload, upload it, restore,
// see the data; an encrypted download uploaded by drag and drop with a wrong, then the right
// passphrase; verify, inspect, restore into a new name, history, schedules, retention, storage.
// Fails on any console error. Screenshots of every stage at 1280 and 390 px go to e2e/out/.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { assert, start } from './harness.mjs';
import { answerDialog, catalogButton, openDatabase, panel, runSql, settle, succeed } from './ui.mjs';

const DB = 'e2e-demo';
const ROWS = 50_000; // ~16 MB: long enough for the progress bar to move
const PASSPHRASE = 'correct horse battery staple';

const h = await start();
const { page } = h;
const t0 = Date.now();
const log = (message) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);
let failed = false;

/** Downloads the backup whose row mentions `note` in the chosen format; returns the saved path. */
async function download(note, format, passphrase = '') {
  const catalog = panel(page, 'catalog');
  await catalog.getByLabel('Download as').selectOption(format);
  if (format === 'archive') await catalog.getByLabel('Encrypt with passphrase').fill(passphrase);
  const waiting = page.waitForEvent('download');
  await succeed(page, 'catalog', async () => (await catalogButton(page, note, 'Download')).click());
  const file = await waiting;
  const path = join(h.downloads, file.suggestedFilename());
  await file.saveAs(path);
  return path;
}

/** Counts the rows of `item` through the SQL console. */
async function countItems() {
  const result = await runSql(page, 'SELECT count(*) AS n FROM item');
  assert(result.tone === 'ok', `count query failed: ${result.text}`);
  return Number(result.rows[0]?.[0]);
}

try {
  await page.goto(h.url);
  await page.locator('#panel-database h2').waitFor();
  await h.shot('empty');

  // -- database picker: create
  await openDatabase(page, DB);
  await page.locator('#panel-database .db-list li', { hasText: DB }).waitFor();
  log(`opened ${DB}`);

  // -- sample data with progress
  const generator = panel(page, 'generator');
  await generator.getByLabel('Amount').fill(String(ROWS));
  const generated = await succeed(page, 'generator', () => generator.getByRole('button', { name: 'Generate' }).click());
  assert(generated.text.includes(`${ROWS.toLocaleString('en-US')} rows`), `generator said: ${generated.text}`);
  assert((await generator.locator('progress').getAttribute('value')) === '100', 'generator progress ends at 100');
  log(generated.text);
  await h.shot('generated');

  // -- SQL console: rows, and an error with its code
  assert((await countItems()) === ROWS, 'console counts the generated rows');
  const bad = await runSql(page, 'SELECT * FROM no_such_table');
  assert(bad.tone === 'error' && bad.code === 'SQLITE', `a bad query shows SQLITE, got ${bad.code}: ${bad.text}`);
  await h.shot('console-error');
  const latest = await runSql(page, 'SELECT id, label, amount FROM item ORDER BY id DESC LIMIT 5');
  assert(latest.rows.length === 5 && latest.rows[0][0] === String(ROWS), 'console shows the latest rows');
  await h.shot('console-rows');

  // -- back up with live progress, typing in the console meanwhile
  const backup = panel(page, 'backup');
  await backup.getByLabel('Note').fill('first backup');
  await page.evaluate(() => {
    const bar = document.querySelector('#panel-backup progress');
    window.__seen = [];
    new MutationObserver(() => window.__seen.push(Number(bar.getAttribute('value')))).observe(bar, { attributes: true, attributeFilter: ['value'] });
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
    }).observe({ type: 'longtask' });
  });
  const backedUp = await succeed(page, 'backup', async () => {
    await backup.getByRole('button', { name: 'Back up now' }).click();
    await panel(page, 'backup').locator('.progress:not([hidden])').waitFor();
    await h.shot('backup-running');
    const editor = panel(page, 'console').getByLabel('SQL', { exact: true });
    await editor.fill('');
    await editor.pressSequentially('SELECT 42 AS typed_during_backup', { delay: 5 });
  });
  const seen = await page.evaluate(() => window.__seen);
  const longest = await page.evaluate(() => window.__longest);
  log(`${backedUp.text} progress values seen: ${seen.length}, longest main-thread task ${Math.round(longest)} ms`);
  assert(seen.some((v) => v > 0 && v < 100), `the progress bar moved between 0 and 100 (saw ${seen.join(',')})`);
  assert(seen.at(-1) === 100, 'the progress bar ends at 100');
  assert((await panel(page, 'console').getByLabel('SQL', { exact: true }).inputValue()) === 'SELECT 42 AS typed_during_backup', 'typing worked during the backup');
  await panel(page, 'catalog').locator('tbody tr', { hasText: 'first backup' }).waitFor();
  await h.shot('backed-up');

  // -- download the archive, then lose the data
  const archive = await download('first backup', 'archive');
  log(`downloaded ${basename(archive)} (${readFileSync(archive).byteLength} bytes)`);
  await runSql(page, 'DELETE FROM item');
  assert((await countItems()) === 0, 'rows deleted');
  const saved = await succeed(page, 'database', () => panel(page, 'database').getByRole('button', { name: 'Save now' }).click());
  log(saved.text);

  // -- reload: the page reopens the database; upload the file by the picker, restore, see the data
  await page.reload();
  await page.locator('[data-testid=open-db]', { hasText: DB }).waitFor();
  assert((await countItems()) === 0, 'after reload the deleted rows are still gone');
  const upload = panel(page, 'upload');
  await upload.locator('input[type=file]').setInputFiles(archive);
  await upload.getByLabel('Note').fill('uploaded archive');
  const uploaded = await succeed(page, 'upload', () => upload.getByRole('button', { name: 'Upload' }).click());
  log(uploaded.text);
  await h.shot('uploaded');
  const restored = await succeed(page, 'upload', async () => {
    await upload.getByRole('button', { name: 'Restore it now' }).click();
    await answerDialog(page, 'Restore');
  });
  log(restored.text);
  assert((await countItems()) === ROWS, 'the restored database has every row again');
  await h.shot('restored');

  // -- encrypted: download with a passphrase, drop it with a wrong then the right passphrase
  const sealed = await download('first backup', 'archive', PASSPHRASE);
  await panel(page, 'catalog').getByLabel('Encrypt with passphrase').fill('');
  const bytes = readFileSync(sealed).toString('base64');
  const dataTransfer = await page.evaluateHandle(({ b64, name }) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
    return transfer;
  }, { b64: bytes, name: basename(sealed) });
  const zone = upload.locator('.dropzone');
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await upload.locator('.drop-file', { hasText: basename(sealed) }).waitFor();
  await upload.getByLabel('Passphrase').fill('not the passphrase');
  const wrong = await settle(page, 'upload', () => upload.getByRole('button', { name: 'Upload' }).click());
  assert(wrong.tone === 'error' && wrong.code === 'WRONG_PASSPHRASE', `a wrong passphrase shows WRONG_PASSPHRASE, got ${wrong.code}: ${wrong.text}`);
  await h.shot('wrong-passphrase');
  await upload.getByLabel('Passphrase').fill(PASSPHRASE);
  await upload.getByLabel('Note').fill('encrypted upload');
  await succeed(page, 'upload', () => upload.getByRole('button', { name: 'Upload' }).click());
  await panel(page, 'catalog').locator('tbody tr', { hasText: 'encrypted upload' }).waitFor();
  log('encrypted archive: wrong passphrase refused, right one accepted');

  // -- the other download formats
  for (const format of ['sqlite', 'sqlite.gz', 'sql']) {
    const path = await download('first backup', format);
    log(`downloaded ${basename(path)} (${readFileSync(path).byteLength} bytes)`);
  }

  // -- verify and inspect
  const verified = await succeed(page, 'catalog', async () => (await catalogButton(page, 'first backup', 'Verify')).click());
  log(verified.text);
  await (await catalogButton(page, 'first backup', 'Inspect')).click();
  await panel(page, 'catalog').locator('.inspect td', { hasText: ROWS.toLocaleString('en-US') }).waitFor();
  await h.shot('verified-inspected');

  // -- restore into a new name, open it, see the data
  const into = await succeed(page, 'catalog', async () => {
    await (await catalogButton(page, 'first backup', 'Restore as…')).click();
    await answerDialog(page, 'Restore', `${DB}-copy`);
  });
  log(into.text);
  await panel(page, 'catalog').getByRole('button', { name: `Open "${DB}-copy"` }).click();
  await page.locator('[data-testid=open-db]', { hasText: `${DB}-copy` }).waitFor();
  assert((await countItems()) === ROWS, 'the copy holds every row');
  await openDatabase(page, DB);

  // -- schedules and retention
  const schedule = panel(page, 'schedule');
  await schedule.getByLabel('Name').fill('hourly');
  await schedule.getByLabel('Interval').fill('1h');
  await succeed(page, 'schedule', () => schedule.getByRole('button', { name: 'Save schedule' }).click());
  await schedule.locator('tbody tr', { hasText: 'every 1h' }).waitFor();
  const retention = panel(page, 'retention');
  await retention.getByLabel('Keep last').fill('2');
  const preview = await succeed(page, 'retention', () => retention.getByRole('button', { name: 'Preview' }).click());
  log(`retention preview: ${preview.text}`);
  const ask = panel(page, 'storage').getByRole('button', { name: 'Request persistent storage' });
  if (await ask.isVisible()) {
    const persistence = await settle(page, 'storage', () => ask.click());
    log(`persistence requested: ${persistence.text}`);
  }
  await h.shot('schedule-retention-storage');

  // -- drop a backup; the history shows every job's outcome
  await succeed(page, 'catalog', async () => {
    await (await catalogButton(page, 'encrypted upload', 'Drop')).click();
    await answerDialog(page, 'Drop backup');
  });
  const states = await panel(page, 'history').locator('tbody .badge').allTextContents();
  assert(states.includes('succeeded'), `history shows succeeded jobs (${states.join(', ')})`);
  await h.shot('history');

  // -- delete a database by name
  await page.getByRole('button', { name: `Delete ${DB}-copy` }).click();
  await answerDialog(page, 'Delete database');
  await page.locator('#panel-database .db-list li', { hasText: `${DB}-copy` }).waitFor({ state: 'detached' });
  await h.shot('final');

  assert(h.errors.length === 0, `no console errors, got:\n${h.errors.join('\n')}`);
  log('e2e passed');
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.stack : error);
  if (h.errors.length > 0) console.error(`console errors:\n${h.errors.join('\n')}`);
  await page.screenshot({ path: join('e2e', 'out', 'failure.png'), fullPage: true }).catch(() => undefined);
} finally {
  await h.stop();
}
process.exit(failed ? 1 : 0);
