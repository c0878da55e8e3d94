import { describe, expect, it } from 'vitest';
import { isPagevaultError, openVault } from '../../src/index';
import { count, fillMegabytes, fillRows, open, rawStore, rejectsWith, sleep, startWorker, uniqueName } from './helpers';

describe('the live database in a worker, persisted in IndexedDB', () => {
  it('keeps 10,000 rows across close and a fresh worker', async () => {
    const name = uniqueName('rows');
    const vault = await open(name);
    await fillRows(vault, 10_000);
    await vault.close();
    const again = await open(name);
    expect(await count(again)).toBe(10_000);
    const last = await again.query<{ n: number }>('SELECT n FROM item WHERE id = ?', [10_000]);
    expect(last[0]!.n).toBe(10_000);
    await again.close();
  });

  it('runs several statements, explicit transactions, and both kinds of parameters', async () => {
    const vault = await open(uniqueName('exec'));
    await vault.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v);');
    await vault.exec('BEGIN');
    const first = await vault.exec('INSERT INTO t (v) VALUES (?)', ['a']);
    const second = await vault.exec('INSERT INTO t (v) VALUES (:v)', { v: 'b' });
    await vault.exec('COMMIT');
    expect(first).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(second.lastInsertRowid).toBe(2);
    expect(await vault.query('SELECT v FROM t WHERE id = $id', { $id: 2 })).toEqual([{ v: 'b' }]);
    await vault.close();
  });

  it('autosaves committed writes without an explicit flush', async () => {
    const name = uniqueName('autosave');
    const worker = startWorker();
    const vault = await openVault({ name, worker, autosaveMs: 0 });
    await vault.exec('CREATE TABLE t (v); INSERT INTO t VALUES (42)');
    for (let i = 0; i < 100 && (await vault.info()).dirty; i++) await sleep(20);
    expect((await vault.info()).dirty).toBe(false);
    // No close(): only what the autosave wrote can survive.
    worker.terminate();
    const again = await open(name, { lockTimeoutMs: 5_000 });
    expect(await again.query('SELECT v FROM t')).toEqual([{ v: 42 }]);
    await again.close();
  });

  it('reports SQL errors with the SQLITE code across the worker boundary', async () => {
    const vault = await open(uniqueName('errors'));
    const error = await rejectsWith(vault.exec('SELEC nonsense'), 'SQLITE');
    expect(isPagevaultError(error)).toBe(true);
    await rejectsWith(vault.query('SELECT * FROM missing_table'), 'SQLITE');
    await vault.close();
    await rejectsWith(vault.query('SELECT 1'), 'CLOSED');
  });

  it('refuses to flush inside an open transaction with BUSY, and saves after COMMIT', async () => {
    const vault = await open(uniqueName('busy'));
    await vault.exec('CREATE TABLE t (v)');
    await vault.exec('BEGIN; INSERT INTO t VALUES (1);');
    await rejectsWith(vault.flush(), 'BUSY');
    await vault.exec('COMMIT');
    const saved = await vault.flush();
    expect(saved.chunksWritten).toBeGreaterThan(0);
    await vault.close();
  });

  it('gives an exclusive opener of a name in use LOCKED, and lets it in once the owner closes', async () => {
    const name = uniqueName('lock');
    const owner = await open(name);
    await rejectsWith(open(name, { exclusive: true }), 'LOCKED');
    await rejectsWith(open(name, { exclusive: true, lockTimeoutMs: 200 }), 'LOCKED');
    const waiting = open(name, { exclusive: true, lockTimeoutMs: 10_000 });
    await sleep(100);
    await owner.close();
    const second = await waiting;
    expect((await second.info()).name).toBe(name);
    await second.close();
  });

  it('rejects with WORKER instead of hanging when the worker cannot start', async () => {
    const script = URL.createObjectURL(new Blob(['throw new Error("cannot start")'], { type: 'text/javascript' }));
    const worker = new Worker(script, { type: 'module' });
    await rejectsWith(openVault({ name: uniqueName('no-worker'), worker }), 'WORKER');
    URL.revokeObjectURL(script);
  });

  it('frees the lock when the owning worker dies', async () => {
    const name = uniqueName('lock-dies');
    const worker = startWorker();
    await openVault({ name, worker });
    worker.terminate();
    const next = await open(name, { lockTimeoutMs: 5_000 });
    await next.close();
  });

  it('keeps the previous saved state when the worker is terminated in the middle of a save', async () => {
    const name = uniqueName('torn-save');
    const worker = startWorker();
    const vault = await openVault({ name, worker, autosaveMs: 60_000 });
    await fillRows(vault, 1_000);
    await vault.flush();
    // ~24 MB of new rows: the save hashes and compresses for a while before its transaction.
    await fillMegabytes(vault, 24, 'more');
    let saved = false;
    const saving = vault.flush().then(() => (saved = true), () => undefined);
    await sleep(150);
    worker.terminate();
    await Promise.race([saving, sleep(50)]);
    const again = await open(name, { lockTimeoutMs: 5_000 });
    expect(await count(again)).toBe(1_000);
    const tables = await again.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    // Old state (no "more" table) unless the save had already committed; never a mix.
    if (!saved) expect(tables.map((t) => t.name)).toEqual(['item']);
    expect(await again.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    await again.close();
  });

  it('reports CORRUPT naming the chunk when a stored chunk was damaged in IndexedDB', async () => {
    const name = uniqueName('corrupt');
    const vault = await open(name);
    await fillRows(vault, 3_000);
    await vault.close();
    const db = await rawStore(name);
    const head = await db.get('heads', 'live');
    const key: string = head.manifest.chunks[1];
    const chunk = await db.get('chunks', key);
    const data = new Uint8Array(chunk.data);
    data[data.length >> 1]! ^= 0x40;
    await db.put('chunks', { ...chunk, data }, key);
    db.close();
    const error = await rejectsWith(open(name), 'CORRUPT');
    expect(error.details['chunk']).toBe(key);
    expect(error.details['index']).toBe(1);
  });

  it('writes at most 2 chunks when one row of a 20 MB database changes', async () => {
    const vault = await open(uniqueName('one-row'));
    await fillMegabytes(vault, 20);
    await vault.flush();
    const info = await vault.info();
    expect(info.sizeBytes).toBeGreaterThan(20 * 1024 * 1024);
    await vault.exec("UPDATE item SET body = 'changed' WHERE id = ?", [Math.floor(info.pageCount / 2)]);
    const saved = await vault.flush();
    expect(saved.chunksWritten).toBeGreaterThanOrEqual(1);
    expect(saved.chunksWritten).toBeLessThanOrEqual(2);
    await vault.close();
  });

  it('collects the chunks no manifest references after a save', async () => {
    const name = uniqueName('gc');
    const vault = await open(name);
    await fillRows(vault, 5_000);
    await vault.flush();
    await vault.exec('DELETE FROM item; VACUUM;');
    await vault.flush();
    await vault.close();
    const db = await rawStore(name);
    const head = await db.get('heads', 'live');
    const keys = await db.getAllKeys('chunks');
    db.close();
    expect(new Set(keys)).toEqual(new Set(head.manifest.chunks));
  });
});
