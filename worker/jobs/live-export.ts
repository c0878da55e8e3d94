/**
 * The live database as a file (`.sqlite`, `.sqlite.gz` or `.sql`), straight from the in-memory
 * connection. It needs nothing from the store, so it still works when the store is gone (the
 * browser cleared the site's data while the vault was open): the app's last-chance download.
 */
import { createGzipWriter } from '../../src/format/gzip';
import type { LiveDownloadOptions } from '../../src/protocol';
import { dumpSql, type SqliteConnection } from '../engine';
import { oneOf } from '../validate';
import { Pacer } from './chunk-io';

const FORMATS = ['sqlite', 'sqlite.gz', 'sql'] as const;
const TYPES = { sqlite: 'application/octet-stream', 'sqlite.gz': 'application/gzip', sql: 'application/sql' } as const;
/** Bytes gzip'd between yields to the event loop. */
const GZIP_STEP = 1024 * 1024;

/**
 * The live database's committed state as a file named after the vault and the time.
 * @throws BUSY while a transaction is open (the file would hold half of it); INVALID_ARGUMENT.
 */
export async function liveFile(name: string, conn: SqliteConnection, options: LiveDownloadOptions): Promise<{ blob: Blob; filename: string }> {
  const format = oneOf(options?.format, 'format', FORMATS, 'sqlite');
  const now = Date.now();
  const stamp = new Date(now).toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  const filename = `${name}-live-${stamp}.${format}`;
  const pacer = new Pacer();
  let parts: BlobPart[];
  const image = conn.exportImage();
  if (format === 'sql') {
    // Dumped from the exported copy: the dump yields between tables, and writes in between must not tear it.
    const text: string[] = [];
    await dumpSql(conn.engine, image, (part) => void text.push(part), () => pacer.maybeYield());
    parts = text;
  } else {
    parts = (format === 'sqlite' ? [image] : await gzipParts(image, `${name}.sqlite`, now, pacer)) as BlobPart[];
  }
  return { blob: new Blob(parts, { type: TYPES[format] }), filename };
}

/** `image` as one gzip member (level 1), yielding between steps so queries keep being served. */
export async function gzipParts(image: Uint8Array, filename: string, mtime: number, pacer: Pacer = new Pacer()): Promise<Uint8Array[]> {
  const gzip = createGzipWriter({ level: 1, filename, mtime });
  const out: Uint8Array[] = [];
  for (let at = 0; at < image.byteLength; at += GZIP_STEP) {
    out.push(...gzip.push(image.subarray(at, Math.min(at + GZIP_STEP, image.byteLength))));
    await pacer.maybeYield();
  }
  out.push(...gzip.finish());
  return out;
}
