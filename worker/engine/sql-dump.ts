/**
 * SQL text dumps: writing one that the `sqlite3` shell replays to the same content, and running
 * one (an upload) in a scratch database only, within time and size limits.
 *
 * Invariants:
 * - A dump holds the schema (tables, then indexes, triggers and views), every row with exact
 *   values (integers, reals via their shortest round-trip text, text quoted, blobs as X'..'),
 *   `sqlite_sequence` and `user_version`, inside one transaction.
 * - Running a dump never touches the live database: it runs in a fresh scratch connection, one
 *   statement at a time; statements that reach outside it (ATTACH, DETACH, VACUUM INTO,
 *   load_extension) are refused; a time or size limit exceeded is `LIMIT_EXCEEDED`.
 */
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
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
      let stmt;
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

export interface SqlRunLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** Statements a dump may not run: they reach outside the scratch database. */
const FORBIDDEN = /^\s*(ATTACH|DETACH)\b|^\s*VACUUM\b[^;]*\bINTO\b|load_extension\s*\(/i;

/**
 * Runs a SQL dump in a fresh scratch database and returns its image.
 * @throws LIMIT_EXCEEDED (time or size), NOT_SQLITE (a statement SQLite rejects, or a forbidden one).
 */
export async function runSqlDump(sql: SqlJsStatic, text: string, limits: SqlRunLimits, pause: () => Promise<void>): Promise<Uint8Array> {
  const db = new sql.Database();
  const started = performance.now();
  let statements = 0;
  try {
    for (const stmt of db.iterateStatements(text)) {
      try {
        const source = stmt.getSQL();
        if (FORBIDDEN.test(source)) {
          throw new PagevaultError(ErrorCode.NOT_SQLITE, `The SQL file runs a statement that reaches outside its database: ${source.trim().slice(0, 80)}`, {});
        }
        while (stmt.step()) {
          // Rows of SELECTs in a dump are ignored.
        }
      } finally {
        stmt.free();
      }
      if (++statements % 500 === 0) {
        if (performance.now() - started > limits.timeoutMs) {
          throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The SQL file ran longer than ${limits.timeoutMs} ms.`, { timeoutMs: limits.timeoutMs });
        }
        const size = Number(db.exec('PRAGMA page_count')[0]?.values[0]?.[0] ?? 0) * Number(db.exec('PRAGMA page_size')[0]?.values[0]?.[0] ?? 0);
        if (size > limits.maxBytes) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The SQL file builds a database larger than ${limits.maxBytes} bytes.`, { maxBytes: limits.maxBytes });
        await pause();
      }
    }
    if (performance.now() - started > limits.timeoutMs) {
      throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The SQL file ran longer than ${limits.timeoutMs} ms.`, { timeoutMs: limits.timeoutMs });
    }
    // An unfinished transaction in the dump is rolled back, not half-kept.
    try {
      db.exec('ROLLBACK');
    } catch {
      // No transaction was open.
    }
    const image = db.export();
    if (image.byteLength > limits.maxBytes) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The SQL file builds a database larger than ${limits.maxBytes} bytes.`, { maxBytes: limits.maxBytes });
    return image;
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    const typed = sqliteError(error);
    throw new PagevaultError(ErrorCode.NOT_SQLITE, `The SQL file does not replay: ${typed.message}`, {});
  } finally {
    db.close();
  }
}
