/**
 * The live SQLite connection (sql.js, WebAssembly) and the engine handle jobs pass around.
 * sql.js types stay inside `worker/engine/`: outside it, an engine is an opaque `SqlEngine` and a
 * connection a `SqliteConnection`; jobs reach the rest through the facade (./index.ts).
 *
 * Invariants:
 * - `exportImage()` never returns a half transaction: sql.js refuses to export while a write
 *   transaction is open, and we turn that into `BUSY`.
 * - Every sql.js failure leaves this module as a `PagevaultError` (`SQLITE`, `CORRUPT`, `BUSY`).
 */
import initSqlJs, { type BindParams, type Database, type SqlJsStatic, type Statement } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { ExecResult, Row, SqlParams, SqlValue, TableCount } from '../../src/protocol';

declare const engineBrand: unique symbol;

/** A loaded SQLite (one sql.js WebAssembly instance), opaque outside the engine. */
export interface SqlEngine {
  readonly [engineBrand]: true;
  /** Where the WebAssembly came from (the sandbox loads its own instance from the same place). */
  readonly wasmUrl: string | undefined;
}

const statics = new WeakMap<SqlEngine, SqlJsStatic>();
let modulePromise: Promise<SqlEngine> | undefined;

/** Loads sql.js once per worker. `wasmUrl` is where the browser fetches `sql-wasm.wasm`; Node finds it itself. */
export function loadSqlite(wasmUrl?: string): Promise<SqlEngine> {
  modulePromise ??= loadSqlJs(wasmUrl).then((sql) => {
    const engine = { wasmUrl } as SqlEngine;
    statics.set(engine, sql);
    return engine;
  });
  const loading = modulePromise;
  loading.catch(() => {
    if (modulePromise === loading) modulePromise = undefined;
  });
  return loading;
}

/** Loads an sql.js instance (sql.js itself keeps one per realm). */
export function loadSqlJs(wasmUrl?: string): Promise<SqlJsStatic> {
  return initSqlJs(wasmUrl ? { locateFile: () => wasmUrl } : undefined).catch((error: unknown) => {
    throw new PagevaultError(ErrorCode.INTERNAL, `Could not load SQLite (sql.js WebAssembly) from ${wasmUrl ?? 'its default location'}: ${String(error)}`, {
      wasmUrl: wasmUrl ?? null,
    });
  });
}

/** The sql.js instance behind an engine. Engine-internal. */
export function sqlJsOf(engine: SqlEngine): SqlJsStatic {
  const sql = statics.get(engine);
  if (!sql) throw new PagevaultError(ErrorCode.INTERNAL, 'This SQLite engine was not made by loadSqlite().', {});
  return sql;
}

const handles = new WeakMap<SqliteConnection, Database>();

/** The sql.js handle of a connection (page copies and table restores need it). Engine-internal. */
export function databaseOf(conn: SqliteConnection): Database {
  const db = handles.get(conn);
  if (!db) throw new PagevaultError(ErrorCode.CLOSED, 'The database is closed.', {});
  return db;
}

