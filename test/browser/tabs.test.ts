/**
 * Several openers of one vault (README "Several tabs"). Each `openVault` starts its own worker, and
 * Web Locks and BroadcastChannel are per origin, so two vaults opened in this page behave as two
 * tabs do: one worker owns the database, the other forwards. A terminated worker is a crashed tab.
 * The multi-page checks (pages closed, reloaded, crashed) are in e2e/tabs.mjs.
 */
import { describe, expect, it } from 'vitest';
import { server } from 'vitest/browser';
import { openVault, type ChangeEvent } from '../../src/index';
import { count, fillRows, open, rejectsWith, sleep, startWorker, uniqueName } from './helpers';

/** Runs `body` again while it rejects with INTERRUPTED (what an app does with a retryable code). */
async function retrying<T>(body: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await body();
    } catch (error) {
      if ((error as { code?: string }).code !== 'INTERRUPTED') throw error;
    }
  }
}

describe('several tabs on one vault', () => {
  it('gives every opener a working vault: writes from each are read by the others, errors keep their code', async () => {
    const name = uniqueName('tabs');
    const a = await open(name);
    const b = await open(name);
    const c = await open(name);
    await a.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)');
    for (let i = 0; i < 10; i++) for (const [who, v] of [['a', a], ['b', b], ['c', c]] as const) await v.exec('INSERT INTO t (who) VALUES (?)', [who]);
    for (const v of [a, b, c]) expect(await v.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 30 }]);
    await rejectsWith(b.exec('INSERT INTO missing VALUES (1)'), 'SQLITE');
    await rejectsWith(c.backup.status('nope'), 'NOT_FOUND');
    expect((await b.info()).name).toBe(name);
    await b.close();
    await rejectsWith(b.query('SELECT 1'), 'CLOSED');
    expect(await count(a, 't')).toBe(30);
    await c.close();
    await a.close();
  });

  it('keeps exclusive: a shared opener of an exclusive vault is LOCKED after lockTimeoutMs', async () => {
    const name = uniqueName('tabs-exclusive');
    const owner = await open(name, { exclusive: true });
    const started = performance.now();
    await rejectsWith(open(name, { lockTimeoutMs: 300 }), 'LOCKED');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await owner.close();
  });

  it('sends committed changes and catalog changes to the other tabs', async () => {
    const name = uniqueName('tabs-change');
    const a = await open(name);
    const b = await open(name);
    const seen: ChangeEvent[] = [];
    b.onChange((event) => seen.push(event));
    await a.exec('CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)');
    await a.exec('CREATE TABLE other (id INTEGER PRIMARY KEY)');
    await a.exec('BEGIN');
    await a.exec("INSERT INTO note (body) VALUES ('x')");
    await sleep(200);
    const beforeCommit = seen.filter((e) => e.kind === 'data' && e.tables.includes('note')).length;
    await a.exec('COMMIT');
    const { backupId } = await a.backup.create();
    await b.backup.wait(backupId);
    await sleep(300);
    expect(beforeCommit).toBe(0);
    expect(seen).toContainEqual({ kind: 'data', tables: ['note'], all: false });
    expect(seen.some((e) => e.kind === 'catalog')).toBe(true);
    await b.close();
    await a.close();
  });

  it('runs a job started in one tab for every tab: progress in the starting tab, awaited and listed in the others, cancelled from another', async () => {
    const name = uniqueName('tabs-jobs');
    const a = await open(name);
    const b = await open(name);
    await fillRows(a, 5_000, 200);
    const phases = new Set<string>();
    const { backupId } = await b.backup.create({ onProgress: (p) => phases.add(p.phase) });
    expect((await a.backup.wait(backupId)).backupId).toBe(backupId);
    await sleep(100);
    expect(phases.has('done')).toBe(true);
    expect((await b.backup.list()).map((x) => x.backupId)).toEqual([backupId]);
    const second = await a.backup.create({ method: 'vacuum' });
    const { status } = await b.backup.cancel(second.backupId);
    expect(['cancelled', 'completed', 'not running']).toContain(status);
    const job = (await a.backup.history()).find((j) => j.backupId === second.backupId);
    expect(job?.state).toBe(status === 'cancelled' ? 'cancelled' : 'succeeded');
    await b.close();
    await a.close();
  });

  it('lets a tab join while a backup runs: it sees the job and awaits it', async () => {
    const name = uniqueName('tabs-join');
    const a = await open(name);
    await fillRows(a, 20_000, 200);
    const { backupId } = await a.backup.create({ method: 'vacuum' });
    const joiner = await open(name);
    expect(['queued', 'running', 'succeeded']).toContain((await joiner.backup.status(backupId)).state);
    const info = await joiner.backup.wait(backupId);
    expect(info.tables).toContainEqual({ name: 'item', rows: 20_000 });
    await joiner.close();
    await a.close();
  });

  it('hands over when the owner crashes: the next call is answered by another tab, nothing acknowledged is lost', async () => {
    const name = uniqueName('tabs-crash');
    const worker = startWorker();
    const owner = await openVault({ name, worker, autosaveMs: 0 });
    const b = await open(name);
    await owner.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await b.exec('INSERT INTO t DEFAULT VALUES');
    await owner.exec('INSERT INTO t DEFAULT VALUES');
    await b.flush();
    const killed = performance.now();
    worker.terminate();
    expect((await b.info()).name).toBe(name); // a read in flight is asked again of the next owner
    expect(await retrying(() => count(b, 't'))).toBe(2);
    const gap = performance.now() - killed;
    console.log(`hand-over gap (worker terminated): ${gap.toFixed(0)} ms`);
    await b.exec('INSERT INTO t DEFAULT VALUES');
    expect(await count(b, 't')).toBe(3);
    await b.close();
  });

  // Not in WebKit: there, a worker terminated in the middle of an IndexedDB transaction sometimes
  // leaves that transaction open for good, and every later read-write transaction on its stores
  // waits behind it (README "Several tabs", limits). Plain IndexedDB shows it without pagevault: a
  // worker looping read-write and read-only transactions, terminated, then a read-write transaction
  // from the page: it waited over 100 s in 1 of 12 tries in WebKitGTK, and never in 8 tries each in
  // Chromium and Firefox. This test then timed out in 4 of 6 runs of this file. A page that closes
  // or crashes ends its whole context; the crashes in e2e/tabs.mjs cover that.
  it.skipIf(server.browser === 'webkit')('answers or rejects with INTERRUPTED every call in flight when the owner dies mid-write and mid-backup', async () => {
    const name = uniqueName('tabs-inflight');
    const worker = startWorker();
    const owner = await openVault({ name, worker, autosaveMs: 60_000 });
    const b = await open(name, { durability: 'commit' });
    await fillRows(owner, 20_000, 200);
    await owner.flush();
    const { backupId } = await b.backup.create({ method: 'vacuum' });
    const waited = b.backup.wait(backupId).then(
      () => 'OK',
      (error: { code: string }) => error.code,
    );
    const acked: number[] = [];
    const writes = Array.from({ length: 20 }, (_, i) =>
      b.exec('INSERT INTO item (body, n) VALUES (?, ?)', ['w', -1 - i]).then(
        () => {
          acked.push(-1 - i);
          return 'OK';
        },
        (error: { code: string }) => error.code,
      ),
    );
    await sleep(5);
    worker.terminate();
    const codes = await Promise.all(writes);
    for (const code of codes) expect(['OK', 'INTERRUPTED']).toContain(code);
    expect(['OK', 'INTERRUPTED']).toContain(await waited);
    const rows = await retrying(() => b.query<{ n: number }>('SELECT n FROM item WHERE n < 0'));
    const present = new Set(rows.map((r) => r.n));
    for (const n of acked) expect(present.has(n)).toBe(true);
    await b.close();
  });
});
