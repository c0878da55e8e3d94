/**
 * Hostile input never reaches the live database (issue 13), in real Chromium through the public
 * API: injection through a filter, a dump that would poison SQLite's settings, statements that
 * never end (in an upload and in a filter) while the vault keeps answering, a gzip bomb, and real
 * files written by the sqlite3 shell in every upload format.
 */
import { Gzip } from 'fflate';
import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import type { Vault } from '../../src/index';
import { open, rejectsWith, uniqueName } from './helpers';

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Runs `body` while pinging `SELECT 1` every 20 ms; returns its outcome and the slowest answer. */
async function whilePinging<T>(vault: Vault, body: () => Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; slowestMs: number; answers: number }> {
  let done = false;
  let slowestMs = 0;
  let answers = 0;
  const pinger = (async () => {
    while (!done) {
      const started = performance.now();
      await vault.query('SELECT 1');
      slowestMs = Math.max(slowestMs, performance.now() - started);
      answers++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const [outcome] = await Promise.allSettled([body()]);
  done = true;
  await pinger;
  return { outcome, slowestMs, answers };
}

const codeOf = (outcome: PromiseSettledResult<unknown>) => (outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : 'OK');

const NEVER_ENDING = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c';

describe('hostile input stays in the sandbox', () => {
  it("refuses the issue's filter injection with INVALID_ARGUMENT, and accounts survives a save and a reopen", async () => {
    const name = uniqueName('sandbox-inject');
    const vault = await open(name);
    await vault.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts (owner) VALUES (\'ann\'), (\'bob\'); CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT);');
    await rejectsWith(vault.backup.create({ tables: { events: "$x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')" } }), 'INVALID_ARGUMENT');
    for (const filter of ["@x(')=1) OR 1; DROP TABLE accounts; SELECT (1--')", '1) OR (1', "1 -- c\n); DROP TABLE accounts; --", '(SELECT 1); DETACH main']) {
      await rejectsWith(vault.backup.create({ tables: { events: filter } }), 'INVALID_ARGUMENT');
    }
    await vault.flush();
    await vault.close();
    const again = await open(name);
    expect(await again.query('SELECT owner FROM accounts ORDER BY id')).toEqual([{ owner: 'ann' }, { owner: 'bob' }]);
    await again.close();
  });

  it('a dump that sets hard_heap_limit is refused, and the live database still saves and reopens with an acknowledged write', async () => {
    const name = uniqueName('sandbox-poison');
    const vault = await open(name);
    await vault.exec('CREATE TABLE kept (v TEXT)');
    await rejectsWith(vault.backup.upload(new Blob(['PRAGMA hard_heap_limit=1000000;\nCREATE TABLE t(x);\n'])), 'NOT_SQLITE');
    await rejectsWith(vault.backup.upload(new Blob(["/* hidden */ ATTACH 'x' AS y;\n"])), 'NOT_SQLITE');
    await vault.exec("INSERT INTO kept VALUES ('acknowledged')");
    await vault.flush();
    await vault.close();
    const again = await open(name);
    expect(await again.query('SELECT v FROM kept')).toEqual([{ v: 'acknowledged' }]);
    await again.close();
  });

  it('a never-ending statement in an uploaded .sql is stopped with LIMIT_EXCEEDED while SELECT 1 keeps answering', async () => {
    const vault = await open(uniqueName('sandbox-sql-forever'));
    const dump = new Blob([`CREATE TABLE t (x);\n${NEVER_ENDING};\n`]);
    const { outcome, slowestMs, answers } = await whilePinging(vault, () => vault.backup.upload(dump, { sqlTimeoutMs: 1_500 }));
    expect(codeOf(outcome)).toBe('LIMIT_EXCEEDED');
    expect(answers).toBeGreaterThan(10);
    expect(slowestMs).toBeLessThan(1_000);
    // The sandbox was stopped and starts again for the next upload.
    const fine = await vault.backup.upload(new Blob(['CREATE TABLE t (x); INSERT INTO t VALUES (1);\n']));
    expect((await vault.backup.inspect(fine.backupId)).tables).toEqual([{ name: 't', rows: 1 }]);
    await vault.close();
  });

  it('a never-ending filter is stopped with LIMIT_EXCEEDED while SELECT 1 keeps answering', async () => {
    const vault = await open(uniqueName('sandbox-filter-forever'));
    await vault.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT); INSERT INTO events (kind) VALUES ('a'), ('b');");
    const filter = `id IN (${NEVER_ENDING.replace('max(x)', 'x')})`;
    const { outcome, slowestMs, answers } = await whilePinging(vault, async () => {
      const { backupId } = await vault.backup.create({ tables: { events: filter }, budget: { timeMs: 1_500 } });
      return vault.backup.wait(backupId);
    });
    expect(codeOf(outcome)).toBe('LIMIT_EXCEEDED');
    expect(answers).toBeGreaterThan(10);
    expect(slowestMs).toBeLessThan(1_000);
    const { backupId } = await vault.backup.create({ tables: { events: "kind = 'a'" } });
    expect((await vault.backup.wait(backupId)).tables).toEqual([{ name: 'events', rows: 1 }]);
    await vault.close();
  });

  it('a .sqlite.gz bomb is refused with LIMIT_EXCEEDED once it passes what its SQLite header declares', async () => {
    const vault = await open(uniqueName('sandbox-bomb'));
    await vault.exec('CREATE TABLE t (x)');
    const info = await vault.backup.wait((await vault.backup.create()).backupId);
    const image = new Uint8Array(await (await vault.backup.download(info.backupId, { format: 'sqlite' })).blob.arrayBuffer());
    const parts: Uint8Array[] = [];
    const gzip = new Gzip({ level: 9 }, (chunk) => void parts.push(chunk));
    gzip.push(image);
    const zeros = new Uint8Array(1 << 20);
    for (let i = 0; i < 64; i++) gzip.push(zeros);
    gzip.push(new Uint8Array(0), true);
    const bomb = new Blob(parts as BlobPart[]);
    const started = performance.now();
    await rejectsWith(vault.backup.upload(bomb), 'LIMIT_EXCEEDED');
    await rejectsWith(vault.backup.inspect(bomb), 'LIMIT_EXCEEDED');
    console.log(`gzip bomb of ${bomb.size} bytes refused twice in ${Math.round(performance.now() - started)} ms`);
    await vault.close();
  });
});

interface ShellCase {
  readonly label: string;
  readonly script: string;
  readonly query: string;
}

const SHELL_CASES: ShellCase[] = [
  {
    label: 'WAL mode',
    script: "PRAGMA journal_mode=WAL; CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two'); PRAGMA wal_checkpoint(TRUNCATE);",
    query: 'SELECT a, b FROM t ORDER BY a',
  },
  {
    label: 'STRICT, WITHOUT ROWID, generated columns, AUTOINCREMENT, triggers, views',
    script: `CREATE TABLE s (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, score REAL) STRICT;
      CREATE TABLE w (k TEXT PRIMARY KEY, v ANY) STRICT, WITHOUT ROWID;
      CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) STORED, c TEXT GENERATED ALWAYS AS ('#' || a) VIRTUAL);
      CREATE INDEX g_b ON g (b);
      CREATE TABLE log (msg TEXT);
      CREATE TRIGGER s_log AFTER INSERT ON s BEGIN INSERT INTO log VALUES ('added ' || new.name); END;
      CREATE VIEW high AS SELECT name FROM s WHERE score > 1;
      INSERT INTO s (name, score) VALUES ('x', 1.5), ('y''s', -2.0), ('line
break', 0.25);
      INSERT INTO w VALUES ('a', 1), ('b', 'two'), ('c', 3.5);
      INSERT INTO g (a) VALUES (1), (2), (3);
      ANALYZE;`,
    query: `SELECT 's' AS t, id AS k, name || ':' || score AS v FROM s UNION ALL SELECT 'w', k, v FROM w UNION ALL SELECT 'g', a, b || c FROM g
      UNION ALL SELECT 'log', rowid, msg FROM log UNION ALL SELECT 'view', 0, name FROM high UNION ALL SELECT 'seq', seq, name FROM sqlite_sequence ORDER BY 1, 2, 3`,
  },
  {
    label: '64 KiB pages with auto_vacuum',
    script: `PRAGMA page_size = 65536; PRAGMA auto_vacuum = FULL;
      CREATE TABLE big (x BLOB);
      INSERT INTO big SELECT randomblob(3000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300) SELECT i FROM c);
      DELETE FROM big WHERE rowid % 3 = 0;`,
    query: 'SELECT rowid AS r, hex(substr(x, 1, 12)) AS h, length(x) AS n FROM big ORDER BY rowid',
  },
  {
    label: 'FTS3 and FTS4',
    script: "CREATE VIRTUAL TABLE f USING fts4(body); INSERT INTO f VALUES ('hello world'), ('goodbye moon'); CREATE VIRTUAL TABLE g USING fts3(x); INSERT INTO g VALUES ('alpha beta');",
    query: "SELECT rowid AS r, body FROM f WHERE f MATCH 'hello' UNION ALL SELECT rowid, x FROM g WHERE g MATCH 'beta'",
  },
];

describe('databases written by the sqlite3 shell', () => {
  for (const shellCase of SHELL_CASES) {
    it(`${shellCase.label}: .sqlite, .sqlite.gz and .dump restore to what sqlite3 sees`, async () => {
      const made = await commands.sqlite3Make(shellCase.script, shellCase.query);
      for (const [format, base64] of [['sqlite', made.sqlite], ['sqlite.gz', made.gz], ['sql', made.sql]] as const) {
        // What sqlite3 sees in this very file (a replayed .dump renumbers rowids the dump leaves out).
        const expected: unknown = JSON.parse((await commands.sqlite3(format, base64, shellCase.query)) || '[]');
        const vault = await open(uniqueName(`shell-${format}`));
        const { backupId } = await vault.backup.upload(new Blob([fromBase64(base64)]));
        await vault.backup.restore({ backupId });
        expect(await vault.query(shellCase.query), `${shellCase.label} as ${format}`).toEqual(expected);
        await vault.exec('CREATE TABLE written_after (x); INSERT INTO written_after VALUES (1);');
        await vault.flush();
        await vault.close();
      }
    });
  }

  it('an FTS5 table is refused at upload and inspect with UNSUPPORTED_FEATURE naming fts5, in every format', async () => {
    const made = await commands.sqlite3Make("CREATE VIRTUAL TABLE f USING fts5(body); INSERT INTO f VALUES ('hello');", 'SELECT count(*) AS n FROM f');
    const vault = await open(uniqueName('shell-fts5'));
    for (const base64 of [made.sqlite, made.gz, made.sql]) {
      const refused = await rejectsWith(vault.backup.upload(new Blob([fromBase64(base64)])), 'UNSUPPORTED_FEATURE');
      expect(refused.details['feature']).toBe('fts5');
      await rejectsWith(vault.backup.inspect(new Blob([fromBase64(base64)])), 'UNSUPPORTED_FEATURE');
    }
    expect(await vault.backup.list()).toEqual([]);
    await vault.close();
  });

  it('inspect of a damaged raw file rejects as upload does', async () => {
    const made = await commands.sqlite3Make("CREATE TABLE t (a TEXT); CREATE INDEX t_a ON t (a); INSERT INTO t SELECT hex(randomblob(40)) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400) SELECT i FROM c);", 'SELECT 1');
    const bytes = fromBase64(made.sqlite);
    // An invalid b-tree page type on every page after the first: structure, not the file header.
    for (let page = 1; page < bytes.length / 4096; page++) bytes[page * 4096] = 0x5a;
    const vault = await open(uniqueName('shell-damaged'));
    const upload = await rejectsWith(vault.backup.upload(new Blob([bytes])), 'CORRUPT');
    const inspect = await rejectsWith(vault.backup.inspect(new Blob([bytes])), upload.code);
    expect(inspect.code).toBe('CORRUPT');
    await vault.close();
  });
});
