/**
 * Builds a whole archive from an in-memory image (the CLI's `create`, tests, golden files).
 * The worker streams stored chunks into `createArchiveWriter` instead; this helper compresses.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import type { TableCount } from '../../protocol';
import { compressChunk } from '../codec';
import { sha256, toHex } from '../sha256';
import { parseSqliteHeader } from '../sqlite-header';
import { diffChunk } from './patch';
import { chunkKeysDigest, createArchiveWriter } from './writer';
import type { ArchiveRecord, ArchiveWriterOptions } from './writer';

/** Default chunk size: 64 KiB, the IndexedDB record size the design measured. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** An image cut into chunks, with each chunk's key. */
export interface ChunkedImage {
  readonly sha256: string;
  readonly chunks: readonly Uint8Array[];
  readonly keys: readonly string[];
}

/**
 * Cuts an image into `chunkSize` pieces (views, not copies) and hashes each and the whole
 * (`wholeSha256`, when the caller already has it, skips the whole-image hash: WebCrypto copies its input).
 */
export async function chunkImage(image: Uint8Array, chunkSize: number, wholeSha256?: string): Promise<ChunkedImage> {
  const chunks: Uint8Array[] = [];
  const keys: string[] = [];
  for (let at = 0; at < image.length; at += chunkSize) {
    const chunk = image.subarray(at, Math.min(image.length, at + chunkSize));
    chunks.push(chunk);
    keys.push(toHex(await sha256(chunk)));
  }
  return { sha256: wholeSha256 ?? toHex(await sha256(image)), chunks, keys };
}

export interface ImageArchiveMeta {
  readonly name: string;
  readonly createdAt: number;
  readonly method: string;
  readonly tables: readonly TableCount[];
  readonly note?: string;
  readonly partial?: boolean;
}

export interface ImageArchiveOptions extends ArchiveWriterOptions {
  /** Multiple of the page size; default 64 KiB (or the page size if larger). */
  readonly chunkSize?: number;
  /** Makes an incremental archive against this base image (same chunk size). */
  readonly base?: Uint8Array;
  /** The image's SHA-256 (hex) when the caller has computed it already; a wrong one makes an archive every reader refuses. */
  readonly imageSha256?: string;
}

/**
 * Writes a complete archive of a SQLite image and returns its parts (see {@link streamImageArchive}).
 * @throws NOT_SQLITE when the image is not a SQLite database; INVALID_ARGUMENT for a bad chunk size or an image that is not whole pages.
 * @example const parts = await writeImageArchive(image, { name: 'app', createdAt: Date.now(), method: 'cli', tables });
 */
export async function writeImageArchive(image: Uint8Array, meta: ImageArchiveMeta, options: ImageArchiveOptions = {}): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  await streamImageArchive(image, meta, options, async (more) => void parts.push(...more));
  return parts;
}

/**
 * Writes an archive of a SQLite image into `sink`, part by part as each chunk is compressed (and
 * encrypted), so only one chunk's output is held at a time; returns the archive's size in bytes.
 * With `base`, only what the base lacks travels (chunks the base has as `ref`, changed chunks as
 * page patches when smaller).
 * @throws NOT_SQLITE when the image is not a SQLite database; INVALID_ARGUMENT for a bad chunk size
 *   or an image that is not whole pages; whatever `sink` throws.
 */
export async function streamImageArchive(
  image: Uint8Array,
  meta: ImageArchiveMeta,
  options: ImageArchiveOptions,
  sink: (parts: readonly Uint8Array[]) => Promise<void>,
): Promise<number> {
  const sqlite = parseSqliteHeader(image);
  const { pageSize } = sqlite;
  if (image.length === 0 || image.length % pageSize !== 0) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The image (${image.length} bytes) is not a whole number of ${pageSize}-byte pages.`);
  }
  const chunkSize = options.chunkSize ?? Math.max(DEFAULT_CHUNK_SIZE, pageSize);
  const current = await chunkImage(image, chunkSize, options.imageSha256);
  const base = options.base === undefined ? undefined : await chunkImage(options.base, chunkSize);
  const writer = await createArchiveWriter(
    {
      name: meta.name,
      createdAt: meta.createdAt,
      method: meta.method,
      tables: meta.tables,
      ...(meta.note === undefined ? {} : { note: meta.note }),
      ...(meta.partial === undefined ? {} : { partial: meta.partial }),
      pageSize,
      pageCount: image.length / pageSize,
      sizeBytes: image.length,
      sha256: current.sha256,
      sqliteVersion: sqlite.sqliteVersion,
      userVersion: sqlite.userVersion,
      chunkSize,
      ...(base === undefined ? {} : { base: { sha256: base.sha256, chunkCount: base.keys.length, keysSha256: await chunkKeysDigest(base.keys) } }),
    },
    options,
  );
  const baseKeys = new Set(base?.keys ?? []);
  let bytes = 0;
  const emit = async (parts: readonly Uint8Array[]) => {
    bytes += parts.reduce((n, p) => n + p.length, 0);
    if (parts.length > 0) await sink(parts);
  };
  for (let index = 0; index < current.chunks.length; index++) {
    const chunk = current.chunks[index]!;
    const key = current.keys[index]!;
    let record: ArchiveRecord | undefined;
    if (baseKeys.has(key)) record = { kind: 'ref', index, key, size: chunk.length };
    const baseChunk = base?.chunks[index];
    if (record === undefined && baseChunk !== undefined) {
      const patch = diffChunk(baseChunk, chunk, pageSize);
      if (patch) record = { kind: 'patch', index, key, size: chunk.length, baseKey: base!.keys[index]!, patch };
    }
    record ??= { kind: 'full', index, key, size: chunk.length, ...compressChunk(chunk, options.compressionLevel) };
    await emit(await writer.add(record));
  }
  await emit(await writer.finish());
  return bytes;
}
