/**
 * What a review of the swap's read path found (issue #19): statements EXPLAIN takes for plain
 * reads that write from inside (FTS `optimize()`, `pragma_optimize`), a write whose table exists
 * only in the restored image, a read overtaking an earlier write; and the same writes through
 * `query()` outside a restore, which were not noted for saving.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/protocol';
import { SqliteConnection } from '../../worker/engine/sqlite';
import type { Service } from '../../worker/service';
import { call, rows, servicesOf, settle } from '../support/vault-harness';

const { start, reopen } = servicesOf('reads-review', afterEach);

type Track = <T>(label: string, pending: Promise<T>) => Promise<T>;

/**
 * Restores `backupId`; `during` runs once while the swap holds the gate (the restored image is
 * being opened: after the undo export, before the head commit). Returns the order in which the
 * tracked calls settled, with 'swapped' where the live connection became the restored one.
 */
async function restoreWith(service: Service, backupId: string, during: (track: Track) => void): Promise<{ restored: { previousBackupId?: string }; order: string[] }> {
  const order: string[] = [];
  const track: Track = (label, pending) =>
    pending.then(
      (value) => {
        order.push(label);
        return value;
      },
      (error: unknown) => {
        order.push(label);
        throw error;
      },
    );
  let fired = false;
  const realOpen = SqliteConnection.open;
  const realAdopt = SqliteConnection.prototype.adopt;
  SqliteConnection.open = (engine, image) => {
    if (!fired && image && image.byteLength > 0) {
      fired = true;
      during(track);
    }
    return realOpen(engine, image);
  };
  // Marks the moment the live connection becomes the restored one.
  SqliteConnection.prototype.adopt = function adopt(this: SqliteConnection, next: SqliteConnection) {
    realAdopt.call(this, next);
    order.push('swapped');
  };
  try {
    const restored = await call(service.backupRestore({ backupId }));
    return { restored, order };
  } finally {
    SqliteConnection.open = realOpen;
    SqliteConnection.prototype.adopt = realAdopt;
  }
}

async function backup(service: Service): Promise<string> {
  const { backupId } = await call(service.backupCreate({ method: 'pages' }));
  await call(service.backupWait(backupId));
  return backupId;
}

const count = async (service: Service, sql: string): Promise<unknown> => (await rows(service, sql))[0]?.['n'];

/** An FTS4 table of two rows whose segment writes a trigger records in `audit` (2 rows so far). */
async function ftsWithAudit(service: Service): Promise<void> {
  await call(
    service.exec(`CREATE TABLE audit (what TEXT);
      CREATE VIRTUAL TABLE ft USING fts4(body);
      CREATE TRIGGER ft_segment AFTER INSERT ON ft_segdir BEGIN INSERT INTO audit VALUES ('segment'); END;`),
  );
  await call(service.exec("INSERT INTO ft VALUES ('alpha')"));
  await call(service.exec("INSERT INTO ft VALUES ('beta')"));
}

