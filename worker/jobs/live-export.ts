/**
 * The live database as a file (`.sqlite`, `.sqlite.gz` or `.sql`), straight from the in-memory
 * connection. It needs nothing from the store, so it still works when the store is gone (the
 * browser cleared the site's data while the vault was open): the app's last-chance download.
 */
import type { LiveDownloadOptions } from '../../src/protocol';
import type { SqliteConnection } from '../engine';
import { oneOf } from '../validate';
import { plainFileParts } from './plain-file';

const FORMATS = ['sqlite', 'sqlite.gz', 'sql'] as const;
const TYPES = { sqlite: 'application/octet-stream', 'sqlite.gz': 'application/gzip', sql: 'application/sql' } as const;

/**
 * The live database's committed state as a file named after the vault and the time.
 * @throws BUSY while a transaction is open (the file would hold half of it); INVALID_ARGUMENT.
 */
export async function liveFile(name: string, conn: SqliteConnection, options: LiveDownloadOptions): Promise<{ blob: Blob; filename: string }> {
  const format = oneOf(options?.format, 'format', FORMATS, 'sqlite');
  const now = Date.now();
  const stamp = new Date(now).toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  const filename = `${name}-live-${stamp}.${format}`;
  // From the exported copy: a dump yields between tables, and writes in between must not tear it.
  const parts = await plainFileParts(conn.engine, conn.exportImage(), format, `${name}.sqlite`, now);
  return { blob: new Blob(parts, { type: TYPES[format] }), filename };
}
