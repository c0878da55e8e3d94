/**
 * Checking an image before it may replace anything: open it in a scratch connection with
 * `trusted_schema=OFF` and no application functions, run SQLite's own checks, count rows.
 *
 * SQLite's checks are structural: a flipped bit in table data passes `integrity_check`. That is
 * why every stored chunk and every archive chunk is also checked against its SHA-256.
 */
import type { SqlJsStatic } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
import { parseSqliteHeader, SQLITE_HEADER_BYTES } from '../../src/format/sqlite-header';
import type { TableCount } from '../../src/protocol';
import { sqliteError, tableCounts } from './sqlite';

export interface ImageCheck {
  /** `'ok'` or the first problem `PRAGMA integrity_check` reports. */
  readonly integrity: string;
  /** Rows reported by `PRAGMA foreign_key_check`. */
  readonly foreignKeys: number;
  readonly tables: readonly TableCount[];
  readonly pageSize: number;
  readonly pageCount: number;
  readonly userVersion: number;
}

/**
 * Runs the header check, `integrity_check` and `foreign_key_check` on `image` in a scratch connection.
 * @throws NOT_SQLITE when the bytes are not a SQLite database (including a 0-byte image).
 */
export function checkImage(sql: SqlJsStatic, image: Uint8Array): ImageCheck {
  const header = parseSqliteHeader(image.subarray(0, SQLITE_HEADER_BYTES));
  if (image.byteLength % header.pageSize !== 0) {
    throw new PagevaultError(ErrorCode.CORRUPT, `The image is ${image.byteLength} bytes, not a whole number of ${header.pageSize}-byte pages.`, {
      sizeBytes: image.byteLength,
    });
  }
  const db = new sql.Database(image);
  try {
    db.exec('PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;');
    const problems = db.exec('PRAGMA integrity_check(1)')[0]?.values ?? [];
    const integrity = String(problems[0]?.[0] ?? 'no answer from integrity_check');
    if (integrity !== 'ok') return { integrity, foreignKeys: 0, tables: [], pageSize: header.pageSize, pageCount: image.byteLength / header.pageSize, userVersion: header.userVersion };
    const foreignKeys = db.exec('PRAGMA foreign_key_check')[0]?.values.length ?? 0;
    return { integrity, foreignKeys, tables: tableCounts(db), pageSize: header.pageSize, pageCount: image.byteLength / header.pageSize, userVersion: header.userVersion };
  } catch (error) {
    const typed = sqliteError(error);
    // A scratch connection that cannot even read the schema holds a damaged file.
    if (typed.code === ErrorCode.SQLITE || typed.code === ErrorCode.CORRUPT) return { integrity: typed.message, foreignKeys: 0, tables: [], pageSize: header.pageSize, pageCount: 0, userVersion: header.userVersion };
    throw typed;
  } finally {
    db.close();
  }
}
