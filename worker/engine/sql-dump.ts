/**
 * SQL text dumps: writing one that the `sqlite3` shell replays to the same content, and running
 * one (an upload) in a scratch database only, within time and size limits.
 *
 * Invariants:
 * - A dump holds the schema (tables, then indexes, triggers and views), every row with exact
 *   values (integers, reals via their shortest round-trip text, text quoted, blobs as X'..'),
 *   `sqlite_sequence` and `user_version`, inside one transaction.
 * - Running a dump never touches the live database: it runs in the sandbox, in a fresh scratch
 *   connection, one statement at a time, each checked against an allow-list of what dumps hold
 *   (./dump-allow.ts); a time, memory or size budget exceeded is `LIMIT_EXCEEDED`.
 */
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
import { checkDumpStatement, type DumpState } from './dump-allow';
import { featureError, limitError, openScratch, type ScratchLimits } from './scratch';
import { quoteIdentifier, sqliteError } from './sqlite';

/** Rows fetched per yield while dumping. */
const ROWS_PER_PART = 2000;

function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    if (Number.isNaN(value)) return 'NULL';
    if (!Number.isFinite(value)) return value > 0 ? '9e999' : '-9e999';
    // Keep a real a real: 1.0 must not come back as the integer 1.
    const text = String(value);
    return /[.e]/i.test(text) ? text : `${text}.0`;
  }
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  let hex = '';
  for (const byte of value) hex += byte.toString(16).padStart(2, '0');
  return `X'${hex}'`;
}

/**
 * Writes a SQL dump of `db`, calling `emit` with text parts of a few hundred KB (so a large dump
 * becomes a Blob without one giant string).
 */
export async function dumpSql(db: Database, emit: (part: string) => void, pause: () => Promise<void>): Promise<void> {
  try {
    const userVersion = Number(db.exec('PRAGMA user_version')[0]?.values[0]?.[0] ?? 0);
    emit('PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n');
    const schema = db.exec("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")[0]?.values ?? [];
    const tables = schema.filter(([type]) => type === 'table');
    for (const [, name, sql] of tables) {
      const table = String(name);
      emit(`${String(sql)};\n`);
      // Explicit rowids keep tables without INTEGER PRIMARY KEY identical (VACUUM may renumber them).
      let stmt: Statement;
      try {
        stmt = db.prepare(`SELECT rowid, * FROM ${quoteIdentifier(table)}`);
      } catch {
        await dumpRows(db, table, false, emit, pause); // WITHOUT ROWID: no rowid column
        continue;
      }
      stmt.free();
      await dumpRows(db, table, true, emit, pause);
    }
    const hasSequence = (db.exec("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'")[0]?.values.length ?? 0) > 0;
    const sequence = hasSequence ? (db.exec('SELECT name, seq FROM sqlite_sequence')[0]?.values ?? []) : [];
    if (sequence.length > 0) {
      emit('DELETE FROM sqlite_sequence;\n');
      for (const [name, seq] of sequence) emit(`INSERT INTO sqlite_sequence(name,seq) VALUES(${literal(name ?? null)},${literal(seq ?? null)});\n`);
    }
    for (const [type, , sql] of schema) if (type !== 'table') emit(`${String(sql)};\n`);
    if (userVersion !== 0) emit(`PRAGMA user_version=${userVersion};\n`);
    emit('COMMIT;\n');
  } catch (error) {
    throw sqliteError(error);
  }
}

async function dumpRows(db: Database, table: string, withRowid: boolean, emit: (part: string) => void, pause: () => Promise<void>): Promise<void> {
  const stmt = db.prepare(`SELECT ${withRowid ? 'rowid, ' : ''}* FROM ${quoteIdentifier(table)}`);
  try {
    const columns = stmt.getColumnNames().slice(withRowid ? 1 : 0).map(quoteIdentifier);
    const head = `INSERT INTO ${quoteIdentifier(table)}(${withRowid ? 'rowid,' : ''}${columns.join(',')}) VALUES(`;
    let part = '';
    let rows = 0;
    while (stmt.step()) {
      part += head + stmt.get().map(literal).join(',') + ');\n';
      if (++rows % ROWS_PER_PART === 0) {
        emit(part);
        part = '';
        await pause();
      }
    }
    emit(part);
  } finally {
    stmt.free();
  }
}

/**
 * Runs a SQL dump in a fresh scratch database and returns its image. Each statement, as SQLite
 * splits the text, must pass the allow-list (./dump-allow.ts) before it runs. The deadline is
 * checked between statements; in the sandbox worker a statement that never ends is stopped by
 * terminating the worker (./sandbox/host.ts).
 * @throws LIMIT_EXCEEDED (time, memory or size), NOT_SQLITE (a statement SQLite rejects, or one
 *   a dump does not hold), UNSUPPORTED_FEATURE (a virtual table module this build lacks).
 */
export async function runSqlDump(sql: SqlJsStatic, text: string, limits: ScratchLimits, pause: () => Promise<void>): Promise<Uint8Array> {
  const { budget } = limits;
  const db = openScratch(sql, undefined, limits);
  const deadline = performance.now() + budget.timeMs;
  const overTime = () =>
    new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The SQL file ran longer than its budget of ${budget.timeMs} ms.`, { timeoutMs: budget.timeMs });
  const state: DumpState = { writableSchema: false };
  let statements = 0;
  try {
    for (const stmt of db.iterateStatements(text)) {
      try {
        checkDumpStatement(stmt.getSQL(), state);
        while (stmt.step()) {
          // Rows of SELECTs in a dump are ignored.
        }
      } finally {
        stmt.free();
      }
      if (performance.now() > deadline) throw overTime();
      if (++statements % 500 === 0) await pause();
    }
    // A dump that ends inside its transaction was cut off (an interrupted download): refused,
    // never accepted as whatever part of it ran (restoring that would empty the live database).
    let unfinished = true;
    try {
      db.exec('ROLLBACK');
    } catch {
      unfinished = false; // no transaction was open: the dump committed what it wrote
    }
    if (unfinished) {
      throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The SQL file ends inside a transaction (BEGIN without COMMIT): it looks cut off. Download or export it again.', {});
    }
    db.exec('PRAGMA writable_schema = OFF;');
    return db.export();
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    const typed = limitError(error, budget) ?? featureError(error);
    if (typed) throw typed;
    throw new PagevaultError(ErrorCode.NOT_SQLITE, `The SQL file does not replay: ${sqliteError(error).message}`, {});
  } finally {
    db.close();
  }
}
