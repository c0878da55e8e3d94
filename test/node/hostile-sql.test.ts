/**
 * Filters and SQL dumps from outside: a corpus of injection attempts and property tests of the
 * checkers (on SQLite's own tokens), then the reproductions through the real service.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFilterText } from '../../worker/engine';
import { checkDumpStatement } from '../../worker/engine/dump-allow';
import { runSqlDump } from '../../worker/engine/sql-dump';
import { meaningful, tokenize } from '../../worker/engine/sql-lexer';
import type { Service } from '../../worker/service';
import { installFaults } from '../support/faulty-idb';
import { call, openService, rows, settle } from '../support/vault-harness';
import { sqlJs } from './format-fixtures';

const limits = { budget: { timeMs: 5_000, memoryBytes: 64 * 1024 * 1024 }, isolated: false };
const pause = () => Promise.resolve();

/** Filters that try to be more than one expression. Each must be refused before SQLite sees it. */
const INJECTIONS = [
  "$x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')",
  "@x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')",
  ":x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')",
  "#x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')",
  '$a::b(x) = 1',
  '?1 = 1',
  '? = 1',
  '1; DROP TABLE accounts',
  '1) OR (1',
  '1)) UNION SELECT * FROM accounts --',
  "1 -- fine\n); DELETE FROM accounts; --",
  '1 /* open',
  "kind = 'x",
  'kind = "x',
  'kind = [x',
  '(SELECT 1); ATTACH DATABASE \'x\' AS y',
  'ATTACH DATABASE x AS y',
  '(WITH d AS (DELETE FROM accounts RETURNING 1) SELECT 1)',
  '(INSERT INTO accounts VALUES (1))',
  'EXISTS (SELECT 1 FROM accounts) AND (UPDATE accounts SET n = 0)',
  'pragma writable_schema = 1',
  "load_extension('evil')",
  "LOAD_EXTENSION('evil', 'entry')",
  'VACUUM',
  'x = 1 RETURNING *',
  '',
  '   ',
  '/* only a comment */',
  '-- only a comment',
  '1\u0000; DROP TABLE accounts',
];

/** Filters a user may well write. */
const GOOD = ["kind = 'a;b'", 'n IN (1, (2))', "at > '2026' -- trailing comment", '"kind" = [kind] /* ; */', "kind LIKE '%$x(%'", 'n BETWEEN 1 AND 3', 'coalesce(n, 0) > 0', "`kind` <> 'it''s'"];

describe('the filter checker', () => {
  it('refuses every injection attempt of the corpus with INVALID_ARGUMENT', () => {
    for (const filter of INJECTIONS) expect(() => checkFilterText('events', filter), filter).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('accepts ordinary expressions', () => {
    for (const filter of GOOD) expect(() => checkFilterText('events', filter), filter).not.toThrow();
  });

  it('never accepts text whose tokens could end the WHERE clause or add a statement (fuzzed)', () => {
    const pieces = fc.constantFrom("'", '"', '`', '[', ']', '(', ')', ';', '--', '/*', '*/', '\n', '$x(', '@y', ':z', '#w', '?', ' OR 1', 'DROP TABLE t', 'SELECT', 'x', '1', "'a'", ' ');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 14 }), (parts) => {
        const filter = parts.join('');
        let accepted = true;
        try {
          checkFilterText('t', filter);
        } catch (error) {
          accepted = false;
          expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
        }
        if (!accepted) return;
        // What was accepted: SQLite's tokens hold no `;`, no variable, and parentheses never close below the start.
        let depth = 0;
        for (const token of meaningful(`(\n${filter}\n)`)) {
          expect(token.kind).not.toBe('semicolon');
          expect(token.kind).not.toBe('variable');
          expect(token.kind).not.toBe('illegal');
          if (token.kind === 'open') depth++;
          if (token.kind === 'close') depth--;
          expect(depth).toBeGreaterThanOrEqual(token.kind === 'close' ? 0 : 1);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('tokenizes any text exactly (the tokens give the text back)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(tokenize(text).map((t) => t.text).join('')).toBe(text);
      }),
      { numRuns: 2_000 },
    );
  });
});

/** Statements a dump may not run, each hidden in the ways a deny pattern missed. */
const REFUSED_STATEMENTS = [
  "ATTACH 'x.db' AS x",
  "/* */ ATTACH 'x.db' AS x",
  "-- c\nVACUUM INTO '/elsewhere.db'",
  "/* a */ -- b\n  vacuum main into 'y'",
  'DETACH x',
  'PRAGMA hard_heap_limit=1000000',
  'PRAGMA soft_heap_limit = 1',
  '/* x */ PRAGMA main.cache_size=1',
  'PRAGMA user_version = (SELECT 1)',
  'PRAGMA writable_schema = RESET',
  'UPDATE t SET a = 1',
  'DROP TABLE t',
  'DELETE FROM t',
  'DELETE FROM sqlite_sequence WHERE 1',
  'ALTER TABLE t ADD COLUMN b',
  'CREATE TEMP TABLE t (a)',
  'CREATE TABLE t AS SELECT 1',
  'CREATE TABLE IF NOT EXISTS t AS SELECT 1',
  "INSERT INTO sqlite_schema VALUES('table','t','t',2,'CREATE TABLE t(a)')",
  'REINDEX',
  'ANALYZE t',
  'SAVEPOINT s',
  'ROLLBACK TO s',
  "SELECT load_extension('x')".replace('SELECT', 'REPLACE INTO t'),
  'WITH c AS (SELECT 1) UPDATE t SET a = 1',
  '$x(a) = 1',
];

