/**
 * Streaming archive writer: the header first, then one record per chunk in index order, then the
 * trailer and footer. It returns the bytes to emit at each step; the caller streams them into a
 * Blob, a file or an upload, so the whole archive is never held in memory.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import { compressChunk, DEFAULT_DEFLATE_LEVEL } from '../codec';
import type { ChunkCodec } from '../codec';
import { Sha256, fromHex, isSha256Hex, sha256, toHex } from '../sha256';
import {
  CODEC_CODES, DIGEST_BYTES, ENTRY_BYTES, FLAG_ENCRYPTED, FOOTER_FIELDS_BYTES, FORMAT_VERSION, ARCHIVE_MAGIC,
  GCM_TAG_BYTES, KIND_CODES, MAX_HEADER_BYTES, PREAMBLE_BYTES, PREAMBLE_OFFSET_FLAGS, PREAMBLE_OFFSET_HEADER_LENGTH,
  PREAMBLE_OFFSET_VERSION, TRAILER_CHECKSUM_BYTES, maxStoredLength, validateHeader,
} from './layout';
import type { ArchiveEncryption, ArchiveHeader, ArchiveHeaderInput } from './layout';
import {
  KDF_DEFAULT_ITERATIONS, KDF_MAX_ITERATIONS, KDF_MIN_ITERATIONS, NONCE_PREFIX_BYTES, SALT_BYTES, TABLE_RECORD_INDEX,
  METADATA_RECORD_INDEX, deriveArchiveKeys, randomBytes, seal,
} from './crypto';
import type { ArchiveKeys } from './crypto';
import { encodePatch } from './patch';
import type { ChunkPatch } from './patch';
import { PADDING_RECORD_INDEX_BASE, paddedMetadataLength, paddedTableEntries, paddingLength, paddingRecordLengths } from './padding';
import { encodeEntries, encodeFooter, expectedChunkSize } from './table';
import type { ChunkEntry } from './table';

/**
 * One chunk, in index order. `key` is the SHA-256 (hex) of the chunk plaintext, `size` its length.
 * - `full`: the chunk's stored bytes exactly as the chunk store keeps them (never recompressed).
 * - `ref`: the base has a chunk with this key; nothing else travels.
 * - `patch`: the changed pages against the base chunk `baseKey` at the same index (see `diffChunk`).
 */
export type ArchiveRecord =
  | { readonly kind: 'full'; readonly index: number; readonly key: string; readonly size: number; readonly codec: ChunkCodec; readonly data: Uint8Array }
  | { readonly kind: 'ref'; readonly index: number; readonly key: string; readonly size: number }
  | { readonly kind: 'patch'; readonly index: number; readonly key: string; readonly size: number; readonly baseKey: string; readonly patch: ChunkPatch };

export interface ArchiveWriterOptions {
  /** Encrypts the archive with this passphrase (non-empty). */
  readonly passphrase?: string;
  /** PBKDF2 iterations, 600,000 (default) to 10,000,000. The passphrase is normalised to NFC first. */
  readonly kdfIterations?: number;
  /** DEFLATE level for patch payloads, 0..9 (default 1). Full records keep their stored codec. */
  readonly compressionLevel?: number;
}

export interface ArchiveWriter {
  /** The header as written (with chunk count, compression and encryption filled in). */
  readonly header: ArchiveHeader;
  /** Adds the next record; returns the bytes to emit (the archive header too, on the first call). */
  add(record: ArchiveRecord): Promise<Uint8Array[]>;
  /** Ends the archive; returns the last bytes (trailer and footer). Every chunk must have been added. */
  finish(): Promise<Uint8Array[]>;
}

/**
 * SHA-256 over a manifest's chunk keys (32 raw bytes each, in index order): the `base.keysSha256`
 * of an incremental archive.
 * @throws INVALID_ARGUMENT when a key is not 64 lowercase hex digits.
 */
