/**
 * Every statement sent through query() that changes the database file counts as a write, so the
 * autosave saves it (README: pinned semantics). SQLite's compiler is asked (EXPLAIN); this checks
 * its answer against the exported bytes for statements a counter-based check used to miss.
 */
import { describe, expect, it } from 'vitest';
import { loadSqlite, SqliteConnection } from '../../worker/engine';

const PROBES = [
  'INSERT INTO t (v) SELECT hex(randomblob(40)) FROM t LIMIT 500',
  'ANALYZE',
  'REINDEX',
  'REINDEX ti',
  'ANALYZE t',
  'PRAGMA optimize',
  'DELETE FROM t WHERE id % 3 = 0',
  'VACUUM',
  'PRAGMA user_version = 9',
  'PRAGMA application_id = 77',
  'PRAGMA page_size = 8192',
  'VACUUM',
  'CREATE TEMP TABLE tt(x)',
  'INSERT INTO tt VALUES (1)',
  'CREATE TEMP TRIGGER tt_copy AFTER INSERT ON tt BEGIN INSERT INTO main.t (v) VALUES (new.x); END',
  'INSERT INTO tt VALUES (2)',
  "ATTACH ':memory:' AS a",
  'CREATE TABLE a.x(y)',
  'INSERT INTO a.x VALUES (1)',
  'PRAGMA auto_vacuum = INCREMENTAL',
  'VACUUM',
  'DELETE FROM t WHERE id % 2 = 0',
  'PRAGMA incremental_vacuum(5)',
  'UPDATE sqlite_stat1 SET stat = stat',
  'PRAGMA secure_delete = 1',
  'PRAGMA foreign_keys = 1',
  'SELECT count(*) FROM t',
  'WITH x AS (SELECT 1) SELECT * FROM x',
  'EXPLAIN SELECT 1',
  'SELECT * FROM pragma_table_info(\'t\')',
  'CREATE VIEW v AS SELECT id FROM t',
  'DROP VIEW v',
  'BEGIN; INSERT INTO t (v) VALUES (\'in a transaction\'); COMMIT',
  'PRAGMA optimize=0x10002',
];

describe('query() knows when a statement changes the file', () => {
  it('counts every statement that changed the exported bytes, and no plain read', async () => {
    const conn = SqliteConnection.open(await loadSqlite());
    conn.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX ti ON t(v)');
    conn.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO t (v) SELECT hex(randomblob(40)) FROM c');
    const missed: string[] = [];
    const readsCounted: string[] = [];
    for (const statement of PROBES) {
      const before = conn.exportImage();
      let wrote = false;
      conn.query(statement, undefined, () => (wrote = true));
      const after = conn.exportImage();
      const changed = before.length !== after.length || before.some((byte, i) => byte !== after[i]);
      if (changed && !wrote) missed.push(statement);
      if (!changed && wrote && /^(SELECT|WITH|EXPLAIN)/.test(statement)) readsCounted.push(statement);
    }
    conn.close();
    expect(missed).toEqual([]);
    expect(readsCounted).toEqual([]);
  });

  it('counts a write to the live file attached under another name, and a name that became a main table', async () => {
    const conn = SqliteConnection.open(await loadSqlite());
    conn.exec('CREATE TABLE t (x); CREATE TEMP TABLE zz (x)');
    const wrote = (sql: string) => {
      let noted = false;
      conn.query(sql, undefined, () => (noted = true));
      return noted;
    };
    expect(wrote('INSERT INTO zz VALUES (1)')).toBe(false); // TEMP is not in the file
    conn.exec('DROP TABLE temp.zz; CREATE TABLE main.zz (x)');
    expect(wrote('INSERT INTO zz VALUES (1)')).toBe(true); // the same text now writes the file
    const file = String(conn.query('PRAGMA database_list')[0]!['file']);
    conn.exec(`ATTACH '${file}' AS me`);
    expect(wrote('INSERT INTO me.t VALUES (2)')).toBe(true);
    conn.close();
  });
});
