/**
 * Nothing is lost where operations interleave (issue #12): each case reproduces a defect found on
 * main through the worker's service, and asserts what a user would see after a reopen.
 */
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { SqliteConnection } from '../../worker/engine/sqlite';
import { VaultStore } from '../../worker/store/vault-store';
import { LIVE_HEAD } from '../../worker/store/schema';
import { installFaults } from '../support/faulty-idb';
import { addRows, call, jobsIdle, orphanChunks, readDisk, rows, servicesOf, settle, sqlJs } from '../support/vault-harness';
import { createService, type Service } from '../../worker/service';

const faults = installFaults();
const { start, reopen } = servicesOf('lost', afterEach);
afterEach(() => faults.disarm());

/** One row per id: the table the cases write to. */
async function ids(service: Service): Promise<number[]> {
  return (await rows(service, 'SELECT id FROM t ORDER BY id')).map((r) => Number(r['id']));
}

describe('one commit path', () => {
  it('a commit naming a chunk the store does not hold is refused, and supplied chunks make it whole (#12.1)', async () => {
    const { name, service } = await start('commit-check');
    await addRows(service, 40, 1);
    await call(service.flush());
    await call(service.close());
    const store = await VaultStore.open(name);
    try {
      const head = store.head(LIVE_HEAD)!;
      const missing = 'f'.repeat(64);
      const manifest = { ...head.manifest, chunks: [...head.manifest.chunks.slice(0, -1), missing] };
      const refused = await settle(store.commit({ heads: new Map([[LIVE_HEAD, { manifest, savedAt: 1 }]]) }));
      expect(refused).toMatchObject({ ok: false, code: ErrorCode.INTERNAL });
      expect(store.head(LIVE_HEAD)).toEqual(head);
      let asked: readonly string[] = [];
      const supplied = await settle(
        store.commit(
          { heads: new Map([['other', { manifest, savedAt: 2 }]]) },
          {
            supply: async (keys) => {
              asked = keys;
              return keys.map((key) => ({ key, codec: 'raw' as const, size: 1, data: new Uint8Array([7]) }));
            },
          },
        ),
      );
      expect(supplied).toEqual({ ok: true });
      expect(asked).toEqual([missing]);
      expect(store.hasChunk(missing)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('a save racing the drop of the one backup that held a chunk it reuses still reopens with every row (#12.1)', async () => {
    for (let round = 0; round < 6; round++) {
      const { name, service } = await start('save-drop');
      await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)'));
      // One 3 KiB row per page: chunks past the first hold nothing but these rows.
      for (let id = 1; id <= 120; id++) await call(service.exec('INSERT INTO t VALUES (?, zeroblob(3000))', [id]));
      await call(service.flush());
      const { backupId } = await call(service.backupCreate({ method: 'pages' }));
      await call(service.backupWait(backupId));
      // Change one row's page, save, then change it back: the next save needs a chunk that only
      // the backup holds.
      await call(service.exec('UPDATE t SET body = randomblob(3000) WHERE id = 60'));
      await call(service.flush());
      await call(service.exec('UPDATE t SET body = zeroblob(3000) WHERE id = 60'));
      const [flushed, dropped] = await Promise.all([settle(call(service.flush())), settle(call(service.backupDrop(backupId)))]);
      expect(flushed).toEqual({ ok: true });
      expect(dropped).toEqual({ ok: true });
      await call(service.close());
      const again = await reopen(name);
      expect(await ids(again)).toHaveLength(120);
      expect(orphanChunks(await readDisk(name))).toEqual([]);
      await call(again.close());
    }
  });
});

describe('pinned semantics of exec, query and close', () => {
  it('schema changes and pragmas sent through query() are saved (#12.2)', async () => {
    const { name, service } = await start('ddl');
    await call(service.query('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.flush());
    await call(service.query('ALTER TABLE t ADD COLUMN note TEXT'));
    await call(service.query('PRAGMA user_version = 7'));
    await call(service.query('PRAGMA application_id = 42'));
    const saved = await call(service.flush());
    expect(saved.chunksWritten).toBeGreaterThan(0);
    await call(service.close());
    const again = await reopen(name);
    expect(await rows(again, 'SELECT name FROM pragma_table_info(\'t\') ORDER BY cid')).toEqual([{ name: 'id' }, { name: 'note' }]);
    expect(await rows(again, 'PRAGMA user_version')).toEqual([{ user_version: 7 }]);
    expect(await rows(again, 'PRAGMA application_id')).toEqual([{ application_id: 42 }]);
  });

  it('a read through query() does not count as a change', async () => {
    const { service } = await start('read');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.flush());
    await call(service.query('SELECT * FROM t'));
    expect((await call(service.info())).dirty).toBe(false);
  });

  it('close() with a transaction open rolls it back and saves everything committed before it (#12.3)', async () => {
    const { name, service } = await start('close-tx');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1)'));
    await call(service.exec('BEGIN'));
    await call(service.exec('INSERT INTO t VALUES (2)'));
    await call(service.close());
    const again = await reopen(name);
    expect(await ids(again)).toEqual([1]);
  });

  it('once close() is called, every later call rejects with CLOSED and every acknowledged write survives (#12.3)', async () => {
    const { name, service } = await start('close-race');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (0)'));
    const acknowledged = [0];
    const closing = call(service.close());
    // Writes sent while close() runs, at every turn of the event loop until it has finished.
    const writes: Promise<void>[] = [];
    let done = false;
    void closing.finally(() => (done = true));
    for (let id = 1; id <= 50 && !done; id++) {
      writes.push(
        service.exec('INSERT INTO t VALUES (?)', [id]).then((r) => {
          if (r.ok) acknowledged.push(id);
          else expect(r.error.code).toBe(ErrorCode.CLOSED);
        }),
      );
      await afterTurns(1);
    }
    await Promise.all([closing, ...writes]);
    expect((await service.query('SELECT 1')).ok).toBe(false);
    const again = await reopen(name);
    expect(await ids(again)).toEqual(acknowledged.sort((a, b) => a - b));
  });

  it('close() whose final save fails rejects and leaves the vault open, so nothing acknowledged is lost', async () => {
    const { name, service } = await start('close-fail');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1)'));
    faults.arm({ at: 1, effect: 'fail', kinds: ['commit'], error: 'QuotaExceededError' });
    const failed = await settle(call(service.close()));
    expect(failed).toMatchObject({ ok: false, code: ErrorCode.QUOTA_EXCEEDED });
    faults.disarm();
    expect(await ids(service)).toEqual([1]);
    await call(service.close());
    const again = await reopen(name);
    expect(await ids(again)).toEqual([1]);
  });
});

describe('jobs tell the truth', () => {
  it('cancel() answers cancelled only for a backup that is never listed (#12.5)', async () => {
    const { service } = await start('cancel');
    await addRows(service, 300, 1);
    const answers: string[] = [];
    // Cancels arriving at every moment of a backup's life, its final commit included: after 0..59
    // turns of the event loop from its start.
    // Half of them timed from the last progress event, which comes just before the final commit.
    for (let run = 0; run < 120; run++) {
      const turns = run % 60;
      await call(service.exec('INSERT INTO item (body, seed) VALUES (?, 2)', [`row ${run}`]));
      let backupId = '';
      let cancelled: Promise<{ status: string }> | undefined;
      const onProgress = (progress: { percent: number }) => {
        if (run >= 60 && !cancelled && progress.percent >= 99 && backupId) cancelled = afterTurns(turns).then(() => call(service.backupCancel(backupId)));
      };
      backupId = (await call(service.backupCreate({ method: 'pages' }, onProgress))).backupId;
      if (run < 60) {
        await afterTurns(turns);
        cancelled = call(service.backupCancel(backupId));
      }
      await jobsIdle(service);
      const { status } = await (cancelled ?? call(service.backupCancel(backupId)));
      answers.push(status);
      await jobsIdle(service);
      const listed = (await call(service.backupList())).some((b) => b.backupId === backupId);
      const state = (await call(service.backupStatus(backupId))).state;
      if (status === 'cancelled') expect({ turns, listed, state }).toEqual({ turns, listed: false, state: 'cancelled' });
      if (status === 'completed') expect({ turns, listed, state }).toEqual({ turns, listed: true, state: 'succeeded' });
    }
    expect(answers).toContain('cancelled');
  });

  it('a restore whose new connection cannot open leaves the live database as it was, after a reopen too (#12.9)', async () => {
    const { name, service } = await start('restore-swap');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1)'));
    const { backupId } = await call(service.backupCreate({ method: 'pages' }));
    await call(service.backupWait(backupId));
    await call(service.exec('INSERT INTO t VALUES (2)'));
    const realOpen = SqliteConnection.open;
    SqliteConnection.open = () => {
      throw new Error('out of memory');
    };
    let restored: Awaited<ReturnType<typeof settle>>;
    try {
      restored = await settle(call(service.backupRestore({ backupId })));
    } finally {
      SqliteConnection.open = realOpen;
    }
    expect(restored.ok).toBe(false);
    expect(await ids(service)).toEqual([1, 2]);
    await call(service.close());
    const again = await reopen(name);
    expect(await ids(again)).toEqual([1, 2]);
  });

  it('a download holds what it reads: a drop meanwhile does not fail it (#12.10)', async () => {
    const { service } = await start('download-drop');
    await addRows(service, 400, 1);
    for (const format of ['archive', 'sqlite', 'sql'] as const) {
      const { backupId } = await call(service.backupCreate({ method: 'vacuum' }));
      await call(service.backupWait(backupId));
      const [downloaded, dropped] = await Promise.all([
        settle(call(service.backupDownload(backupId, { format }))),
        settle(call(service.backupDrop(backupId))),
      ]);
      expect(downloaded).toEqual({ ok: true });
      expect(dropped.ok || (!dropped.ok && dropped.code === ErrorCode.BUSY)).toBe(true);
    }
  });
});

describe('failed saves are retried and reported', () => {
  it('a failed autosave is reported to listeners and info(), and retried until it succeeds (#12.12)', async () => {
    const name = 'lost-autosave';
    const service = createService();
    onTestFinished(() => service.close({ force: true }).then(() => undefined));
    await call(service.open({ name, autosaveMs: 10 }));
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.flush());
    const events: { code: string; attempts: number }[] = [];
    await call(service.onSaveError((event) => void events.push({ code: event.code, attempts: event.attempts })));
    faults.arm({ at: 1, effect: 'fail', kinds: ['commit'], error: 'QuotaExceededError' });
    await call(service.exec('INSERT INTO t VALUES (1)'));
    await waitFor(() => events.length > 0);
    expect(events[0]).toEqual({ code: ErrorCode.QUOTA_EXCEEDED, attempts: 1 });
    const info = await call(service.info());
    expect(info.saveError).toMatchObject({ code: ErrorCode.QUOTA_EXCEEDED, attempts: 1 });
    expect(info.dirty).toBe(true);
    faults.disarm();
    // No further write: the retry alone saves it.
    await waitFor(async () => !(await call(service.info())).dirty, 5_000);
    expect((await call(service.info())).saveError).toBeNull();
    await call(service.close());
    const again = await reopen(name);
    expect(await ids(again)).toEqual([1]);
  });
});