const ACCEPTED_STATEMENTS = [
  'PRAGMA foreign_keys=OFF',
  'BEGIN TRANSACTION',
  'CREATE TABLE t (a)',
  "CREATE TABLE IF NOT EXISTS 'f_content'(docid INTEGER PRIMARY KEY, 'c0a')",
  'CREATE UNIQUE INDEX i ON t (a)',
  'CREATE VIRTUAL TABLE f USING fts4(a)',
  'CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (new.a); END',
  "INSERT INTO t VALUES(1,'a;b',X'00',NULL,1e999)",
  "INSERT INTO \"t\"(rowid,\"a\") VALUES(1,replace('a\\nb','\\n',char(10)))",
  'DELETE FROM sqlite_sequence',
  "INSERT INTO sqlite_sequence VALUES('t',5)",
  'ANALYZE sqlite_schema',
  "INSERT INTO sqlite_stat1 VALUES('t','i','1 1')",
  'PRAGMA user_version=7',
  'PRAGMA writable_schema=OFF',
  'COMMIT',
  'ROLLBACK',
];

describe('the SQL dump allow-list', () => {
  it('refuses what a dump does not hold, whatever comments come first', () => {
    for (const statement of REFUSED_STATEMENTS) {
      expect(() => checkDumpStatement(statement, { writableSchema: false }), statement).toThrow(expect.objectContaining({ code: 'NOT_SQLITE' }));
    }
  });

  it('accepts what sqlite3 .dump and pagevault write', () => {
    for (const statement of ACCEPTED_STATEMENTS) expect(() => checkDumpStatement(statement, { writableSchema: false }), statement).not.toThrow();
  });

  it("accepts the shell's sqlite_schema row for a virtual table only inside writable_schema", () => {
    const row = "INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table','f','f',0,'CREATE VIRTUAL TABLE f USING fts4(a)')";
    expect(() => checkDumpStatement(row, { writableSchema: false })).toThrow(expect.objectContaining({ code: 'NOT_SQLITE' }));
    const state = { writableSchema: false };
    checkDumpStatement('PRAGMA writable_schema=ON', state);
    expect(() => checkDumpStatement(row, state)).not.toThrow();
    expect(() => checkDumpStatement("INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table','t','t',2,'CREATE TABLE t(a)')", state)).toThrow(
      expect.objectContaining({ code: 'NOT_SQLITE' }),
    );
  });

  it('a replayed dump that passes the allow-list never holds a statement outside it (fuzzed)', async () => {
    const SQL = await sqlJs();
    const statements = fc.constantFrom(...REFUSED_STATEMENTS, ...ACCEPTED_STATEMENTS, 'CREATE TABLE u (a)', '/* c */', '-- c\n');
    await fc.assert(
      fc.asyncProperty(fc.array(statements, { maxLength: 8 }), async (list) => {
        const text = list.join(';\n');
        const outcome = await settle(runSqlDump(SQL, text, limits, pause));
        if (outcome.ok) expect(list.some((s) => REFUSED_STATEMENTS.includes(s))).toBe(false);
        else expect(['NOT_SQLITE', 'LIMIT_EXCEEDED', 'INVALID_BACKUP']).toContain(outcome.code);
      }),
      { numRuns: 300 },
    );
  });
});

describe('hostile input through the service', () => {
  installFaults();
  let service: Service;

  beforeAll(async () => {
    service = await openService(`hostile-${Math.random().toString(36).slice(2)}`);
    await call(service.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, n); INSERT INTO accounts (n) VALUES (1), (2); CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT);'));
    await call(service.flush());
  });
  afterAll(async () => {
    await call(service.close());
  });

  it("refuses the issue's filter injection with INVALID_ARGUMENT and accounts survives", async () => {
    const outcome = await settle(call(service.backupCreate({ tables: { events: "$x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')" } })));
    expect(outcome).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    await call(service.flush());
    expect(await rows(service, 'SELECT count(*) AS n FROM accounts')).toEqual([{ n: 2 }]);
  });

  it('a dump that sets hard_heap_limit is refused and the live database still saves an acknowledged write', async () => {
    const dump = new Blob(['PRAGMA hard_heap_limit=1000000;\nCREATE TABLE t(x);\n']);
    expect(await settle(call(service.backupUpload(dump, {})))).toMatchObject({ ok: false, code: 'NOT_SQLITE' });
    await call(service.exec('INSERT INTO accounts (n) VALUES (3)'));
    await call(service.flush());
    expect(await rows(service, 'SELECT count(*) AS n FROM accounts')).toEqual([{ n: 3 }]);
  });

  it('a filter that compiles is evaluated on a copy: the backup holds the selected rows only', async () => {
    await call(service.exec("INSERT INTO events (kind) VALUES ('a'), ('b'), ('a')"));
    const { backupId } = await call(service.backupCreate({ tables: { events: "kind = 'a'" } }));
    const info = await call(service.backupWait(backupId));
    expect(info.tables).toEqual([{ name: 'events', rows: 2 }]);
  });
});