export async function chunkKeysDigest(keys: readonly string[]): Promise<string> {
  const joined = new Uint8Array(keys.length * 32);
  keys.forEach((key, i) => {
    if (!isSha256Hex(key)) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Chunk key ${i} is not a SHA-256 hex digest.`);
    for (let j = 0; j < 32; j++) joined[i * 32 + j] = parseInt(key.slice(j * 2, j * 2 + 2), 16);
  });
  return toHex(await sha256(joined));
}

function invalid(message: string): never {
  throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, message);
}

/**
 * Digest the sealed metadata of an encrypted v2 archive is bound to (its associated data): the
 * preamble's magic, version and flags, the salt and the nonce prefix. (The header digest covers
 * the sealed bytes themselves, so it cannot be their associated data.)
 */
export async function metadataDigest(preamble: Uint8Array, encryption: ArchiveEncryption): Promise<Uint8Array> {
  return new Sha256().update(preamble.subarray(0, PREAMBLE_OFFSET_HEADER_LENGTH)).update(fromHex(encryption.salt)!).update(fromHex(encryption.noncePrefix)!).digest();
}

function preambleOf(encrypted: boolean, headerLength: number): Uint8Array {
  const bytes = new Uint8Array(PREAMBLE_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(ARCHIVE_MAGIC, 0);
  view.setUint16(PREAMBLE_OFFSET_VERSION, FORMAT_VERSION);
  view.setUint16(PREAMBLE_OFFSET_FLAGS, encrypted ? FLAG_ENCRYPTED : 0);
  view.setUint32(PREAMBLE_OFFSET_HEADER_LENGTH, headerLength);
  return bytes;
}

/**
 * The header JSON as written: all of it for a plain archive; for an encrypted one only the
 * encryption facts in the clear and the rest sealed under the archive key.
 */
async function headerJson(header: ArchiveHeader, keys: ArchiveKeys | undefined): Promise<string> {
  const { encryption, ...rest } = header;
  if (encryption === undefined || keys === undefined) return JSON.stringify(header);
  const json = new TextEncoder().encode(JSON.stringify(rest));
  // Spaces after the JSON (still valid JSON) round its length up to a size class: the clear
  // header's length must not tell the note's length or the number of tables. The cap keeps the
  // clear header (hex doubles the sealed bytes) within its limit.
  const clearOverhead = JSON.stringify({ encryption, sealed: '' }).length;
  const limit = Math.floor((MAX_HEADER_BYTES - clearOverhead) / 2) - GCM_TAG_BYTES;
  const inner = new Uint8Array(paddedMetadataLength(json.length, limit)).fill(0x20);
  inner.set(json, 0);
  const binding = { headerDigest: await metadataDigest(preambleOf(true, 0), encryption), index: METADATA_RECORD_INDEX, last: true, kind: 0, codec: 0 };
  const sealed = await seal(keys, fromHex(encryption.noncePrefix)!, binding, inner);
  return JSON.stringify({ encryption, sealed: toHex(sealed) });
}

/** Builds preamble + header JSON + digest. */
async function encodeHeader(header: ArchiveHeader, keys: ArchiveKeys | undefined): Promise<{ bytes: Uint8Array; digest: Uint8Array }> {
  const json = new TextEncoder().encode(await headerJson(header, keys));
  if (json.length > MAX_HEADER_BYTES) invalid(`The archive header is ${json.length} bytes; the limit is ${MAX_HEADER_BYTES}.`);
  const bytes = new Uint8Array(PREAMBLE_BYTES + json.length + DIGEST_BYTES);
  bytes.set(preambleOf(header.encryption !== undefined, json.length), 0);
  bytes.set(json, PREAMBLE_BYTES);
  const digest = await sha256(bytes.subarray(0, PREAMBLE_BYTES + json.length));
  bytes.set(digest, PREAMBLE_BYTES + json.length);
  return { bytes, digest };
}

/**
 * Starts an archive. Derives the encryption key first when a passphrase is given (PBKDF2: slow by design).
 * @throws INVALID_ARGUMENT for an invalid header or option, and later for records out of order or of the wrong size.
 * @example
 * const w = await createArchiveWriter({ name, createdAt: Date.now(), method: 'pages', pageSize, pageCount, sizeBytes, sha256, sqliteVersion, userVersion, tables, chunkSize });
 * for (const c of chunks) parts.push(...await w.add({ kind: 'full', index: c.index, key: c.key, size: c.size, codec: c.codec, data: c.data }));
 * parts.push(...await w.finish());
 */
export async function createArchiveWriter(input: ArchiveHeaderInput, options: ArchiveWriterOptions = {}): Promise<ArchiveWriter> {
  const level = options.compressionLevel ?? DEFAULT_DEFLATE_LEVEL;
  const iterations = options.kdfIterations ?? KDF_DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < KDF_MIN_ITERATIONS || iterations > KDF_MAX_ITERATIONS) {
    invalid(`kdfIterations must be an integer ${KDF_MIN_ITERATIONS}..${KDF_MAX_ITERATIONS}.`);
  }
  if (options.passphrase !== undefined && (typeof options.passphrase !== 'string' || options.passphrase.length === 0)) invalid('The passphrase must be a non-empty string.');

  let keys: ArchiveKeys | undefined;
  let noncePrefix: Uint8Array = new Uint8Array(0);
  let encryption: ArchiveEncryption | undefined;
  if (options.passphrase !== undefined) {
    const salt = randomBytes(SALT_BYTES);
    noncePrefix = randomBytes(NONCE_PREFIX_BYTES);
    keys = await deriveArchiveKeys(options.passphrase, salt, iterations);
    encryption = { cipher: 'AES-256-GCM', kdf: 'PBKDF2-SHA256', iterations, salt: toHex(salt), noncePrefix: toHex(noncePrefix), keyCheck: keys.keyCheck };
  }
  const chunkCount = input.chunkSize > 0 ? Math.ceil(input.sizeBytes / input.chunkSize) : 0;
  const draft = { ...input, chunkCount, compression: 'deflate-raw' as const, ...(encryption ? { encryption } : {}) };
  let header: ArchiveHeader;
  try {
    header = validateHeader(JSON.parse(JSON.stringify(draft)), Number.MAX_SAFE_INTEGER);
  } catch (error) {
    if (error instanceof PagevaultError) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, error.message, error.details, { cause: error });
    throw error;
  }
  const { bytes: headerBytes, digest } = await encodeHeader(header, keys);

  const entries: ChunkEntry[] = [];
  let offset = 0;
  let headerEmitted = false;
  let finished = false;
  const emitHeader = (): Uint8Array[] => {
    if (headerEmitted) return [];
    headerEmitted = true;
    offset = headerBytes.length;
    return [headerBytes];
  };

  return {
    header,
    async add(record) {
      if (finished) invalid('The archive is already finished.');
      const index = entries.length;
      if (record.index !== index) invalid(`Expected chunk ${index}, got ${record.index}.`);
      if (index >= header.chunkCount) invalid(`The archive has only ${header.chunkCount} chunks.`);
      if (record.size !== expectedChunkSize(header, index)) invalid(`Chunk ${index} must be ${expectedChunkSize(header, index)} bytes, got ${record.size}.`);
      if (!isSha256Hex(record.key)) invalid(`Chunk ${index} key is not a SHA-256 hex digest.`);
      if (record.kind !== 'full' && header.base === undefined) invalid('ref and patch records need a header with `base`.');
      let codec: ChunkCodec = 'raw';
      let payload: Uint8Array = new Uint8Array(0);
      let payloadLength = 0;
      if (record.kind === 'full') {
        if (record.codec !== 'raw' && record.codec !== 'deflate') invalid(`Unknown codec ${String(record.codec)}.`);
        codec = record.codec;
        payload = record.data;
        payloadLength = record.size;
        if (codec === 'raw' && payload.length !== record.size) invalid(`Raw chunk ${index} has ${payload.length} bytes, expected ${record.size}.`);
      } else if (record.kind === 'patch') {
        const encoded = encodePatch(record.baseKey, record.patch, header.pageSize);
        payloadLength = encoded.length;
        ({ codec, data: payload } = compressChunk(encoded, level));
      }
      const last = index === header.chunkCount - 1;
      let stored = payload;
      if (keys && record.kind !== 'ref') {
        stored = await seal(keys, noncePrefix, { headerDigest: digest, index, last, kind: KIND_CODES[record.kind], codec: CODEC_CODES[codec] }, payload);
      }
      if (stored.length > maxStoredLength(header.chunkSize) - (keys ? 0 : GCM_TAG_BYTES)) invalid(`Chunk ${index} stored bytes exceed the limit for this chunk size.`);
      const out = emitHeader();
      entries.push({ index, kind: record.kind, codec, offset, storedLength: stored.length, payloadLength, size: record.size, key: record.key });
      offset += stored.length;
      if (stored.length > 0) out.push(stored);
      return out;
    },
    async finish() {
      if (finished) invalid('The archive is already finished.');
      if (entries.length !== header.chunkCount) invalid(`Only ${entries.length} of ${header.chunkCount} chunks were added.`);
      finished = true;
      const out = emitHeader();
      let table: Uint8Array = encodeEntries(entries);
      let tableEntries = header.chunkCount;
      if (keys) {
        // Encrypted: padding records round the body up to a size class, and zero entries round
        // the table up to a power of two (ARCHIVE.md, "Padding").
        const lengths = paddingRecordLengths(paddingLength(offset - headerBytes.length));
        for (const [k, length] of lengths.entries()) {
          const binding = { headerDigest: digest, index: PADDING_RECORD_INDEX_BASE + k, last: k === lengths.length - 1, kind: 0, codec: 0 };
          out.push(await seal(keys, noncePrefix, binding, new Uint8Array(length - GCM_TAG_BYTES)));
          offset += length;
        }
        tableEntries = paddedTableEntries(header.chunkCount);
        const padded = new Uint8Array(tableEntries * ENTRY_BYTES);
        padded.set(table, 0);
        table = await seal(keys, noncePrefix, { headerDigest: digest, index: TABLE_RECORD_INDEX, last: true, kind: 0, codec: 0 }, padded);
      }
      const trailerLength = table.length + TRAILER_CHECKSUM_BYTES;
      const footer = encodeFooter({ trailerOffset: offset, trailerLength, chunkCount: tableEntries });
      const checksum = await trailerChecksum(digest, table, footer.subarray(0, FOOTER_FIELDS_BYTES));
      out.push(table, checksum, footer);
      return out;
    },
  };
}

/** SHA-256(header digest + stored table + footer fields): binds the trailer to its header and footer. */
export async function trailerChecksum(headerDigest: Uint8Array, storedTable: Uint8Array, footerFields: Uint8Array): Promise<Uint8Array> {
  const joined = new Uint8Array(headerDigest.length + storedTable.length + footerFields.length);
  joined.set(headerDigest, 0);
  joined.set(storedTable, headerDigest.length);
  joined.set(footerFields, headerDigest.length + storedTable.length);
  return sha256(joined);
}

