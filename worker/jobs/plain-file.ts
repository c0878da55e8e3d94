/**
 * A database image as the parts of a plain file: `.sqlite` (the bytes), `.sqlite.gz` (one gzip
 * member, level 1) or `.sql` (a dump). Used by downloads of stored backups and of the live database.
 */
import { createGzipWriter } from '../../src/format/gzip';
import { dumpSql, type SqlEngine } from '../engine';
import { Pacer } from './chunk-io';

export type PlainFormat = 'sqlite' | 'sqlite.gz' | 'sql';

/** Bytes gzip'd between yields to the event loop. */
const GZIP_STEP = 1024 * 1024;

/**
 * The file's parts; gzip and dump work yields between steps so queries keep being served. The dump
 * runs on `image` (a copy), so writes made meanwhile cannot tear it.
 * @param name what the gzip header records as the original file's name.
 */
export async function plainFileParts(engine: SqlEngine, image: Uint8Array, format: PlainFormat, name: string, mtime: number): Promise<BlobPart[]> {
  if (format === 'sqlite') return [image as Uint8Array<ArrayBuffer>];
  const pacer = new Pacer();
  if (format === 'sql') {
    const text: string[] = [];
    await dumpSql(engine, image, (part) => void text.push(part), () => pacer.maybeYield());
    return text;
  }
  // Level 1: whole-image recompression is the slow part of this format (~20 MB/s in a worker).
  const gzip = createGzipWriter({ level: 1, filename: name, mtime });
  const out: Uint8Array[] = [];
  for (let at = 0; at < image.byteLength; at += GZIP_STEP) {
    out.push(...gzip.push(image.subarray(at, Math.min(at + GZIP_STEP, image.byteLength))));
    await pacer.maybeYield();
  }
  out.push(...gzip.finish());
  return out as BlobPart[];
}
