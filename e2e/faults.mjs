// Faults in real Chromium, injected through CDP (README "Reliability"): a quota too small for the next write,
// the origin's IndexedDB cleared (eviction) with the vault closed and open, two tabs on one vault,
// and a tab closed in the middle of a backup. Serves e2e/pages/faults.html with Vite's dev server.
// Plain .mjs: Node 20 runs it without a loader. Exits non-zero when a check fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer, runnerImport } from 'vite';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

class CheckError extends Error {}
function assert(condition, message) {
  if (!condition) throw new CheckError(message);
}

/**
 * Starts Vite's dev server on the repository (the page imports src/ directly) and Chromium.
 * No HMR and no file watching: an edit elsewhere in the repository must not reload a page mid-check.
 */
export async function startFaultPage() {
  const { module: config } = await runnerImport(join(ROOT, 'vite.config.ts'));
  const server = await (
    await createServer({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), server: { host: '127.0.0.1', port: 0, hmr: false, watch: null }, logLevel: 'warn' })
  ).listen();
  const base = server.resolvedUrls.local[0].replace(/\/$/, '');
  // A persistent (on-disk) profile: in an incognito context Chromium ignores quota overrides.
  const profile = mkdtempSync(join(tmpdir(), 'pagevault-faults-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: config.CHROMIUM_ARGS, timeout: 60_000 });
  const url = `${base}/e2e/pages/faults.html`;
  const origin = new URL(base).origin;
  /** A new tab on the fault page; `beforeLoad(page)` runs before the page loads (CDP set-up). */
  const newPage = async (beforeLoad) => {
    const page = await context.newPage();
    page.setDefaultTimeout(120_000);
    await beforeLoad?.(page);
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]');
    return page;
  };
  const stop = async () => {
    await context.close().catch(() => undefined);
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, origin, newPage, stop };
}

/** Runs `fn(...args)` in the page against `window.pv`; resolves with { ok, value } or { ok: false, code, message, details }. */
const run = (page, fn, ...args) => page.evaluate(([source, params]) => window.pv.attempt(() => new Function('pv', `return (${source})(pv, ...arguments[1])`)(window.pv, params)), [fn.toString(), args]);

async function value(page, fn, ...args) {
  const result = await run(page, fn, ...args);
  if (!result.ok) throw new CheckError(`unexpected ${result.code}: ${result.message}`);
  return result.value;
}

async function code(page, fn, ...args) {
  const result = await run(page, fn, ...args);
  return result.ok ? { code: 'OK' } : result;
}

const checks = [];
const check = (name, body) => checks.push({ name, body });

check('quota: a write past the quota is QUOTA_EXCEEDED with the figures; earlier backups intact; writes resume when space returns', async ({ newPage, context, origin }) => {
  // Chromium applies the override only to an origin whose storage it has not opened yet: set it
  // before the page loads (so this check runs first), with room for the first 200 KB and a backup.
  let cdp;
  const page = await newPage(async (blank) => {
    cdp = await context.newCDPSession(blank);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 * 1024 });
  });
  await value(page, (pv) => pv.open('quota'));
  await value(page, (pv) => pv.fill('quota', 200, 1000));
  await value(page, (pv) => pv.vault('quota').flush());
  const first = await value(page, async (pv) => (await pv.vault('quota').backup.create()).backupId);
  await value(page, (pv, id) => pv.vault('quota').backup.wait(id), first);
  await value(page, (pv) => pv.fill('quota', 4000, 1000));
  const saved = await code(page, (pv) => pv.vault('quota').flush());
  assert(saved.code === 'QUOTA_EXCEEDED', `flush past the quota: ${saved.code} ${saved.message ?? ''}`);
  assert(typeof saved.details.usageBytes === 'number' && typeof saved.details.quotaBytes === 'number', `figures: ${JSON.stringify(saved.details)}`);
  const backedUp = await code(page, async (pv) => pv.vault('quota').backup.wait((await pv.vault('quota').backup.create({ method: 'vacuum' })).backupId));
  assert(backedUp.code === 'QUOTA_EXCEEDED', `backup past the quota: ${backedUp.code}`);
  assert(typeof backedUp.details.quotaBytes === 'number', `backup figures: ${JSON.stringify(backedUp.details)}`);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  const listed = await value(page, async (pv) => (await pv.vault('quota').backup.list()).map((b) => b.backupId));
  assert(JSON.stringify(listed) === JSON.stringify([first]), `backups after the refusals: ${listed}`);
  const report = await value(page, (pv, id) => pv.vault('quota').backup.verify(id), first);
  assert(report.ok, `the earlier backup verifies: ${JSON.stringify(report)}`);
  await value(page, (pv) => pv.vault('quota').flush());
  await value(page, (pv) => pv.close('quota'));
  await value(page, (pv) => pv.open('quota'));
  assert((await value(page, (pv) => pv.count('quota'))) === 4200, 'every row saved once space returned');
  await value(page, (pv) => pv.close('quota'));
  await page.close();
});

