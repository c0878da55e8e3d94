import { describe, expect, it } from 'vitest';
import { checkImage, loadSqlite, pageCopy, SqliteConnection, vacuumCopy } from '../../worker/engine';
import { backupApi } from '../../worker/engine/page-copy';
import { sqlJsOf } from '../../worker/engine/sqlite';

const engine = await loadSqlite();
const SQL = sqlJsOf(engine);

function sample(rows: number): SqliteConnection {
  const conn = SqliteConnection.open(engine);
  conn.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX t_body ON t (body);');
  conn.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) INSERT INTO t (body) SELECT hex(randomblob(60)) FROM c`);
  return conn;
}

describe('the sql.js engine', () => {
  it('exports the SQLite online backup API that page copies need (fails loudly if an upgrade drops it)', () => {
    const raw = SQL as unknown as Record<string, unknown>;
    expect(typeof raw['_sqlite3_backup_init']).toBe('function');
    expect(typeof raw['_sqlite3_backup_step']).toBe('function');
    expect(typeof raw['_sqlite3_backup_finish']).toBe('function');
    expect(() => backupApi(SQL)).not.toThrow();
  });

  it('copies a database page by page, carrying writes made between steps into the copy', async () => {
    const conn = sample(20_000);
    const copy = pageCopy(conn, 64);
    let steps = 0;
    try {
      while (copy.step() !== 'done') {
        if (++steps === 3) conn.exec("INSERT INTO t (body) VALUES ('written during the copy')");
      }
      const { image, tables } = copy.result();
      expect(steps).toBeGreaterThan(3);
      expect(Buffer.from(image).equals(Buffer.from(conn.exportImage()))).toBe(true);
      expect(tables).toEqual([{ name: 't', rows: 20_001 }]);
      expect((await checkImage(engine, image)).check.integrity).toBe('ok');
    } finally {
      copy.close();
      conn.close();
    }
  });

  it('waits (busy) instead of copying half of an open write transaction', () => {
    const conn = sample(2_000);
    const copy = pageCopy(conn, 8);
    try {
      conn.exec("BEGIN; INSERT INTO t (body) VALUES ('half');");
      expect(copy.step()).toBe('busy');
      conn.exec('ROLLBACK');
      while (copy.step() !== 'done');
      expect(copy.result().tables).toEqual([{ name: 't', rows: 2_000 }]);
    } finally {
      copy.close();
      conn.close();
    }
  });

  it('makes a compacted copy with VACUUM INTO that is smaller after deletes', () => {
    const conn = sample(20_000);
    conn.exec('DELETE FROM t WHERE id % 2 = 0');
    const compact = vacuumCopy(conn);
    expect(compact.image.byteLength).toBeLessThan(conn.exportImage().byteLength);
    expect(compact.tables).toEqual([{ name: 't', rows: 10_000 }]);
    conn.close();
  });

  it('binds positional parameters to each statement that has parameters', () => {
    const conn = SqliteConnection.open(engine);
    conn.exec('CREATE TABLE d (a, b)');
    conn.exec('BEGIN; INSERT INTO d VALUES (?, 1); INSERT INTO d VALUES (?, 2); COMMIT;', [7]);
    expect(conn.query('SELECT a, b FROM d ORDER BY b')).toEqual([{ a: 7, b: 1 }, { a: 7, b: 2 }]);
    expect(conn.query('SELECT a FROM d WHERE b = :b', { b: 2 })).toEqual([{ a: 7 }]);
    expect(() => conn.exec('INSERT INTO d VALUES (?)', [1, 2])).toThrow(expect.objectContaining({ code: 'SQLITE' }));
    conn.close();
  });

  it('tells whether a transaction is open', () => {
    const conn = sample(1);
    expect(conn.inTransaction()).toBe(false);
    conn.exec('BEGIN');
    expect(conn.inTransaction()).toBe(true);
    conn.exec('COMMIT');
    expect(conn.inTransaction()).toBe(false);
    conn.close();
  });

  it('refuses to check a 0-byte image as a database (NOT_SQLITE)', async () => {
    await expect(checkImage(engine, new Uint8Array(0))).rejects.toMatchObject({ code: 'NOT_SQLITE' });
  });
});
