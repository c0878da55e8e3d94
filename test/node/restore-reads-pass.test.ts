/**
 * A restore's swap answers plain reads while writes wait (issue #19, responsiveness): a read sent
 * while the swap runs sees the state before the restore, anything that could change the live
 * connection (a write, a transaction, a TEMP table, a read followed by a write) waits and lands on
 * the restored database.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/protocol';
import { SqliteConnection } from '../../worker/engine/sqlite';
import { call, servicesOf } from '../support/vault-harness';

const { start, reopen } = servicesOf('reads-pass', afterEach);

describe('a restore swapping the live database', () => {
  it('answers plain reads with the state before it, and holds back every call that could change the connection', async () => {
    const { name, service } = await start('swap');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1)'));
    const { backupId } = await call(service.backupCreate({ method: 'pages' }));
    await call(service.backupWait(backupId));
    await call(service.exec('INSERT INTO t VALUES (2)'));

    // The swap opens the restored image on a new connection: send the calls from there, while
    // the gate is closed (the old connection is still live, the new head not yet committed).
    const sent: { label: string; answer: Promise<unknown> }[] = [];
    const order: string[] = [];
    const send = (label: string, pending: Promise<unknown>) =>
      sent.push({
        label,
        answer: pending.then((value) => {
          order.push(label);
          return value;
        }),
      });
    const realOpen = SqliteConnection.open;
    SqliteConnection.open = (engine, image) => {
      if (sent.length === 0 && image && image.byteLength > 0) {
        send('read', call(service.query('SELECT group_concat(id) AS ids FROM t')));
        send('read after comments', call(service.query('-- the ids\n/* all */ WITH x AS (SELECT id FROM t) SELECT count(*) AS n FROM x')));
        send('write', call(service.exec('INSERT INTO t VALUES (3)')));
        send('write through query', call(service.query('INSERT INTO t VALUES (4) RETURNING id')));
        send('read then write', call(service.query('SELECT 1; INSERT INTO t VALUES (5)')));
        send('temp table', call(service.query('SELECT 1 FROM (SELECT 1) WHERE 0; CREATE TEMP TABLE scratch (x)')));
      }
      return realOpen(engine, image);
    };
    let restored: unknown;
    try {
      restored = await call(service.backupRestore({ backupId })).then((value) => {
        order.push('restore');
        return value;
      });
    } finally {
      SqliteConnection.open = realOpen;
    }
    expect(restored).toMatchObject({ previousBackupId: expect.any(String) });
    const answers = await Promise.all(sent.map((s) => s.answer));
    // The reads were answered during the swap, from the database before the restore.
    expect(answers[0]).toEqual([{ ids: '1,2' }]);
    expect(answers[1]).toEqual([{ n: 2 }]);
    expect(order.slice(0, 2)).toEqual(['read', 'read after comments']);
    // Everything else waited for the restore and applied to the restored database.
    expect(answers[3]).toEqual([{ id: 4 }]);
    const ids = ((await call(service.query('SELECT id FROM t ORDER BY id'))) as Row[]).map((r) => r['id']);
    expect(ids).toEqual([1, 3, 4, 5]);
    await call(service.query('DROP TABLE temp.scratch'));
    await call(service.flush());
    await call(service.close());
    const again = await reopen(name);
    expect(((await call(again.query('SELECT id FROM t ORDER BY id'))) as Row[]).map((r) => r['id'])).toEqual([1, 3, 4, 5]);
  });

  it('does not let a transaction begin through query() while it swaps', async () => {
    const { service } = await start('begin');
    await call(service.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'));
    await call(service.exec('INSERT INTO t VALUES (1)'));
    const { backupId } = await call(service.backupCreate({ method: 'pages' }));
    await call(service.backupWait(backupId));
    await call(service.exec('INSERT INTO t VALUES (2)'));
    let began: Promise<unknown> | undefined;
    const realOpen = SqliteConnection.open;
    SqliteConnection.open = (engine, image) => {
      if (!began && image && image.byteLength > 0) began = call(service.query('BEGIN'));
      return realOpen(engine, image);
    };
    try {
      await call(service.backupRestore({ backupId }));
    } finally {
      SqliteConnection.open = realOpen;
    }
    await began;
    // The BEGIN ran after the swap, on the restored connection: its transaction is there to end.
    await call(service.exec('INSERT INTO t VALUES (7)'));
    await call(service.exec('COMMIT'));
    expect(((await call(service.query('SELECT id FROM t ORDER BY id'))) as Row[]).map((r) => r['id'])).toEqual([1, 7]);
  });
});
