import type { Database } from 'sql.js';
import { describe, expect, it } from 'vitest';
import { checkFilterText, loadSqlite, replaceTables, SqliteConnection } from '../../worker/engine';
import { TableCopy, type TablePlan } from '../../worker/engine/partial-copy';
import { databaseOf, sqlJsOf } from '../../worker/engine/sqlite';

const engine = await loadSqlite();
const SQL = sqlJsOf(engine);

/** A connection (what replaceTables takes) holding the same database as `db`. */
function connectionOf(db: Database): SqliteConnection {
  return SqliteConnection.open(engine, db.export());
}
const invalidArgument = expect.objectContaining({ code: 'INVALID_ARGUMENT' });

function source(): Database {
  const db = new SQL.Database();
  db.exec(`
    PRAGMA user_version = 7;
    CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT, n, doubled INTEGER GENERATED ALWAYS AS (n * 2));
    CREATE INDEX events_at ON events (at);
    CREATE TABLE audit (event_id INTEGER, note TEXT);
    CREATE TRIGGER events_audit AFTER INSERT ON events BEGIN INSERT INTO audit VALUES (new.id, 'added'); END;
    CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
    CREATE TABLE plain (v);
    INSERT INTO events (at, kind, n) VALUES ('2025-12-31', 'old', 1.0), ('2026-01-02', 'new', 9007199254740993), ('2026-02-01', 'new', -0.5);
    INSERT INTO events (at, kind, n) VALUES ('2026-03-01', 'gone', 0); DELETE FROM events WHERE kind = 'gone';
    INSERT INTO kv VALUES ('a', x'00ff10'), ('b;c', NULL);
    INSERT INTO plain (rowid, v) VALUES (10, 'ten'), (20, 'twenty');
  `);
  return db;
}

function copy(db: Database, plans: TablePlan[]): Database {
  const job = new TableCopy(SQL, db, plans);
  try {
    while (job.step(1) !== 'done') {
      // one row per step: exercises resuming the read statement
    }
    return new SQL.Database(job.result().image);
  } finally {
    job.close();
  }
}

const rows = (db: Database, sql: string) => db.exec(sql)[0]?.values ?? [];

describe('partial copies of chosen tables', () => {
  it('copies the selected rows exactly, with indexes, triggers, AUTOINCREMENT counter and user_version', () => {
    const db = source();
    const out = copy(db, [{ name: 'EVENTS', where: "at >= '2026-01-01' AND kind = 'new'" }, { name: 'kv' }, { name: 'plain' }]);
    expect(rows(out, 'SELECT id, typeof(n), quote(n), doubled FROM events ORDER BY id')).toEqual([
      [2, 'integer', '9007199254740993', 18014398509481986],
      [3, 'real', '-0.5', -1],
    ]);
    expect(rows(out, "SELECT name FROM sqlite_schema WHERE type IN ('index', 'trigger') ORDER BY name")).toEqual([['events_at'], ['events_audit']]);
    expect(rows(out, "SELECT seq FROM sqlite_sequence WHERE name = 'events'")).toEqual([[4]]);
    expect(rows(out, 'PRAGMA user_version')).toEqual([[7]]);
    expect(rows(out, 'SELECT k, quote(v) FROM kv ORDER BY k')).toEqual([['a', "X'00FF10'"], ['b;c', 'NULL']]);
    expect(rows(out, 'SELECT rowid, v FROM plain ORDER BY rowid')).toEqual([[10, 'ten'], [20, 'twenty']]);
    // Only the selected tables; the trigger did not fire while rows were copied (no audit table to write to).
    expect(rows(out, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").map(([n]) => n)).toEqual(['events', 'kv', 'plain', 'sqlite_sequence']);
    expect(rows(out, 'PRAGMA integrity_check')).toEqual([['ok']]);
  });

  it('keeps a REAL 1.0 a REAL in an untyped column', () => {
    const out = copy(source(), [{ name: 'events', where: "kind = 'old'" }]);
    expect(rows(out, 'SELECT typeof(n), n FROM events')).toEqual([['real', 1]]);
  });

  it('rejects missing tables, SQLite tables, bad filters and filters that are not one expression', () => {
    const db = source();
    expect(() => new TableCopy(SQL, db, [{ name: 'missing' }])).toThrow(invalidArgument);
    expect(() => new TableCopy(SQL, db, [{ name: 'sqlite_sequence' }])).toThrow(invalidArgument);
    expect(() => new TableCopy(SQL, db, [])).toThrow(invalidArgument);
    expect(() => new TableCopy(SQL, db, [{ name: 'events', where: 'no_such_column = 1' }])).toThrow(invalidArgument);
    for (const filter of ['1; DROP TABLE audit', '1) OR (1', "kind = 'x", '', '  ', '/* open', "1 -- fine\n); DELETE FROM audit; --"]) {
      expect(() => checkFilterText('events', filter)).toThrow(invalidArgument);
    }
    for (const filter of ["kind = 'a;b'", 'n IN (1, (2))', "at > '2026' -- trailing comment", '"kind" = [kind] /* ; */']) {
      expect(() => checkFilterText('events', filter)).not.toThrow();
    }
    expect(rows(db, 'SELECT count(*) FROM audit')).toEqual([[4]]); // nothing ran against the source
  });
});

describe('replacing tables of a live database from a backup image', () => {
  it('replaces only the named table, in one transaction, without cascading into other tables', () => {
    const backup = source();
    const image = backup.export();
    const conn = connectionOf(source());
    const live = databaseOf(conn);
    live.exec(`
      CREATE TABLE child (event_id INTEGER REFERENCES events (id) ON DELETE CASCADE);
      INSERT INTO child VALUES (1), (2);
      PRAGMA foreign_keys = ON;
      DELETE FROM audit; INSERT INTO events (at, kind, n) VALUES ('2026-04-01', 'later', 5);
      DELETE FROM plain;
    `);
    const restored = replaceTables(conn, image, ['events']);
    expect(restored).toEqual([{ name: 'events', rows: 3 }]);
    expect(rows(live, 'SELECT id, kind FROM events ORDER BY id')).toEqual([[1, 'old'], [2, 'new'], [3, 'new']]);
    expect(rows(live, 'SELECT count(*) FROM plain')).toEqual([[0]]); // untouched
    expect(rows(live, 'SELECT count(*) FROM audit')).toEqual([[1]]); // the trigger did not fire for restored rows
    expect(rows(live, 'SELECT count(*) FROM child')).toEqual([[2]]); // no cascade
    expect(rows(live, 'PRAGMA foreign_keys')).toEqual([[1]]); // enforcement is back on
    expect(rows(live, "SELECT name FROM sqlite_schema WHERE tbl_name = 'events' AND type != 'table' ORDER BY name")).toEqual([['events_at'], ['events_audit']]);
  });

  it('leaves the target untouched when a table is not in the backup', () => {
    const image = source().export();
    const conn = connectionOf(source());
    const live = databaseOf(conn);
    live.exec("CREATE TABLE extra (v); INSERT INTO events (at) VALUES ('x')");
    expect(() => replaceTables(conn, image, ['events', 'extra'])).toThrow(invalidArgument);
    expect(rows(live, 'SELECT count(*) FROM events')).toEqual([[4]]);
  });
});
