/**
 * Scratch connections on bytes that did not come from the live database, and the check of an
 * image before it may replace anything: SQLite's own checks, row counts and, for uploads, what the
 * app needs of a database (every table readable by this SQLite build, writable). Runs inside the
 * sandbox (./sandbox/), never on the live connection's instance when a worker is available.
 *
 * SQLite's checks are structural: a flipped bit in table data passes `integrity_check`. That is
 * why every stored chunk and every archive chunk is also checked against its SHA-256.
 */
import type { Database, SqlJsStatic } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
import { DEFAULT_MAX_IMAGE_BYTES } from '../../src/format/archive/layout';
import { parseSqliteHeader, SQLITE_HEADER_BYTES } from '../../src/format/sqlite-header';
import type { ImageCheck, SandboxBudget } from './sandbox/protocol';
import { sqliteError, tableCounts } from './sqlite';

export type { ImageCheck };

/** How a scratch connection is limited: `isolated` when the sql.js instance is the sandbox's own. */
export interface ScratchLimits {
  readonly budget: SandboxBudget;
  readonly isolated: boolean;
  /** Largest database file the work may build; the largest image pagevault accepts by default. */
  readonly maxFileBytes?: number;
}

/** Header bytes 18 and 19: the file format's write and read versions (1 rollback journal, 2 WAL). */
const WRITE_VERSION_AT = 18;
const READ_VERSION_AT = 19;

/**
 * Opens `image` (or an empty database) with `trusted_schema=OFF`. In the sandbox's own instance,
 * SQLite's heap is capped at the budget (`hard_heap_limit` is global to an instance, which is why
 * it is never set where the live connection shares the instance); files grow at most to the
 * largest image pagevault accepts.
 */
export function openScratch(sql: SqlJsStatic, image: Uint8Array | undefined, limits: ScratchLimits): Database {
  let db: Database;
  try {
    db = new sql.Database(image && image.byteLength > 0 ? image : undefined);
  } catch (error) {
    throw limitError(error, limits.budget) ?? sqliteError(error);
  }
  try {
    db.exec('PRAGMA trusted_schema = OFF;');
    if (limits.isolated) db.exec(`PRAGMA hard_heap_limit = ${Math.floor(limits.budget.memoryBytes)};`);
    const pageSize = Number(db.exec('PRAGMA page_size')[0]?.values[0]?.[0] ?? 4096);
    db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor((limits.maxFileBytes ?? DEFAULT_MAX_IMAGE_BYTES) / pageSize))};`);
  } catch (error) {
    db.close();
    throw limitError(error, limits.budget) ?? sqliteError(error);
  }
  return db;
}

/** LIMIT_EXCEEDED for SQLite's out-of-memory and file-full errors (the budget's caps), else undefined. */
export function limitError(error: unknown, budget: SandboxBudget): PagevaultError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!/out of memory|database or disk is full|string or blob too big/i.test(message)) return undefined;
  return new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The work ran past its memory budget of ${budget.memoryBytes} bytes or the ${DEFAULT_MAX_IMAGE_BYTES}-byte database limit (${message}).`, {
    memoryBytes: budget.memoryBytes,
  });
}

/**
 * UNSUPPORTED_FEATURE for "no such module: X" (a virtual table this SQLite build lacks) or an
 * unknown function (REGEXP, an application's own function) the schema calls, else undefined.
 */
export function featureError(error: unknown): PagevaultError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const fn = /(?:unknown|no such) function:? ([\w$]+)/i.exec(message)?.[1];
  if (fn) {
    return new PagevaultError(
      ErrorCode.UNSUPPORTED_FEATURE,
      `The database's schema calls the SQL function ${fn}() (in a generated column, CHECK, index, view or trigger), which this build of SQLite (sql.js) does not have: the app could not write to it. Remove that use before uploading.`,
      { feature: fn },
    );
  }
  const module = /no such module: ([\w$]+)/i.exec(message)?.[1];
  if (!module) return undefined;
  return new PagevaultError(
    ErrorCode.UNSUPPORTED_FEATURE,
    `The database uses the SQLite module "${module}" (a virtual table such as FTS5), which this build of SQLite (sql.js) does not include. Rebuild the table without it (FTS3/FTS4 work) before uploading.`,
    { feature: module },
  );
}

/**
 * A WAL-mode file (format versions 2/2) becomes a rollback-journal one (1/1). A single uploaded
 * file has no -wal beside it: what it holds is its content; and the live database must not keep
 * writes in a -wal file beside it. Versions SQLite cannot write are left for the write probe.
 */
