/**
 * The engine facade: everything jobs and the CLI do with SQLite, without a sql.js type in sight.
 * Work on the live connection (page copies, `VACUUM INTO`, table restores, dumps of our own
 * backups) runs here; work on bytes or SQL from elsewhere (checks of uploads, restores and
 * verifications, SQL dumps, partial-backup filters) runs in the sandbox (./sandbox/host.ts).
 */
import type { SqlValue } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { TableCount } from '../../src/protocol';
import { dumpSql as dumpDatabase } from './sql-dump';
import { PageCopy, vacuumCopy as vacuumDatabase, type StepOutcome } from './page-copy';
import { replaceTables as replaceInto } from './partial-copy';
import { optionalInteger } from '../validate';
import { DEFAULT_BUDGET, sandboxOf } from './sandbox/host';
import type { ImageCheck, SandboxBudget, SchemaRow, TablePlan } from './sandbox/protocol';
import { databaseOf, loadSqlite, sqlJsOf, SqliteConnection, type SqlEngine } from './sqlite';

export { checkFilterText } from './filter-check';
export { DEFAULT_BUDGET, loadSqlite, SqliteConnection };
export type { ImageCheck, SandboxBudget, SqlEngine, StepOutcome, TablePlan };

/** A copy of a database: its image and its tables. */
export interface CopiedImage {
  readonly image: Uint8Array;
  readonly tables: TableCount[];
}

/** A page copy in progress: `step()` until `done`, then `result()`; always `close()`. */
export interface PageCopyJob {
  readonly pagesDone: number;
  readonly pagesTotal: number;
  step(): StepOutcome;
  result(): CopiedImage;
  close(): void;
}

/** Starts a page-copy backup of `conn` (SQLite's online backup API), `pagesPerStep` pages a step. */
export function pageCopy(conn: SqliteConnection, pagesPerStep: number): PageCopyJob {
  return new PageCopy(sqlJsOf(conn.engine), databaseOf(conn), pagesPerStep);
}

/** A compacted copy of `conn` (`VACUUM INTO` a scratch file), in one synchronous call. */
export function vacuumCopy(conn: SqliteConnection): CopiedImage {
  return vacuumDatabase(sqlJsOf(conn.engine), databaseOf(conn));
}

/**
 * Replaces tables of `conn` with the same tables of a checked backup image, in one transaction.
 * @throws INVALID_ARGUMENT when a table is not in the image; SQLITE when SQLite refuses (rolled back).
 */
export function replaceTables(conn: SqliteConnection, image: Uint8Array, names: readonly string[]): TableCount[] {
  return replaceInto(conn, image, names);
}

/**
 * Writes a SQL dump of an image of ours (a stored backup), in parts of a few hundred KB.
 * @throws CORRUPT, SQLITE
 */
export async function dumpSql(engine: SqlEngine, image: Uint8Array, emit: (part: string) => void, pause: () => Promise<void>): Promise<void> {
  const db = new (sqlJsOf(engine).Database)(image);
  try {
    await dumpDatabase(db, emit, pause);
  } finally {
    db.close();
  }
}

/** The budget of one sandbox call: the defaults, with what the caller overrides. */
export function budgetOf(override: Partial<SandboxBudget> = {}): SandboxBudget {
  return { ...DEFAULT_BUDGET, ...override };
}

/**
 * Checks a `budget` option (`{ timeMs?, memoryBytes? }`).
 * @throws INVALID_ARGUMENT
 */
export function checkBudget(value: unknown): Partial<SandboxBudget> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'budget must be an object { timeMs?, memoryBytes? }.', { argument: 'budget' });
  const { timeMs, memoryBytes } = value as Record<string, unknown>;
  const time = optionalInteger(timeMs, 'budget.timeMs', 1, 3_600_000);
  const memory = optionalInteger(memoryBytes, 'budget.memoryBytes', 1 << 20, 2 ** 31);
  return { ...(time === undefined ? {} : { timeMs: time }), ...(memory === undefined ? {} : { memoryBytes: memory }) };
}

