import { describe, expect, it } from 'vitest';
import { openVault, type Progress } from '../../src/index';
import { contentDigest, count, fillMegabytes, fillRows, open, rawStore, rejectsWith, sleep, startWorker, uniqueName } from './helpers';

async function chunkKeys(name: string): Promise<string[]> {
  const db = await rawStore(name);
  const keys = (await db.getAllKeys('chunks')) as string[];
  db.close();
  return keys;
}

describe('backup jobs and the catalog', () => {
  it('creates a backup in the background, reports progress, and lists it with its facts', async () => {
    const vault = await open(uniqueName('create'));
    await fillRows(vault, 20_000);
    const events: Progress[] = [];
    const { backupId } = await vault.backup.create({ note: 'first', onProgress: (p) => void events.push(p) });
    expect(typeof backupId).toBe('string');
    const info = await vault.backup.wait(backupId);
    const db = await vault.info();
    expect(info).toMatchObject({ backupId, method: 'pages', note: 'first', pageSize: db.pageSize, pageCount: db.pageCount, sizeBytes: db.pageSize * db.pageCount });
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(info.tables).toEqual([{ name: 'item', rows: 20_000 }]);
    expect(typeof info.createdAt).toBe('number');
    expect((await vault.backup.list())[0]).toEqual(info);
    const status = await vault.backup.status(backupId);
    expect(status).toMatchObject({ backupId, state: 'succeeded', progressPercent: 100, pagesDone: db.pageCount, pagesTotal: db.pageCount });
    expect(status.endedAt).toBeGreaterThanOrEqual(status.startedAt);
    const percents = events.map((e) => e.percent);
    expect(percents.at(-1)).toBe(100);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(events.every((e) => e.backupId === backupId)).toBe(true);
    // wait() on a finished backup resolves again.
    expect(await vault.backup.wait(backupId)).toEqual(info);
    await vault.close();
  });

  it('answers NOT_FOUND for unknown ids, also for cancel', async () => {
    const vault = await open(uniqueName('not-found'));
    await rejectsWith(vault.backup.status('nope'), 'NOT_FOUND');
    await rejectsWith(vault.backup.wait('nope'), 'NOT_FOUND');
    await rejectsWith(vault.backup.cancel('nope'), 'NOT_FOUND');
    await rejectsWith(vault.backup.drop('nope'), 'NOT_FOUND');
    await rejectsWith(vault.backup.restore({ backupId: 'nope' }), 'NOT_FOUND');
    await rejectsWith(vault.backup.create({ method: 'copy' as 'pages' }), 'INVALID_ARGUMENT');
    await vault.close();
  });

  it('cancels a backup half-way through a 30 MB database: cancelled, not listed, storage as before', async () => {
    const name = uniqueName('cancel');
    const vault = await open(name);
    await fillMegabytes(vault, 30);
    await vault.flush();
    // Change most pages so the backup has new chunks to store (and something to remove on cancel).
    await vault.exec('UPDATE item SET n = n + 1');
    const before = new Set(await chunkKeys(name));
    const { backupId } = await vault.backup.create({ method: 'vacuum' });
    let status = await vault.backup.status(backupId);
    while (status.state === 'queued' || (status.state === 'running' && status.progressPercent < 55)) {
      await sleep(5);
      status = await vault.backup.status(backupId);
    }
    expect(status.state).toBe('running');
    expect(await vault.backup.cancel(backupId)).toEqual({ status: 'cancelled' });
    expect((await vault.backup.status(backupId)).state).toBe('cancelled');
    await rejectsWith(vault.backup.wait(backupId), 'CANCELLED');
    expect(await vault.backup.list()).toEqual([]);
    expect(new Set(await chunkKeys(name))).toEqual(before);
    expect(await vault.backup.cancel(backupId)).toEqual({ status: 'not running' });
    await vault.close();
  });

  it('cancels a queued job without running it, and runs queued jobs in order', async () => {
    const vault = await open(uniqueName('queue'));
    await fillMegabytes(vault, 8);
    const a = await vault.backup.create({ note: 'a' });
    const b = await vault.backup.create({ note: 'b' });
    const c = await vault.backup.create({ note: 'c' });
    expect((await vault.backup.status(c.backupId)).state).toBe('queued');
    expect(await vault.backup.cancel(b.backupId)).toEqual({ status: 'cancelled' });
    await vault.backup.wait(c.backupId);
    const [sa, sb, sc] = await Promise.all([a, b, c].map((x) => vault.backup.status(x.backupId)));
    expect(sb!.state).toBe('cancelled');
    expect(sa!.state).toBe('succeeded');
    expect(sc!.startedAt).toBeGreaterThanOrEqual(sa!.endedAt!);
    expect((await vault.backup.list()).map((x) => x.note)).toEqual(['c', 'a']);
    const history = await vault.backup.history();
    expect(history.map((h) => [h.kind, h.state, h.backupId])).toEqual([
      ['backup', 'succeeded', c.backupId],
      ['backup', 'cancelled', b.backupId],
      ['backup', 'succeeded', a.backupId],
    ]);
    await vault.close();
  });

  it('keeps answering queries during a hot page copy of 30 MB, and the copy is one point in time', async () => {
    const name = uniqueName('hot');
    const vault = await open(name);
    await fillMegabytes(vault, 30);
    await vault.exec('CREATE TABLE during (batch INTEGER, k INTEGER)');
    const { backupId } = await vault.backup.create();
    let answeredWhileRunning = 0;
    let batch = 0;
    for (;;) {
      const state = (await vault.backup.status(backupId)).state;
      if (state !== 'queued' && state !== 'running') break;
      // Each batch writes 3 rows in one transaction: a copy must hold all 3 or none.
      batch++;
      await vault.exec('BEGIN; INSERT INTO during VALUES (?, 1); INSERT INTO during VALUES (?, 2); INSERT INTO during VALUES (?, 3); COMMIT;', [batch]);
      const rows = await vault.query<{ one: number }>('SELECT 1 AS one');
      if (rows[0]!.one === 1 && (await vault.backup.status(backupId)).state === 'running') answeredWhileRunning++;
    }
    const info = await vault.backup.wait(backupId);
    expect(answeredWhileRunning).toBeGreaterThan(0);
    await vault.backup.restore({ backupId: info.backupId, into: `${name}-copy` });
    const copy = await open(`${name}-copy`);
    const perBatch = await copy.query<{ batch: number; n: number }>('SELECT batch, count(*) AS n FROM during GROUP BY batch');
    expect(perBatch.every((r) => r.n === 3)).toBe(true);
    expect(await copy.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(await count(copy)).toBe(await count(vault));
    await copy.close();
    await vault.close();
  });

  it('waits for an open write transaction instead of copying half of it', async () => {
    const name = uniqueName('txn');
    const vault = await open(name);
    await fillRows(vault, 1_000);
    await vault.exec("BEGIN; INSERT INTO item (body, n) VALUES ('inside', -1);");
    const { backupId } = await vault.backup.create();
    await sleep(300);
    expect((await vault.backup.status(backupId)).state).toBe('running');
    await vault.exec("INSERT INTO item (body, n) VALUES ('inside too', -2); COMMIT;");
    await vault.backup.wait(backupId);
    await vault.backup.restore({ backupId, into: `${name}-copy` });
    const copy = await open(`${name}-copy`);
    expect(await copy.query('SELECT n FROM item WHERE n < 0 ORDER BY n')).toEqual([{ n: -2 }, { n: -1 }]);
    await copy.close();
    await vault.close();
  });

  it('makes a vacuum backup smaller than a page copy after deleting half the rows', async () => {
    const vault = await open(uniqueName('vacuum'));
    await fillRows(vault, 40_000);
    await vault.exec('DELETE FROM item WHERE id % 2 = 0');
    const pages = await vault.backup.wait((await vault.backup.create({ method: 'pages' })).backupId);
    const vacuum = await vault.backup.wait((await vault.backup.create({ method: 'vacuum' })).backupId);
    expect(vacuum.method).toBe('vacuum');
    expect(vacuum.sizeBytes).toBeLessThan(pages.sizeBytes);
    expect(vacuum.tables).toEqual(pages.tables);
    await vault.close();
  });

  it('adds almost no stored bytes for a second page copy of an unchanged database', async () => {
    const vault = await open(uniqueName('dedup'));
    await fillMegabytes(vault, 10);
    await vault.flush();
    const first = await vault.backup.wait((await vault.backup.create()).backupId);
    const second = await vault.backup.wait((await vault.backup.create()).backupId);
    expect(first.storedBytes).toBeLessThan(first.sizeBytes * 0.01);
    expect(second.storedBytes).toBeLessThan(second.sizeBytes * 0.01);
    expect(second.sha256).toBe(first.sha256);
    await vault.close();
  });

  it('restores a backup, keeps the replaced state as an automatic backup, and undoes the restore', async () => {
    const vault = await open(uniqueName('restore'));
    await fillRows(vault, 2_000);
    const original = await contentDigest(vault);
    const { backupId } = await vault.backup.create({ note: 'good state' });
    await vault.backup.wait(backupId);
    await vault.exec('DELETE FROM item WHERE id > 100; CREATE TABLE oops (x);');
    const broken = await contentDigest(vault);
    const { previousBackupId } = await vault.backup.restore({ backupId });
    expect(await contentDigest(vault)).toBe(original);
    expect(previousBackupId).toBeDefined();
    const auto = (await vault.backup.list()).find((b) => b.backupId === previousBackupId)!;
    expect(auto).toMatchObject({ method: 'auto', auto: 'before-restore' });
    expect(auto.note).toContain(backupId);
    await vault.backup.restore({ backupId: previousBackupId! });
    expect(await contentDigest(vault)).toBe(broken);
    const history = await vault.backup.history();
    expect(history.filter((h) => h.kind === 'restore').map((h) => h.state)).toEqual(['succeeded', 'succeeded']);
    await vault.close();
  });

  it('keeps a restored state across close and reopen', async () => {
    const name = uniqueName('restore-persist');
    const vault = await open(name);
    await fillRows(vault, 500);
    const { backupId } = await vault.backup.create();
    await vault.backup.wait(backupId);
    await vault.exec('DELETE FROM item');
    await vault.backup.restore({ backupId });
    await vault.close();
    const again = await open(name);
    expect(await count(again)).toBe(500);
    await again.close();
  });

  it('restores into a new name, leaving the current database alone', async () => {
    const name = uniqueName('into');
    const vault = await open(name);
    await fillRows(vault, 300);
    const { backupId } = await vault.backup.create();
    await vault.backup.wait(backupId);
    await vault.exec('DELETE FROM item WHERE id > 10');
    expect(await vault.backup.restore({ backupId, into: `${name}-b` })).toEqual({});
    expect(await count(vault)).toBe(10);
    const other = await open(`${name}-b`);
    expect(await count(other)).toBe(300);
    // The target is open (locked): restoring into it now is refused.
    await rejectsWith(vault.backup.restore({ backupId, into: `${name}-b` }), 'LOCKED');
    await other.close();
    await vault.close();
  });

  it('drops a backup and the chunks nothing else references', async () => {
    const name = uniqueName('drop');
    const vault = await open(name);
    await fillRows(vault, 5_000);
    await vault.flush();
    const keep = await vault.backup.wait((await vault.backup.create({ method: 'vacuum' })).backupId);
    await vault.exec('DELETE FROM item WHERE id % 3 = 0');
    const gone = await vault.backup.wait((await vault.backup.create({ method: 'vacuum' })).backupId);
    const withBoth = (await chunkKeys(name)).length;
    await vault.backup.drop(gone.backupId);
    expect((await vault.backup.list()).map((b) => b.backupId)).toEqual([keep.backupId]);
    expect((await chunkKeys(name)).length).toBeLessThan(withBoth);
    await rejectsWith(vault.backup.drop(gone.backupId), 'NOT_FOUND');
    await vault.close();
  });

  it('marks a backup interrupted when its worker is terminated mid-way, and a retry succeeds', async () => {
    const name = uniqueName('interrupted');
    const worker = startWorker();
    const vault = await openVault({ name, worker, autosaveMs: 60_000 });
    await fillMegabytes(vault, 20);
    await vault.flush();
    await vault.exec('UPDATE item SET n = n + 1');
    const { backupId } = await vault.backup.create({ method: 'vacuum' });
    let status = await vault.backup.status(backupId);
    while (status.state === 'queued' || (status.state === 'running' && status.progressPercent < 55)) {
      await sleep(5);
      status = await vault.backup.status(backupId);
    }
    worker.terminate();
    const again = await open(name, { lockTimeoutMs: 5_000 });
    expect((await again.backup.status(backupId)).state).toBe('interrupted');
    await rejectsWith(again.backup.wait(backupId), 'INTERRUPTED');
    expect(await again.backup.list()).toEqual([]);
    const db = await rawStore(name);
    expect(await db.getAll('staging')).toEqual([]);
    const head = await db.get('heads', 'live');
    expect(new Set(await db.getAllKeys('chunks'))).toEqual(new Set(head.manifest.chunks));
    db.close();
    const retry = await again.backup.wait((await again.backup.create()).backupId);
    expect(retry.tables[0]!.rows).toBeGreaterThan(0);
    await again.close();
  });
});