check('eviction: after Storage.clearDataForOrigin(indexeddb) the vault says STORAGE_LOST, closed or open', async ({ newPage, context, origin }) => {
  const page = await newPage();
  const cdp = await context.newCDPSession(page);
  await value(page, (pv) => pv.open('evicted'));
  await value(page, (pv) => pv.fill('evicted', 50, 100));
  await value(page, (pv) => pv.close('evicted'));
  await value(page, (pv) => pv.open('evicted-open'));
  await value(page, (pv) => pv.fill('evicted-open', 50, 100));
  await value(page, (pv) => pv.vault('evicted-open').flush());
  await cdp.send('Storage.clearDataForOrigin', { origin, storageTypes: 'indexeddb' });
  const write = await code(page, (pv) => pv.vault('evicted-open').exec('INSERT INTO item (body) VALUES (x00)'));
  assert(write.code === 'STORAGE', `a write after the store vanished under an open vault: ${write.code}`);
  await code(page, (pv) => pv.close('evicted-open'));
  for (const name of ['evicted', 'evicted-open']) {
    const reopened = await code(page, (pv, n) => pv.open(n), name);
    assert(reopened.code === 'STORAGE_LOST', `${name} reopened: ${reopened.code}`);
  }
  await value(page, (pv) => pv.open('evicted', { acceptLoss: true }));
  const tables = await value(page, (pv) => pv.vault('evicted').query("SELECT count(*) AS n FROM sqlite_schema"));
  assert(tables[0].n === 0, 'acceptLoss starts empty');
  await value(page, (pv) => pv.close('evicted'));
  await page.close();
});

check('two tabs, exclusive: one owner, the other LOCKED or waiting; closing the owner frees it; no lost update', async ({ newPage }) => {
  const a = await newPage();
  const b = await newPage();
  await value(a, (pv) => pv.open('shared', { exclusive: true }));
  await value(a, (pv) => pv.fill('shared', 100, 100));
  await value(a, (pv) => pv.vault('shared').flush());
  const second = await code(b, (pv) => pv.open('shared', { exclusive: true }));
  assert(second.code === 'LOCKED', `second tab: ${second.code}`);
  const waiting = value(b, (pv) => pv.open('shared', { exclusive: true, lockTimeoutMs: 60_000 }));
  await value(a, (pv) => pv.fill('shared', 50, 100));
  await value(a, (pv) => pv.vault('shared').flush());
  await a.close();
  await waiting;
  assert((await value(b, (pv) => pv.count('shared'))) === 150, 'the waiting tab sees every row the owner saved');
  await value(b, (pv) => pv.fill('shared', 10, 100));
  await value(b, (pv) => pv.close('shared'));
  const c = await newPage();
  await value(c, (pv) => pv.open('shared'));
  assert((await value(c, (pv) => pv.count('shared'))) === 160, 'and the next owner sees both');
  await value(c, (pv) => pv.close('shared'));
  await b.close();
  await c.close();
});

check('a tab closed in the middle of a backup: the job shows interrupted, no half backup is listed, a retry succeeds', async ({ newPage }) => {
  const a = await newPage();
  await value(a, (pv) => pv.open('closed-mid-backup'));
  await value(a, (pv) => pv.fill('closed-mid-backup', 30_000, 1000));
  await value(a, (pv) => pv.vault('closed-mid-backup').flush());
  const backupId = await value(a, async (pv) => (await pv.vault('closed-mid-backup').backup.create({ method: 'vacuum' })).backupId);
  await value(a, async (pv, id) => {
    for (;;) {
      const status = await pv.vault('closed-mid-backup').backup.status(id);
      if (status.state !== 'queued' && status.state !== 'running') throw new Error(`the backup ended (${status.state}) before the tab closed`);
      if (status.progressPercent >= 5) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }, backupId);
  await a.close();
  const b = await newPage();
  await value(b, (pv) => pv.open('closed-mid-backup', { lockTimeoutMs: 60_000 }));
  const job = await value(b, async (pv, id) => (await pv.vault('closed-mid-backup').backup.history()).find((j) => j.backupId === id), backupId);
  const listed = await value(b, (pv) => pv.vault('closed-mid-backup').backup.list());
  // Closing a tab takes a moment: the backup may have committed first. Either way the record tells the truth.
  if (job?.state === 'succeeded') {
    assert(listed.length === 1 && listed[0].backupId === backupId, 'a succeeded job has its backup listed');
    assert((await value(b, (pv, id) => pv.vault('closed-mid-backup').backup.verify(id), backupId)).ok, 'and it verifies');
  } else {
    assert(job?.state === 'interrupted', `the cut-off job: ${JSON.stringify(job)}`);
    assert(listed.length === 0, `half backups listed: ${listed.length}`);
  }
  const info = await value(b, async (pv) => pv.vault('closed-mid-backup').backup.wait((await pv.vault('closed-mid-backup').backup.create({ method: 'vacuum' })).backupId));
  assert(info.tables.some((t) => t.name === 'item' && t.rows === 30_000), `the retry: ${JSON.stringify(info.tables)}`);
  await value(b, (pv) => pv.close('closed-mid-backup'));
  await b.close();
});

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = await startFaultPage();
  let failed = 0;
  try {
    for (const { name, body } of checks) {
      const started = Date.now();
      try {
        await body(env);
        console.log(`PASS ${name} (${Date.now() - started} ms)`);
      } catch (error) {
        failed++;
        console.log(`FAIL ${name}: ${error instanceof CheckError ? error.message : (error?.stack ?? error)}`);
      }
    }
  } finally {
    await env.stop();
  }
  console.log(`faults (chromium): ${checks.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

export { run, value, code };
