// Several tabs on one vault in real Chromium, as separate pages of one origin (README "Several tabs"):
// three tabs interleaving reads and writes against one model of acknowledged writes, the owner tab
// closed, reloaded and crashed (CDP Page.crash) in the middle of writes and of a backup, a tab joining
// while a backup runs, `exclusive` still LOCKED, change notifications in the other tabs, and the
// hand-over gap. Serves e2e/pages/faults.html (window.pv) with Vite's dev server, like e2e/faults.mjs.
// Plain .mjs: Node 20 runs it without a loader. Exits non-zero when a check fails.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { code, run, startFaultPage, value } from './faults.mjs';

class CheckError extends Error {}
function assert(condition, message) {
  if (!condition) throw new CheckError(message);
}

/** Runs `fn` in the page, asking again while it rejects with INTERRUPTED (the retryable code). */
async function retrying(page, fn, ...args) {
  for (;;) {
    const result = await run(page, fn, ...args);
    if (result.ok) return result.value;
    if (result.code !== 'INTERRUPTED') throw new CheckError(`unexpected ${result.code}: ${result.message}`);
  }
}

/** Ends the owner tab: `vault` (vault.close()), `close` (page.close), `reload`, or `crash` (the renderer killed through CDP). */
async function endTab(context, page, how, name) {
  if (how === 'vault') await value(page, (pv, n) => pv.close(n), name);
  else if (how === 'close') await page.close();
  else if (how === 'reload') await page.reload();
  else {
    const cdp = await context.newCDPSession(page);
    cdp.send('Page.crash').catch(() => undefined); // never answers: the page is gone
    await new Promise((r) => page.once('crash', r));
  }
}

const checks = [];
const check = (name, body) => checks.push({ name, body });
const gaps = {};
const stats = {};

check('three tabs interleave reads and writes: every read matches the model of acknowledged writes; onChange in the others', async ({ newPage }) => {
  const tabs = [await newPage(), await newPage(), await newPage()];
  for (const tab of tabs) await value(tab, (pv) => pv.open('model'));
  await value(tabs[0], (pv) => pv.vault('model').exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)'));
  for (const tab of tabs.slice(1)) await value(tab, (pv) => pv.watch('model'));
  const model = new Map();
  let seed = 7;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    // Each tab writes its own keys at the same time; then every tab reads keys the model knows.
    await Promise.all(
      tabs.map(async (tab, t) => {
        const k = `t${t}-${random(5)}`;
        const v = round * 10 + t;
        await value(tab, (pv, key, val) => pv.vault('model').exec('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)', [key, val]), k, v);
        model.set(k, v);
      }),
    );
    const keys = [...model.keys()];
    await Promise.all(
      tabs.map(async (tab) => {
        const k = keys[random(keys.length)];
        const rows = await value(tab, (pv, key) => pv.vault('model').query('SELECT v FROM kv WHERE k = ?', [key]), k);
        assert(rows.length === 1 && rows[0].v === model.get(k), `round ${round}: ${k} read ${JSON.stringify(rows)}, model ${model.get(k)}`);
      }),
    );
  }
  const expected = JSON.stringify([...model.entries()].sort());
  for (const tab of tabs) {
    const rows = await value(tab, (pv) => pv.vault('model').query('SELECT k, v FROM kv ORDER BY k'));
    assert(JSON.stringify(rows.map((r) => [r.k, r.v]).sort()) === expected, 'every tab reads the whole model');
  }
  for (const tab of tabs.slice(1)) {
    const seen = await value(tab, (pv) => pv.changes('model'));
    assert(seen.some((e) => e.kind === 'data' && e.tables.includes('kv')), `onChange in another tab: ${JSON.stringify(seen.slice(0, 3))}`);
  }
  for (const tab of tabs) await tab.close();
});

check('exclusive across pages: a shared opener is LOCKED by an exclusive owner, an exclusive opener by a shared one', async ({ newPage }) => {
  const a = await newPage();
  const b = await newPage();
  await value(a, (pv) => pv.open('exclusive', { exclusive: true }));
  const shared = await code(b, (pv) => pv.open('exclusive', { lockTimeoutMs: 500 }));
  assert(shared.code === 'LOCKED', `shared opener: ${shared.code}`);
  await value(a, (pv) => pv.close('exclusive'));
  await value(a, (pv) => pv.open('exclusive'));
  const exclusive = await code(b, (pv) => pv.open('exclusive', { exclusive: true }));
  assert(exclusive.code === 'LOCKED', `exclusive opener: ${exclusive.code}`);
  await a.close();
  await b.close();
});