describe('when the store is gone', () => {
  it('reads and a download of the in-memory database still work; writes are refused with the reason (#12.16)', async () => {
    const { name, service } = await start('gone');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1), (2)'));
    // Another tab deletes (or a newer version upgrades) the IndexedDB database: the store steps aside.
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(`pagevault:${name}`);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    expect(await ids(service)).toEqual([1, 2]);
    const written = await service.exec('INSERT INTO t VALUES (3)');
    expect(written.ok ? 'ok' : written.error.code).toBe(ErrorCode.STORAGE);
    const writingQuery = await service.query('INSERT INTO t VALUES (4)');
    expect(writingQuery.ok).toBe(false);
    expect(await ids(service)).toEqual([1, 2]);
    const file = await call(service.download({ format: 'sqlite' }));
    const image = new Uint8Array(await file.blob.arrayBuffer());
    const SQL = await sqlJs();
    const copy = new SQL.Database(image);
    try {
      expect(copy.exec('SELECT id FROM t ORDER BY id')[0]?.values).toEqual([[1], [2]]);
    } finally {
      copy.close();
    }
    const closedEarly = await service.close();
    expect(closedEarly.ok).toBe(false);
    expect((await service.close({ force: true })).ok).toBe(true);
  });
});

/** Resolves after `turns` turns of the event loop. */
async function afterTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