describe('a restore swapping the live database, with statements that only look like reads', () => {
  it('FTS4 optimize() in a SELECT writes (here, through a trigger, a user row) during the swap; that row is in no state', async () => {
    const { service } = await start('fts');
    await ftsWithAudit(service);
    expect(await count(service, 'SELECT count(*) AS n FROM audit')).toBe(2);
    const backupId = await backup(service);

    let merged!: Promise<Row[]>;
    const { restored, order } = await restoreWith(service, backupId, (track) => {
      merged = track('optimize', call(service.query('SELECT optimize(ft) FROM ft LIMIT 1; SELECT count(*) AS n FROM audit')));
    });
    const answer = await merged;
    // The SELECT wrote a row of `audit` (the trigger on the shadow table): it must wait and run on
    // the restored database, not on the connection about to be dropped.
    expect.soft(order).toEqual(['swapped', 'optimize']);
    // The state the answer showed must be one that exists: the live database after the restore...
    expect.soft(await rows(service, 'SELECT count(*) AS n FROM audit')).toEqual(answer);
    // ...and the undo backup holds the state before the restore (2 rows either way).
    await call(service.backupRestore({ backupId: restored.previousBackupId! }));
    expect(await count(service, 'SELECT count(*) AS n FROM audit')).toBe(2);
  });

  it('SELECT * FROM pragma_optimize(65538) runs ANALYZE (creates sqlite_stat1) during the swap, then it is gone', async () => {
    const { service } = await start('analyze');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v)'));
    await call(service.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"));
    const backupId = await backup(service);

    let analyzed!: Promise<Row[]>;
    const { order } = await restoreWith(service, backupId, (track) => {
      analyzed = track('analyze', call(service.query('SELECT * FROM pragma_optimize(65538); SELECT count(*) AS n FROM sqlite_stat1')));
    });
    const answer = await analyzed;
    expect(answer).toEqual([{ n: 1 }]); // ANALYZE ran, wherever it ran
    expect.soft(order).toEqual(['swapped', 'analyze']);
    // Acknowledged (the answer counted its rows), so it must be in the live database now.
    expect(await count(service, "SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'")).toBe(1);
  });

  it('a write through query() whose table exists only in the restored image waits and succeeds (not SQLITE from the old schema)', async () => {
    const { service } = await start('prepare');
    await call(service.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)'));
    const backupId = await backup(service);
    await call(service.exec('DROP TABLE notes'));

    let inserted!: ReturnType<typeof settle>;
    await restoreWith(service, backupId, (track) => {
      inserted = settle(track('insert', call(service.query("INSERT INTO notes (body) VALUES ('kept') RETURNING id"))));
    });
    // Writes wait for the swap and run on the restored database, where `notes` exists (compiled
    // against the old schema, the INSERT fails: that is no reason to refuse it).
    expect(await inserted).toEqual({ ok: true });
    expect(await rows(service, 'SELECT body FROM notes')).toEqual([{ body: 'kept' }]);
  });

  it("a read sent after the same caller's write does not overtake it (no serial order of the caller's calls gives its answer)", async () => {
    const { service } = await start('order');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1)'));
    const backupId = await backup(service);

    let wrote!: Promise<unknown>;
    let read!: Promise<Row[]>;
    const { order } = await restoreWith(service, backupId, (track) => {
      wrote = track('write', call(service.exec('INSERT INTO t VALUES (2)')));
      read = track('read', call(service.query('SELECT count(*) AS n FROM t')));
    });
    await wrote;
    // The write (sent first) waits for the restore; the read sent after it waits behind it and
    // sees it, as any serial order of the caller's calls would.
    expect.soft(order).toEqual(['swapped', 'write', 'read']);
    expect(await read).toEqual([{ n: 2 }]);
  });
});

describe('writes from inside a function or virtual table, through query()', () => {
  it('a write made by FTS4 optimize() through query() is saved (noted as a write) and survives close and reopen', async () => {
    const { name, service } = await start('fts-save');
    await ftsWithAudit(service);
    await call(service.flush());
    expect(await rows(service, 'SELECT optimize(ft) AS r FROM ft LIMIT 1')).toHaveLength(1);
    expect(await count(service, 'SELECT count(*) AS n FROM audit')).toBe(3); // acknowledged
    await call(service.close());
    const again = await reopen(name);
    expect(await count(again, 'SELECT count(*) AS n FROM audit')).toBe(3);
  });

  it('ANALYZE run by SELECT * FROM pragma_optimize(...) through query() survives close and reopen', async () => {
    const { name, service } = await start('analyze-save');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v)'));
    await call(service.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"));
    await call(service.flush());
    expect(await rows(service, 'SELECT * FROM pragma_optimize(65538); SELECT count(*) AS n FROM sqlite_stat1')).toEqual([{ n: 1 }]);
    await call(service.close());
    const again = await reopen(name);
    expect(await count(again, "SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'")).toBe(1);
  });
});