/** The slowest rate the default time budget of an image check allows for (1 s per 8 MiB). */
const CHECK_BYTES_PER_SECOND = 8 * 1024 * 1024;

/** A buffer that owns exactly its bytes, so it can be transferred. */
function transferable(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/**
 * Checks an image in the sandbox: header, `integrity_check`, `foreign_key_check`, row counts; with
 * `usable` (uploads), also that this SQLite reads every table and can write the database. The
 * image is moved to the sandbox and back: use the returned one (a WAL-mode upload comes back in
 * rollback-journal mode).
 * @throws NOT_SQLITE, UNSUPPORTED_FEATURE, CORRUPT (usable: not writable), LIMIT_EXCEEDED
 */
export async function checkImage(engine: SqlEngine, image: Uint8Array, options: { usable?: boolean; budget?: Partial<SandboxBudget> } = {}): Promise<{ check: ImageCheck; image: Uint8Array }> {
  const own = transferable(image);
  // integrity_check reads every page: a large database gets the time it needs by default.
  const budget = budgetOf({ timeMs: Math.max(DEFAULT_BUDGET.timeMs, Math.ceil(own.byteLength / CHECK_BYTES_PER_SECOND) * 1000), ...options.budget });
  return sandboxOf(engine).run({ op: 'check', image: own, usable: options.usable === true }, budget, [own.buffer as ArrayBuffer]);
}

/**
 * Replays a SQL dump in the sandbox, through the allow-list of what dumps hold, into a new image.
 * @throws NOT_SQLITE (a statement SQLite rejects or a dump does not hold), LIMIT_EXCEEDED
 */
export async function runSqlDump(engine: SqlEngine, text: string, budget?: Partial<SandboxBudget>): Promise<Uint8Array> {
  return (await sandboxOf(engine).run({ op: 'replay', text }, budgetOf(budget))).image;
}

/**
 * Checks table names and filters against the live schema, in the sandbox (compiled, never run).
 * Returns the plans with canonical table names.
 * @throws INVALID_ARGUMENT
 */
export async function resolvePlans(conn: SqliteConnection, plans: readonly TablePlan[], budget?: Partial<SandboxBudget>): Promise<TablePlan[]> {
  const rows = databaseOf(conn).exec("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")[0]?.values ?? [];
  const schema = rows.map((r: SqlValue[]) => r.map(String) as unknown as SchemaRow);
  return [...(await sandboxOf(conn.engine).run({ op: 'plans', schema, plans }, budgetOf(budget))).plans];
}

/**
 * Copies the chosen tables and rows of `image` (a copy of the live database) into a new database,
 * in the sandbox: filters are evaluated there, on a read-only copy.
 * @throws INVALID_ARGUMENT, LIMIT_EXCEEDED
 */
export async function partialCopy(engine: SqlEngine, image: Uint8Array, plans: readonly TablePlan[], budget?: Partial<SandboxBudget>): Promise<CopiedImage> {
  const own = transferable(image);
  const result = await sandboxOf(engine).run({ op: 'partial', image: own, plans }, budgetOf(budget), [own.buffer as ArrayBuffer]);
  return { image: result.image, tables: [...result.tables] };
}

/**
 * Row counts of an image's tables after the same checks as `checkImage` (the CLI's entry).
 * @throws CORRUPT when integrity_check reports a problem; NOT_SQLITE, UNSUPPORTED_FEATURE, LIMIT_EXCEEDED
 */
export async function checkedTables(image: Uint8Array): Promise<TableCount[]> {
  const { check } = await checkImage(await loadSqlite(), image);
  if (check.integrity !== 'ok') {
    throw new PagevaultError(ErrorCode.CORRUPT, `integrity_check failed: ${check.integrity}`, {});
  }
  return [...check.tables];
}
