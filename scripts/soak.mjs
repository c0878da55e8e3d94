// Soak test (not in CI): `npm run soak -- --minutes 10`.
// One tab writes continuously into vault "soak" (a row per statement, each carrying a sequence
// number), while the same vault takes backups (pages and vacuum, alternately), verifies each, and
// restores each into another name ("soak-copy-N", opened and checked in a second tab, then
// deleted). Asserts: row counts never go backwards (live, and from one backup to the next), every
// verify passes, every restored copy holds exactly the backup's rows, and the worker's JS heap
// stays flat (CDP Runtime.getHeapUsage on the worker, sampled after a GC once per cycle).
import { parseArgs } from 'node:util';
import { startFaultPage, value } from '../e2e/faults.mjs';

const { values: args } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, rows: { type: 'string', default: '20000' } } });
const minutes = Number(args.minutes);
const seedRows = Number(args.rows);
const deadline = Date.now() + minutes * 60_000;

/**
 * A CDP channel to the next dedicated worker `page` starts (Playwright opens CDP sessions on pages
 * only): auto-attach without flattening, then talk through Target.sendMessageToTarget.
 */
async function attachToWorker(page) {
  const cdp = await env.context.newCDPSession(page);
  const pending = new Map();
  let nextId = 1;
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    const message = JSON.parse(event.message);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const attached = new Promise((resolve) => cdp.on('Target.attachedToTarget', (event) => event.targetInfo.type === 'worker' && resolve(event.sessionId)));
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  return async (method, params = {}) => {
    const sessionId = await attached;
    const id = nextId++;
    const reply = new Promise((resolve) => pending.set(id, resolve));
    await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    const message = await reply;
    if (message.error) throw new Error(`${method}: ${message.error.message}`);
    return message.result;
  };
}

const env = await startFaultPage();
const failures = [];
const fail = (message) => {
  failures.push(message);
  console.log(`FAIL ${message}`);
};

