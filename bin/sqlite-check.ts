/** What the CLI asks sql.js about an image: structural integrity and row counts (create, verify, extract). */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';
import { ErrorCode, PagevaultError } from '../src/errors';
import type { TableCount } from '../src/protocol';
// The same row counts the worker records in backups (user tables only, `sqlite\_%` escaped).
import { tableCounts as countTables } from '../worker/engine/sqlite';

let sql: Promise<SqlJsStatic> | undefined;

/** Opens the image in a scratch connection that runs nothing from the schema. */
async function withImage<T>(image: Uint8Array, use: (db: Database) => T): Promise<T> {
  const SQL = await (sql ??= initSqlJs());
  let db: Database;
  try {
    db = new SQL.Database(image);
    db.run('PRAGMA trusted_schema=OFF; PRAGMA query_only=ON;');
  } catch (error) {
    throw new PagevaultError(ErrorCode.CORRUPT, `SQLite cannot open the image: ${String(error)}`);
  }
  try {
    return use(db);
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    throw new PagevaultError(ErrorCode.CORRUPT, `SQLite rejected the image: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    db.close();
  }
}

/**
 * Runs `PRAGMA integrity_check` and counts the rows of every table.
 * @throws CORRUPT when the check reports anything but "ok" or SQLite cannot read the file.
 */
export function checkImage(image: Uint8Array): Promise<{ tables: TableCount[] }> {
  return withImage(image, (db) => {
    const rows = db.exec('PRAGMA integrity_check')[0]?.values.map((v) => String(v[0])) ?? [];
    if (rows.length !== 1 || rows[0] !== 'ok') {
      throw new PagevaultError(ErrorCode.CORRUPT, `integrity_check failed: ${rows.slice(0, 5).join('; ')}`);
    }
    return { tables: countTables(db) };
  });
}