/** Turns an sql.js error (an Error, or sometimes a bare string) into a typed one. */
export function sqliteError(error: unknown, sql?: string): PagevaultError {
  if (error instanceof PagevaultError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const details = sql === undefined ? {} : { sql: sql.slice(0, 200) };
  if (/malformed|not a database|file is encrypted/i.test(message)) {
    return new PagevaultError(ErrorCode.CORRUPT, `SQLite reports a damaged database: ${message}`, details);
  }
  if (/busy or locked|database is locked|within a transaction/i.test(message)) {
    return new PagevaultError(ErrorCode.BUSY, `SQLite is busy: ${message}. Finish the open transaction first.`, details);
  }
  return new PagevaultError(ErrorCode.SQLITE, message, details);
}

/** A SQLite connection with the small, typed surface the worker needs. */
/** Connection-level settings an app may change that a restore's new connection must keep. */
const CONNECTION_PRAGMAS = [
  'foreign_keys',
  'recursive_triggers',
  'reverse_unordered_selects',
  'automatic_index',
  'ignore_check_constraints',
  'secure_delete',
  'cell_size_check',
  'trusted_schema',
  'cache_size',
  'temp_store',
] as const;

/** The schema number of TEMP in EXPLAIN's P1 (0 is main, 2 and up are attached databases). */
const TEMP_DATABASE = 1;

/** Opcodes that change more than rows: transactions, savepoints, the schema, journal modes, vacuum. */
const STATE_OPCODES = new Set(['AutoCommit', 'Savepoint', 'Vacuum', 'IncrVacuum', 'JournalMode', 'ParseSchema', 'VCreate', 'VDestroy', 'Expire']);
/** Whitespace and comments before a statement's first keyword. */
const LEADING_COMMENTS = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
/** Thrown inside `queryIfReading` at a statement that is not a plain read. */
const NOT_A_READ = Symbol('not a plain read');

export class SqliteConnection {
  private constructor(
    readonly engine: SqlEngine,
    private db: Database,
  ) {
    handles.set(this, db);
  }

  /** Opens an image (or a new empty database when `image` is absent or empty). */
  static open(engine: SqlEngine, image?: Uint8Array): SqliteConnection {
    const sql = sqlJsOf(engine);
    try {
      return new SqliteConnection(engine, new sql.Database(image && image.byteLength > 0 ? image : undefined));
    } catch (error) {
      throw sqliteError(error);
    }
  }

  /** Runs one or more statements; parameters are bound to each statement that has them. */
  exec(sql: string, params?: SqlParams): ExecResult {
    try {
      this.eachStatement(sql, params, (stmt) => {
        while (stmt.step()) {
          // Rows of a write statement (e.g. RETURNING) are not needed here.
        }
      });
      return { changes: this.db.getRowsModified(), lastInsertRowid: this.scalar('SELECT last_insert_rowid()') };
    } catch (error) {
      throw sqliteError(error, sql);
    }
  }

  /**
   * Runs the statements and returns the rows of the last one that produced rows. `beforeWrite`
   * runs before each statement that may change the database file (see `writesFile`); it may throw
   * to refuse the statement, or note that the file changed. A statement that changed rows or the
   * schema from where EXPLAIN does not look (a function or virtual table writing from inside, such
   * as FTS `optimize()`) is noted afterwards: `beforeWrite` runs once it is done.
   */
  query(sql: string, params?: SqlParams, beforeWrite?: () => void): Row[] {
    try {
      let rows: Row[] = [];
      this.eachStatement(sql, params, (stmt) => {
        // A statement that writes TEMP only changes rows outside the file: not counted by the mark.
        const writes = beforeWrite === undefined ? 'no' : this.writesFile(stmt);
        if (writes === 'file') beforeWrite!();
        const before = writes === 'no' && beforeWrite ? this.changeMark() : undefined;
        const found: Row[] = [];
        while (stmt.step()) found.push(stmt.getAsObject() as Row);
        if (found.length > 0 || stmt.getColumnNames().length > 0) rows = found;
        if (before !== undefined && this.changeMark() !== before) beforeWrite!();
      });
      return rows;
    } catch (error) {
      throw sqliteError(error, sql);
    }
  }

  /**
   * Runs `sql` when every statement is a plain read: a `SELECT`, `WITH` or `VALUES` whose program
   * opens no write transaction on any database (TEMP included) and controls no transaction, run
   * under `PRAGMA query_only` so that a write EXPLAIN cannot show (a function or a virtual table
   * writing from inside, e.g. FTS `optimize()`, `pragma_optimize`) fails instead of landing.
   * Returns undefined at the first statement that is not, or on any error (the text may compile
   * only against another schema), having changed nothing: the caller runs the whole text again the
   * usual way.
   */
  queryIfReading(sql: string, params?: SqlParams): Row[] | undefined {
    const queryOnly = this.scalar('PRAGMA query_only');
    let rows: Row[] | undefined = [];
    try {
      this.db.exec('PRAGMA query_only = ON');
      this.eachStatement(sql, params, (stmt) => {
        if (!this.onlyReads(stmt)) throw NOT_A_READ;
        const found: Row[] = [];
        while (stmt.step()) found.push(stmt.getAsObject() as Row);
        if (found.length > 0 || stmt.getColumnNames().length > 0) rows = found;
      });
    } catch {
      rows = undefined;
    } finally {
      this.db.exec(`PRAGMA query_only = ${queryOnly ? 'ON' : 'OFF'}`);
    }
    // Nothing here can open one (a swap starts with none open); should it ever, it is not kept.
    if (this.inTransaction()) {
      this.db.exec('ROLLBACK');
      return undefined;
    }
    return rows;
  }

  /** The first column of the first row, as a number. */
  scalar(sql: string): number {
    const result = this.db.exec(sql);
    const value = result[0]?.values[0]?.[0];
    return typeof value === 'number' ? value : Number(value ?? 0);
  }

  /** Rows changed since the connection opened and the schema's version: a change moves it. */
  private changeMark(): string {
    return `${this.totalChanges()}:${this.scalar('PRAGMA schema_version')}`;
  }

  /** Number of rows changed by all statements since the connection opened. */
  totalChanges(): number {
    return this.scalar('SELECT total_changes()');
  }

  /** True while an explicit transaction is open on this connection. */
  inTransaction(): boolean {
    // sql.js does not export sqlite3_get_autocommit; BEGIN fails exactly when a transaction is open.
    try {
      this.db.exec('BEGIN');
    } catch {
      return true;
    }
    this.db.exec('ROLLBACK');
    return false;
  }

  get pageSize(): number {
    return this.scalar('PRAGMA page_size');
  }

  get pageCount(): number {
    return this.scalar('PRAGMA page_count');
  }

  /**
   * The database file's bytes, as of the last commit.
   * @throws BUSY while a write transaction is open.
   */
  exportImage(): Uint8Array {
    try {
      return this.db.export();
    } catch (error) {
      throw sqliteError(error);
    }
  }

  /** User tables with their row counts, by name. */
  tables(): TableCount[] {
    return tableCounts(this.db);
  }

  /**
   * Takes over `next`'s database and closes this one's. Never throws: a restore opens (and may
   * fail to open) the new connection before it commits, then adopts it after the commit.
   */
  adopt(next: SqliteConnection): void {
    const old = this.db;
    // Settings the app made on this connection (e.g. `PRAGMA foreign_keys = ON`) live in the
    // connection, not the file: carry them over, or a restore would silently turn them off.
    for (const pragma of CONNECTION_PRAGMAS) {
      try {
        const value = Number(old.exec(`PRAGMA ${pragma}`)[0]?.values[0]?.[0]);
        if (Number.isFinite(value)) next.db.exec(`PRAGMA ${pragma} = ${value}`);
      } catch {
        // A setting this build does not know: nothing to carry.
      }
    }
    this.db = next.db;
    handles.set(this, this.db);
    try {
      old.close();
    } catch {
      // The old database is gone either way; nothing of it is needed any more.
    }
  }

  /** Rolls back an open transaction, if any (close() keeps what was committed before it). */
  rollback(): void {
    if (!this.inTransaction()) return;
    try {
      this.db.exec('ROLLBACK');
    } catch (error) {
      throw sqliteError(error, 'ROLLBACK');
    }
  }

  close(): void {
    this.db.close();
    handles.delete(this);
  }

  /** See `queryIfReading`: the text's first keyword, then the program's opcodes. */
  private onlyReads(stmt: Statement): boolean {
    const text = stmt.getSQL().replace(LEADING_COMMENTS, '');
    if (!/^(?:SELECT|WITH|VALUES)\b/i.test(text)) return false;
    try {
      const program = this.db.prepare(`EXPLAIN ${text}`);
      try {
        while (program.step()) {
          const [, opcode, , p2] = program.get();
          if ((opcode === 'Transaction' && Number(p2) >= 1) || STATE_OPCODES.has(String(opcode))) return false;
        }
        return true;
      } finally {
        program.free();
      }
    } catch {
      return false;
    }
  }

  /**
   * Whether `stmt` may change the database file (`'file'`), only TEMP (`'temp'`) or neither
   * (`'no'`), as SQLite's own compiler says: its program (`EXPLAIN`) opens a write transaction on
   * any database but TEMP (rows, schema, ANALYZE, REINDEX, `PRAGMA user_version`, writes by
   * triggers; an attached database counts too, since it may be the live file under another name),
   * vacuums, or changes a journal mode. `PRAGMA optimize` and `pragma_optimize` may run ANALYZE
   * from inside, where EXPLAIN does not show it: they count (other writes from inside are caught
   * afterwards, see `query`). A statement that cannot be explained counts as a write. Not cached:
   * whether a statement writes depends on the schema (a name may be a TEMP table now and a main
   * one later). Costs one more compile.
   */
  private writesFile(stmt: Statement): 'file' | 'temp' | 'no' {
    const text = stmt.getSQL();
    if (/^\s*EXPLAIN\b/i.test(text)) return 'no'; // shows a program, never runs it
    if (/^\s*PRAGMA\s+(?:\w+\s*\.\s*)?optimize\b/i.test(text) || /\bpragma_optimize\b/i.test(text)) return 'file';
    try {
      const program = this.db.prepare(`EXPLAIN ${text}`);
      try {
        let temp = false;
        while (program.step()) {
          const [, opcode, database, p2] = program.get();
          const writes = (opcode === 'Transaction' && Number(p2) >= 1) || opcode === 'Vacuum' || opcode === 'IncrVacuum' || opcode === 'JournalMode';
          if (writes && database === TEMP_DATABASE) temp = true;
          else if (writes) return 'file';
        }
        return temp ? 'temp' : 'no';
      } finally {
        program.free();
      }
    } catch {
      return 'file'; // unknown, so assume it writes
    }
  }

  private eachStatement(sql: string, params: SqlParams | undefined, body: (stmt: Statement) => void): void {
    for (const stmt of this.db.iterateStatements(sql)) {
      try {
        if (params !== undefined && hasParameters(stmt, params)) stmt.bind(toBindParams(params));
        body(stmt);
      } finally {
        stmt.free();
      }
    }
  }
}

/**
 * Row counts of every user table of `db`'s main database (tables named `sqlite_%` are SQLite's own).
 * Both queries name `main`: a TEMP table or view of the same name would otherwise shadow the saved one.
 */
export function tableCounts(db: Database): TableCount[] {
  const names = db.exec("SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  return (names[0]?.values ?? []).map(([name]) => {
    const table = String(name);
    const count = db.exec(`SELECT count(*) FROM main.${quoteIdentifier(table)}`)[0]?.values[0]?.[0];
    return { name: table, rows: Number(count ?? 0) };
  });
}

/** Quotes a SQL identifier (table or column name). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Whether positional parameters apply to `stmt`. sql.js does not export
 * sqlite3_bind_parameter_count; binding one number fails exactly when the statement has no
 * parameter, so `BEGIN; INSERT ... VALUES (?); COMMIT` binds the INSERT only. Named parameters
 * always apply: sql.js skips names a statement does not use.
 */
function hasParameters(stmt: Statement, params: SqlParams): boolean {
  if (!Array.isArray(params)) return true;
  try {
    stmt.bind([0]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Named parameters may be given without their prefix (`{ id: 1 }`); SQLite needs one
 * (`:id`, `@id` or `$id`), so unprefixed names are bound under all three.
 */
function toBindParams(params: SqlParams): BindParams {
  if (Array.isArray(params)) return params as SqlValue[];
  const out: Record<string, SqlValue> = {};
  for (const [key, value] of Object.entries(params as Record<string, SqlValue>)) {
    if (/^[:@$]/.test(key)) out[key] = value;
    else {
      out[`:${key}`] = value;
      out[`@${key}`] = value;
      out[`$${key}`] = value;
    }
  }
  return out as BindParams;
}