try {
  const writer = await env.newPage();
  const checker = await env.newPage();
  const workerCdp = await attachToWorker(writer);
  await value(writer, (pv) => pv.open('soak', { autosaveMs: 100 }));
  await value(writer, (pv, rows) => pv.fill('soak', rows, 200), seedRows);
  await value(writer, (pv) => pv.vault('soak').exec('CREATE TABLE IF NOT EXISTS seq (n INTEGER PRIMARY KEY)'));

  // The writer: one INSERT after another, each acknowledged before the next, until told to stop.
  await writer.evaluate(() => {
    window.soak = { written: 0, stop: false, error: null };
    const vault = window.pv.vault('soak');
    // Runs on after evaluate() returns; its failure is kept in window.soak.error, read by the checks below.
    void (async () => {
      while (!window.soak.stop) {
        try {
          await vault.exec('INSERT INTO seq (n) VALUES (?)', [window.soak.written + 1]);
          window.soak.written++;
        } catch (error) {
          window.soak.error = `${error.code}: ${error.message}`;
          return;
        }
      }
    })();
  });

  const heap = async () => {
    await workerCdp('HeapProfiler.collectGarbage');
    return (await workerCdp('Runtime.getHeapUsage')).usedSize;
  };
  const stats = { cycles: 0, backups: 0, verifies: 0, restores: 0, heapMB: [], lastBackupRows: 0, lastLiveRows: 0 };
  const started = Date.now();
  while (Date.now() < deadline) {
    const cycle = stats.cycles++;
    const method = cycle % 2 === 0 ? 'pages' : 'vacuum';
    const live = await value(writer, (pv) => pv.vault('soak').query('SELECT count(*) AS n FROM seq').then((r) => r[0].n));
    if (live < stats.lastLiveRows) fail(`cycle ${cycle}: live rows went back from ${stats.lastLiveRows} to ${live}`);
    stats.lastLiveRows = live;
    const info = await value(writer, async (pv, m) => pv.vault('soak').backup.wait((await pv.vault('soak').backup.create({ method: m })).backupId), method);
    stats.backups++;
    const rows = info.tables.find((t) => t.name === 'seq')?.rows ?? 0;
    if (rows < stats.lastBackupRows) fail(`cycle ${cycle}: backup rows went back from ${stats.lastBackupRows} to ${rows}`);
    if (rows < live) fail(`cycle ${cycle}: the backup holds ${rows} rows, fewer than the ${live} counted before it started`);
    stats.lastBackupRows = rows;
    const report = await value(writer, (pv, id) => pv.vault('soak').backup.verify(id), info.backupId);
    stats.verifies++;
    if (!report.ok) fail(`cycle ${cycle}: verify of ${info.backupId} failed: ${report.reason ?? report.integrity}`);
    const copy = `soak-copy-${cycle}`;
    await value(writer, (pv, id, into) => pv.vault('soak').backup.restore({ backupId: id, into }), info.backupId, copy);
    await value(checker, (pv, name) => pv.open(name), copy);
    const copied = await value(checker, (pv, name) => pv.vault(name).query('SELECT count(*) AS n, max(n) AS top FROM seq').then((r) => r[0]), copy);
    if (copied.n !== rows || copied.top !== rows) fail(`cycle ${cycle}: the restored copy holds ${copied.n} rows (top ${copied.top}), the backup ${rows}`);
    await value(checker, (pv, name) => pv.close(name), copy);
    await value(checker, (pv, name) => pv.deleteVault(name), copy);
    stats.restores++;
    // Keep the catalog small: the soak measures steady state, not growth of kept backups.
    await value(writer, (pv, id) => pv.vault('soak').backup.drop(id), info.backupId);
    const autos = await value(writer, async (pv) => (await pv.vault('soak').backup.list()).map((b) => b.backupId));
    for (const id of autos) await value(writer, (pv, b) => pv.vault('soak').backup.drop(b), id);
    stats.heapMB.push(Math.round((await heap()) / 1e5) / 10);
    const writerError = await writer.evaluate(() => window.soak.error);
    if (writerError) fail(`the writer stopped: ${writerError}`);
    if (cycle % 10 === 0) console.log(`cycle ${cycle}: ${live} rows written, backup of ${rows}, heap ${stats.heapMB.at(-1)} MB`);
    if (writerError) break;
  }
  const written = await writer.evaluate(() => {
    window.soak.stop = true;
    return window.soak.written;
  });
  await value(writer, (pv) => pv.close('soak'));
  await value(checker, (pv) => pv.open('soak'));
  const saved = await value(checker, (pv) => pv.vault('soak').query('SELECT count(*) AS n FROM seq').then((r) => r[0].n));
  if (saved < written) fail(`after close: ${saved} rows saved of ${written} acknowledged`);
  await value(checker, (pv) => pv.close('soak'));

  // Flat memory: the last fifth of the samples may not exceed the second fifth by more than 20% (+4 MB).
  const fifth = Math.max(1, Math.floor(stats.heapMB.length / 5));
  const early = Math.max(...stats.heapMB.slice(fifth, 2 * fifth));
  const late = Math.max(...stats.heapMB.slice(-fifth));
  if (stats.heapMB.length >= 10 && late > early * 1.2 + 4) fail(`worker heap grew from ${early} MB to ${late} MB`);
  const summary = {
    minutes: Math.round((Date.now() - started) / 600) / 100,
    cycles: stats.cycles,
    rowsWritten: written,
    rowsSaved: saved,
    backups: stats.backups,
    verifies: stats.verifies,
    restores: stats.restores,
    heapMB: { first: stats.heapMB[0], early, late, max: Math.max(...stats.heapMB) },
    failures: failures.length,
  };
  console.log(`soak: ${JSON.stringify(summary)}`);
} finally {
  await env.stop();
}
process.exit(failures.length === 0 ? 0 : 1);