const ENDED = { vault: 'closing its vault', close: 'closed', reload: 'reloaded', crash: 'crashed' };
for (const how of ['vault', 'close', 'reload', 'crash']) {
  check(`owner ${ENDED[how]} mid-write: calls in flight answered or INTERRUPTED, nothing acknowledged lost (durability 'commit'), the next call answered`, async ({ newPage, context }) => {
    const name = `end-${how}`;
    const owner = await newPage();
    const b = await newPage();
    const c = await newPage();
    await value(owner, (pv, n) => pv.open(n), name);
    await value(owner, (pv, n) => pv.vault(n).exec('CREATE TABLE w (id INTEGER PRIMARY KEY, tab TEXT, i INTEGER)'), name);
    for (const tab of [b, c]) await value(tab, (pv, n) => pv.open(n, { durability: 'commit' }), name);
    // Writes from both followers, running while the owner goes.
    const writing = [b, c].map((tab, t) =>
      tab.evaluate(
        async ([n, who]) => {
          const acked = [];
          const codes = [];
          const messages = [];
          for (let i = 0; i < 400; i++) {
            try {
              await window.pv.vault(n).exec('INSERT INTO w (tab, i) VALUES (?, ?)', [who, i]);
              acked.push(i);
            } catch (error) {
              codes.push(error.code);
              messages.push(error.message);
              if (error.code !== 'INTERRUPTED') break;
            }
            if (acked.length + codes.length >= 60 && codes.length > 0) break;
          }
          return { acked, codes, messages };
        },
        [name, `t${t}`],
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const ended = Date.now();
    await endTab(context, owner, how, name);
    const answered = await retrying(b, (pv, n) => pv.vault(n).query('SELECT count(*) AS n FROM w'), name);
    gaps[how] = Date.now() - ended;
    const results = await Promise.all(writing);
    stats[how] = results.map(({ acked, codes, messages }) => `${acked.length} acknowledged, ${codes.length} INTERRUPTED ${process.env.TABS_DEBUG ? messages : ''}`).join('; ');
    for (const [t, { acked, codes }] of results.entries()) {
      assert(acked.length > 0, `tab ${t} wrote nothing`);
      assert(codes.every((x) => x === 'INTERRUPTED'), `tab ${t} codes: ${codes}`);
      const rows = await retrying(c, (pv, n, who) => pv.vault(n).query('SELECT i FROM w WHERE tab = ?', [who]), name, `t${t}`);
      const present = new Set(rows.map((r) => r.i));
      const lost = acked.filter((i) => !present.has(i));
      assert(lost.length === 0, `tab ${t}: ${lost.length} acknowledged writes lost of ${acked.length}`);
      assert(present.size === rows.length, `tab ${t}: a write ran twice`);
    }
    assert(answered[0].n >= 0, 'the next call was answered');
    for (const tab of [b, c, ...(how === 'reload' || how === 'vault' ? [owner] : [])]) await tab.close();
  });
}

check('owner crashed mid-backup, a tab joining while it ran: the job ends interrupted (or succeeded) in every tab, a retry from another tab succeeds', async ({ newPage, context }) => {
  const owner = await newPage();
  await value(owner, (pv) => pv.open('mid-backup'));
  await value(owner, (pv) => pv.fill('mid-backup', 20_000, 1000));
  await value(owner, (pv) => pv.vault('mid-backup').flush());
  const backupId = await value(owner, async (pv) => (await pv.vault('mid-backup').backup.create({ method: 'vacuum' })).backupId);
  const joiner = await newPage();
  await value(joiner, (pv) => pv.open('mid-backup'));
  const seen = await value(joiner, async (pv, id) => (await pv.vault('mid-backup').backup.status(id)).state, backupId);
  assert(seen === 'running' || seen === 'queued' || seen === 'succeeded', `the joiner sees the job: ${seen}`);
  const waiting = code(joiner, (pv, id) => pv.vault('mid-backup').backup.wait(id), backupId);
  await endTab(context, owner, 'crash');
  const waited = await waiting;
  assert(waited.code === 'INTERRUPTED' || waited.code === 'OK', `wait across the crash: ${waited.code}`);
  const job = await retrying(joiner, async (pv, id) => (await pv.vault('mid-backup').backup.history()).find((j) => j.backupId === id), backupId);
  assert(job?.state === 'interrupted' || job?.state === 'succeeded', `the job after the crash: ${JSON.stringify(job)}`);
  const info = await retrying(joiner, async (pv) => pv.vault('mid-backup').backup.wait((await pv.vault('mid-backup').backup.create({ method: 'vacuum' })).backupId));
  assert(info.tables.some((t) => t.name === 'item' && t.rows === 20_000), `the retry: ${JSON.stringify(info.tables)}`);
  await joiner.close();
});

check('jobs started in one tab are listed, awaited and cancelled from another', async ({ newPage }) => {
  const a = await newPage();
  const b = await newPage();
  await value(a, (pv) => pv.open('jobs'));
  await value(b, (pv) => pv.open('jobs'));
  await value(b, (pv) => pv.watch('jobs'));
  await value(a, (pv) => pv.fill('jobs', 2_000, 200));
  const first = await value(a, async (pv) => (await pv.vault('jobs').backup.create()).backupId);
  const info = await value(b, (pv, id) => pv.vault('jobs').backup.wait(id), first);
  assert(info.backupId === first, 'awaited from the other tab');
  const second = await value(a, async (pv) => (await pv.vault('jobs').backup.create({ method: 'vacuum' })).backupId);
  const cancelled = await value(b, (pv, id) => pv.vault('jobs').backup.cancel(id), second);
  assert(['cancelled', 'completed', 'not running'].includes(cancelled.status), `cancel: ${JSON.stringify(cancelled)}`);
  const file = await value(b, async (pv, id) => (await pv.vault('jobs').backup.download(id, { format: 'sqlite' })).blob.size, first);
  assert(file > 0, 'a backup downloaded from the other tab');
  const history = await value(b, (pv) => pv.vault('jobs').backup.history());
  assert(history.some((j) => j.backupId === second), 'the job is in the other tab history');
  await new Promise((r) => setTimeout(r, 200));
  const seen = await value(b, (pv) => pv.changes('jobs'));
  assert(seen.some((e) => e.kind === 'catalog'), 'catalog changes reach the other tab');
  await a.close();
  await b.close();
});

/** The median of `samples` runs of `fn` in `page`, in ms (measured in the page). */
async function median(page, samples, fn, ...args) {
  const times = await page.evaluate(
    async ([source, params, n]) => {
      const body = new Function('pv', `return (${source})(pv, ...arguments[1])`);
      const out = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await body(window.pv, params);
        out.push(performance.now() - t);
      }
      return out.sort((x, y) => x - y);
    },
    [fn.toString(), args, samples],
  );
  return Math.round(times[Math.floor(times.length / 2)] * 100) / 100;
}

const costs = {};
check('costs: a call from a follower, a write with durability commit, the autosave window (README "Several tabs")', async ({ newPage }) => {
  const a = await newPage();
  const b = await newPage();
  await value(a, (pv) => pv.open('costs'));
  await value(a, (pv) => pv.fill('costs', 20_000, 100)); // ~2.5 MB
  await value(b, (pv) => pv.open('costs'));
  costs.queryOwnerMs = await median(a, 50, (pv) => pv.vault('costs').query('SELECT count(*) FROM item'));
  costs.queryFollowerMs = await median(b, 50, (pv) => pv.vault('costs').query('SELECT count(*) FROM item'));
  costs.insertOwnerMs = await median(a, 50, (pv) => pv.vault('costs').exec('INSERT INTO item (body) VALUES (zeroblob(1))'));
  costs.insertFollowerMs = await median(b, 50, (pv) => pv.vault('costs').exec('INSERT INTO item (body) VALUES (zeroblob(1))'));
  const c = await newPage();
  await value(c, (pv) => pv.open('costs', { durability: 'commit' }));
  costs.insertFollowerCommitMs = await median(c, 30, (pv) => pv.vault('costs').exec('INSERT INTO item (body) VALUES (zeroblob(1))'));
  // The autosave window: from a write's acknowledgement (default durability) until it is saved.
  costs.autosaveWindowMs = await median(b, 10, async (pv) => {
    const vault = pv.vault('costs');
    await vault.exec('INSERT INTO item (body) VALUES (zeroblob(1))');
    while ((await vault.info()).dirty) await new Promise((r) => setTimeout(r, 5));
  });
  for (const tab of [a, b, c]) await tab.close();
});

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = await startFaultPage();
  let failed = 0;
  // TABS_ONLY=<part of a check's name> runs only the checks whose name has it.
  const selected = checks.filter((c) => !process.env.TABS_ONLY || c.name.includes(process.env.TABS_ONLY));
  try {
    for (const { name, body } of selected) {
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
  console.log(`costs: ${JSON.stringify(costs)}`);
  console.log(`writes across the hand-over: ${JSON.stringify(stats)}`);
  console.log(`hand-over gap (owner ended -> next call answered in another tab), ms: ${JSON.stringify(gaps)}`);
  console.log(`tabs (chromium): ${selected.length - failed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
