import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { dumpSql, runSqlDump } from '../../worker/engine/sql-dump';

const SQL = await initSqlJs();
const pause = () => Promise.resolve();
const limits = { budget: { timeMs: 30_000, memoryBytes: 64 * 1024 * 1024 }, isolated: false };

function sample() {
  const db = new SQL.Database();
  db.exec(`
    CREATE TABLE note (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT, score REAL, data BLOB);
    CREATE TABLE tag (name TEXT PRIMARY KEY, n INT) WITHOUT ROWID;
    CREATE TABLE plain (v);
    CREATE INDEX note_score ON note (score);
    CREATE TRIGGER note_touch AFTER INSERT ON note BEGIN UPDATE tag SET n = n + 1 WHERE name = 'all'; END;
    CREATE VIEW high AS SELECT * FROM note WHERE score > 1;
    INSERT INTO tag VALUES ('all', 0);
    INSERT INTO note (body, score, data) VALUES ('it''s', 1.0, X'00ff10'), (NULL, 2.5, NULL), ('line
break', -0.1, zeroblob(3));
    INSERT INTO plain (rowid, v) VALUES (5, 'five'), (9, 'nine');
    DELETE FROM note WHERE id = 2;
    PRAGMA user_version = 7;
  `);
  return db;
}

async function dumpText(db: InstanceType<typeof SQL.Database>): Promise<string> {
  const parts: string[] = [];
  await dumpSql(db, (p) => void parts.push(p), pause);
  return parts.join('');
}

function contents(db: InstanceType<typeof SQL.Database>): unknown {
  return {
    note: db.exec('SELECT id, body, typeof(score), score, hex(data) FROM note ORDER BY id'),
    tag: db.exec('SELECT * FROM tag'),
    plain: db.exec('SELECT rowid, v FROM plain ORDER BY rowid'),
    schema: db.exec('SELECT type, name, sql FROM sqlite_schema ORDER BY name'),
    seq: db.exec('SELECT * FROM sqlite_sequence'),
    userVersion: db.exec('PRAGMA user_version'),
  };
}

describe('SQL dumps', () => {
  it('replays in a scratch database to the same content, schema, rowids and user_version', async () => {
    const db = sample();
    const image = await runSqlDump(SQL, await dumpText(db), limits, pause);
    const copy = new SQL.Database(image);
    expect(contents(copy)).toEqual(contents(db));
  });

  it.runIf(existsSync('/usr/bin/sqlite3'))('replays in the sqlite3 shell to the same content', async () => {
    const db = sample();
    const dir = mkdtempSync(join(tmpdir(), 'pv-dump-'));
    writeFileSync(join(dir, 'dump.sql'), await dumpText(db));
    execFileSync('/usr/bin/sqlite3', [join(dir, 'out.db'), `.read ${join(dir, 'dump.sql')}`]);
    const copy = new SQL.Database(readFileSync(join(dir, 'out.db')));
    expect(contents(copy)).toEqual(contents(db));
  });

  it('refuses statements that reach outside the scratch database', async () => {
    await expect(runSqlDump(SQL, "ATTACH 'x.db' AS x; CREATE TABLE x.t (a);", limits, pause)).rejects.toMatchObject({ code: 'NOT_SQLITE' });
    await expect(runSqlDump(SQL, "CREATE TABLE t (a); VACUUM INTO '/elsewhere.db';", limits, pause)).rejects.toMatchObject({ code: 'NOT_SQLITE' });
  });

  it('stops a dump that builds more than the size limit with LIMIT_EXCEEDED', async () => {
    const text = 'CREATE TABLE t (b);\n' + 'INSERT INTO t VALUES (zeroblob(100000));\n'.repeat(2000);
    await expect(runSqlDump(SQL, text, { budget: { timeMs: 30_000, memoryBytes: 64 * 1024 * 1024 }, isolated: false, maxFileBytes: 10 * 1024 * 1024 }, pause)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('stops a dump that runs longer than the time limit with LIMIT_EXCEEDED', async () => {
    const text = 'CREATE TABLE t (b);\n' + "INSERT INTO t SELECT value FROM (WITH RECURSIVE c(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM c WHERE value < 2000) SELECT value FROM c);\n".repeat(1000);
    await expect(runSqlDump(SQL, text, { budget: { timeMs: 1, memoryBytes: 1e9 }, isolated: false }, pause)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});