function leaveWal(image: Uint8Array): void {
  if (image[WRITE_VERSION_AT] !== 2 || image[READ_VERSION_AT] !== 2) return;
  image[WRITE_VERSION_AT] = 1;
  image[READ_VERSION_AT] = 1;
}

/**
 * Runs the header check, `integrity_check` and `foreign_key_check` on `image` in a scratch
 * connection and counts rows. With `usable`, the image must also be a database the app can use:
 * every table readable by this SQLite and the database writable (a WAL-mode file is switched to
 * rollback journal, in place).
 * @throws NOT_SQLITE when the bytes are not a SQLite database (including a 0-byte image);
 *   UNSUPPORTED_FEATURE (a module this build lacks); CORRUPT (usable: not writable); LIMIT_EXCEEDED.
 */
export function checkImageOn(sql: SqlJsStatic, image: Uint8Array, usable: boolean, limits: ScratchLimits): ImageCheck {
  const header = parseSqliteHeader(image.subarray(0, SQLITE_HEADER_BYTES));
  const pageCount = image.byteLength / header.pageSize;
  if (image.byteLength % header.pageSize !== 0) {
    throw new PagevaultError(ErrorCode.CORRUPT, `The image is ${image.byteLength} bytes, not a whole number of ${header.pageSize}-byte pages.`, {
      sizeBytes: image.byteLength,
    });
  }
  if (usable) leaveWal(image);
  const facts = { pageSize: header.pageSize, pageCount, userVersion: header.userVersion };
  const db = openScratch(sql, image, limits);
  try {
    if (!usable) db.exec('PRAGMA query_only = ON;');
    const problems = db.exec('PRAGMA integrity_check(1)')[0]?.values ?? [];
    const integrity = String(problems[0]?.[0] ?? 'no answer from integrity_check');
    // A sound file whose CHECK or index calls a function this SQLite lacks is not corrupt.
    const missing = featureError(integrity);
    if (missing) throw missing;
    if (integrity !== 'ok') return { integrity, foreignKeys: 0, tables: [], ...facts };
    const foreignKeys = db.exec('PRAGMA foreign_key_check')[0]?.values.length ?? 0;
    const tables = tableCounts(db);
    if (usable) probeWrite(db);
    return { integrity, foreignKeys, tables, ...facts };
  } catch (error) {
    const typed = featureError(error) ?? limitError(error, limits.budget);
    if (typed) throw typed;
    if (error instanceof PagevaultError && error.code !== ErrorCode.SQLITE && error.code !== ErrorCode.CORRUPT) throw error;
    // A scratch connection that cannot even read the schema holds a damaged file.
    const message = error instanceof Error ? error.message : String(error);
    return { integrity: message, foreignKeys: 0, tables: [], ...facts, pageCount: 0 };
  } finally {
    db.close();
  }
}

/** Creates and drops a table inside a savepoint that is rolled back: the app will need to write. */
function probeWrite(db: Database): void {
  try {
    db.exec('SAVEPOINT pagevault_probe; CREATE TABLE "pagevault probe" (x); INSERT INTO "pagevault probe" VALUES (1);');
    // Compiling (never running) the writes the app will make to each table compiles its generated
    // columns, CHECK constraints, indexes on expressions and triggers too: a function they call
    // that this SQLite lacks fails here, not on the app's first insert after a restore.
    const tables = db.exec("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'")[0]?.values ?? [];
    for (const [name] of tables) {
      const table = `"${String(name).replaceAll('"', '""')}"`;
      for (const sql of [`INSERT INTO ${table} DEFAULT VALUES`, `UPDATE ${table} SET rowid = rowid`, `DELETE FROM ${table}`]) {
        try {
          db.prepare(sql).free();
        } catch (error) {
          // WITHOUT ROWID tables have no rowid to name: that UPDATE is not one the app could make.
          if (featureError(error)) throw error;
        }
      }
    }
    const views = db.exec("SELECT name FROM sqlite_schema WHERE type = 'view'")[0]?.values ?? [];
    for (const [name] of views) {
      try {
        db.prepare(`SELECT * FROM "${String(name).replaceAll('"', '""')}"`).free();
      } catch (error) {
        if (featureError(error)) throw error; // other view errors (a missing table) SQLite allows
      }
    }
  } catch (error) {
    const typed = featureError(error);
    if (typed) throw typed;
    throw new PagevaultError(ErrorCode.CORRUPT, `The database cannot be written to: ${error instanceof Error ? error.message : String(error)}`, {});
  } finally {
    try {
      db.exec('ROLLBACK TO pagevault_probe; RELEASE pagevault_probe;');
    } catch {
      // The savepoint was never opened.
    }
  }
}
