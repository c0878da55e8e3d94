/**
 * Nothing is lost where operations interleave (issue #12), in real Chromium: real IndexedDB, real
 * workers, the public API only. Each case asserts what a user sees after a reopen.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, openVault, type Vault } from '../../src/index';
import { fillRows, open, rawStore, rejectsWith, sleep, startWorker, uniqueName } from './helpers';

async function ids(vault: Vault): Promise<number[]> {
  return (await vault.query<{ id: number }>('SELECT id FROM t ORDER BY id')).map((r) => r.id);
}

describe('pinned semantics of exec, query and close', () => {
  it('schema changes and pragmas sent through query() survive a reopen', async () => {
    const name = uniqueName('ddl');
    const vault = await open(name);
    await vault.query('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await vault.query('ALTER TABLE t ADD COLUMN note TEXT');
    await vault.query('PRAGMA user_version = 7');
    await vault.close();
    const again = await open(name);
    expect(await again.query("SELECT name FROM pragma_table_info('t') ORDER BY cid")).toEqual([{ name: 'id' }, { name: 'note' }]);
    expect(await again.query('PRAGMA user_version')).toEqual([{ user_version: 7 }]);
    await again.close();
  });

  it('close() rolls back an open transaction, keeps what was committed, and refuses later calls with CLOSED', async () => {
    const name = uniqueName('close');
    const vault = await open(name);
    await vault.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await vault.exec('INSERT INTO t VALUES (1)');
    await vault.exec('BEGIN');
    await vault.exec('INSERT INTO t VALUES (2)');
    const closing = vault.close();
    await rejectsWith(vault.exec('INSERT INTO t VALUES (3)'), ErrorCode.CLOSED);
    await closing;
    await rejectsWith(vault.query('SELECT 1'), ErrorCode.CLOSED);
    const again = await open(name);
    expect(await ids(again)).toEqual([1]);
    await again.close();
  });
});

describe('concurrent saves, backups, cancels, drops and retention', () => {
  it('leave a vault that reopens with every acknowledged row and every listed backup verified', async () => {
    const name = uniqueName('interleave');
    const vault = await open(name, { autosaveMs: 5 });
    await vault.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
    await fillRows(vault, 2_000, 200);
    await vault.retention.set({ keepLast: 3 });
    const acknowledged: number[] = [];
    const pending: Promise<unknown>[] = [];
    const cancelledIds: string[] = [];
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 5; i++) {
        const id = round * 10 + i;
        pending.push(vault.exec('INSERT INTO t VALUES (?, hex(randomblob(500)))', [id]).then(() => acknowledged.push(id)));
      }
      const { backupId } = await vault.backup.create({ method: round % 2 === 0 ? 'pages' : 'vacuum' });
      if (round % 3 === 1) {
        pending.push(
          vault.backup.cancel(backupId).then(({ status }) => {
            if (status === 'cancelled') cancelledIds.push(backupId);
          }),
        );
      }
      if (round % 4 === 3) {
        const [older] = (await vault.backup.list()).slice(-1);
        if (older) pending.push(vault.backup.drop(older.backupId).catch((error: { code?: string }) => expect([ErrorCode.BUSY, ErrorCode.NOT_FOUND]).toContain(error.code)));
      }
      if (round % 5 === 4) pending.push(vault.retention.apply());
      pending.push(vault.flush().catch((error: { code?: string }) => expect(error.code).toBe(ErrorCode.BUSY)));
      await sleep(round % 3);
    }
    await Promise.all(pending);
    for (const job of await vault.backup.history()) if (job.state === 'queued' || job.state === 'running') await vault.backup.wait(job.backupId!).catch(() => undefined);
    await vault.close();

    const again = await open(name);
    expect(await ids(again)).toEqual([...acknowledged].sort((a, b) => a - b));
    const listed = await again.backup.list();
    for (const id of cancelledIds) expect(listed.map((b) => b.backupId)).not.toContain(id);
    for (const backup of listed) expect((await again.backup.verify(backup.backupId)).ok).toBe(true);
    await again.close();
  });

  it('a download keeps what it reads while the backup is dropped', async () => {
    const vault = await open(uniqueName('download-drop'));
    await fillRows(vault, 5_000, 300);
    const { backupId } = await vault.backup.create({ method: 'vacuum' });
    await vault.backup.wait(backupId);
    const download = vault.backup.download(backupId, { format: 'sqlite' });
    const drop = vault.backup.drop(backupId);
    const [{ blob }] = await Promise.all([download, drop]);
    expect(blob.size).toBeGreaterThan(1_000_000);
    expect(await vault.backup.list()).toEqual([]);
    await vault.close();
  });
});

describe('when saves fail or the store is gone', () => {
  it('reads and a download of the live database still work after the store was deleted under the vault', async () => {
    const name = uniqueName('gone');
    const worker = startWorker();
    const vault = await openVault({ name, worker, autosaveMs: 60_000 });
    await vault.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await vault.exec('INSERT INTO t VALUES (1), (2)');
    // Another tab of a newer version (or a deletion) takes the IndexedDB database away.
    const raw = await rawStore(name);
    raw.close();
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(`pagevault:${name}`);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    expect(await ids(vault)).toEqual([1, 2]);
    await rejectsWith(vault.exec('INSERT INTO t VALUES (3)'), ErrorCode.STORAGE);
    const { blob, filename } = await vault.download({ format: 'sqlite' });
    expect(filename).toMatch(/\.sqlite$/);
    const header = new TextDecoder().decode(new Uint8Array(await blob.slice(0, 15).arrayBuffer()));
    expect(header).toBe('SQLite format 3');
    const gz = await vault.download({ format: 'sqlite.gz' });
    expect(new Uint8Array(await gz.blob.slice(0, 2).arrayBuffer())).toEqual(new Uint8Array([0x1f, 0x8b]));
    await rejectsWith(vault.close(), ErrorCode.STORAGE);
    await vault.close({ force: true });
  });
});
