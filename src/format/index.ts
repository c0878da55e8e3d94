/**
 * The format layer's public surface: pure code (no I/O) shared by the worker, the page and the CLI.
 * Archive format v2 (v1 still read) is specified in ./ARCHIVE.md.
 */
export { Sha256, sha256, sha256Hex, toHex, fromHex, isSha256Hex } from './sha256';
export { compressChunk, decompressChunk, DEFAULT_DEFLATE_LEVEL } from './codec';
export type { ChunkCodec, StoredChunk, StoredForm } from './codec';
export { parseSqliteHeader, isSqliteMagic, SQLITE_HEADER_BYTES } from './sqlite-header';
export type { SqliteHeader, SqliteTextEncoding } from './sqlite-header';
export { detectKind, DETECT_BYTES } from './detect';
export type { FileKind } from './detect';
export { createGzipWriter, gunzipFirstMember } from './gzip';
export type { GzipWriter } from './gzip';
export { crc32 } from './crc32';
export { bytesSource, blobSource } from './archive/source';
export type { ByteSource } from './archive/source';
export { createArchiveWriter, chunkKeysDigest } from './archive/writer';
export type { ArchiveRecord, ArchiveWriter, ArchiveWriterOptions } from './archive/writer';
export { openArchive, inspectArchive, readArchiveImage, notEncrypted } from './archive/reader';
export type { ArchiveChunk, ArchiveFacts, BaseResolver, InspectArchiveOptions, OpenArchiveOptions, OpenedArchive } from './archive/reader';
export { diffChunk, applyPatch } from './archive/patch';
export type { ChunkPatch } from './archive/patch';
export { chunkImage, writeImageArchive, streamImageArchive, DEFAULT_CHUNK_SIZE } from './archive/from-image';
export type { ChunkedImage, ImageArchiveMeta, ImageArchiveOptions } from './archive/from-image';
export { FORMAT_VERSION, MIN_FORMAT_VERSION, ARCHIVE_MAGIC, MAX_HEADER_BYTES, MAX_CHUNK_SIZE, DEFAULT_MAX_IMAGE_BYTES } from './archive/layout';
export type { ArchiveHeader, ArchiveHeaderInput, ArchiveEncryption, ArchiveBase, RecordKind } from './archive/layout';
export type { ChunkEntry } from './archive/table';
export { KDF_DEFAULT_ITERATIONS, KDF_MIN_ITERATIONS, KDF_MAX_ITERATIONS, normalizePassphrase } from './archive/crypto';
export type { ArchiveKeyCache } from './archive/crypto';
