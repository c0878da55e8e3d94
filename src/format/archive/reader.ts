/**
 * Archive reader: header and trailer first (limits checked before the body is touched), then the
 * chunks one by one, each verified (decrypt, decompress with a cap, SHA-256 == key), and at the
 * end the whole image's SHA-256 against the header.
 */
import { PagevaultError } from '../../errors';
import type { InspectResult } from '../../protocol';
import { decompressUntrustedChunk } from '../codec';
import type { ChunkCodec } from '../codec';
import { Sha256, fromHex, sha256, toHex } from '../sha256';
import { checkIterations, deriveCached, open, TABLE_RECORD_INDEX } from './crypto';
import type { ArchiveKeyCache, ArchiveKeys } from './crypto';
import {
  ARCHIVE_MAGIC, CODEC_CODES, CRITICAL_FLAGS_MASK, DEFAULT_MAX_IMAGE_BYTES, DIGEST_BYTES, ENTRY_BYTES, FLAG_ENCRYPTED,
  FOOTER_BYTES, FOOTER_FIELDS_BYTES, FORMAT_VERSION, GCM_TAG_BYTES, KIND_CODES, KNOWN_FLAGS, MAX_HEADER_BYTES,
  PREAMBLE_BYTES, PREAMBLE_OFFSET_FLAGS, PREAMBLE_OFFSET_HEADER_LENGTH, PREAMBLE_OFFSET_VERSION, TRAILER_CHECKSUM_BYTES,
  validateHeader,
} from './layout';
import type { ArchiveHeader, RecordKind } from './layout';
import { applyPatch, decodePatch } from './patch';
import { readExact } from './source';
import type { ByteSource } from './source';
import { decodeEntries, decodeFooter } from './table';
import type { ChunkEntry } from './table';
import { trailerChecksum } from './writer';

export interface OpenArchiveOptions {
  /** Needed for encrypted archives; ignored for plain ones (so one passphrase can be passed for a whole chain). */
  readonly passphrase?: string;
  /** Reuses PBKDF2 results across calls (see {@link ArchiveKeyCache}). */
  readonly keyCache?: ArchiveKeyCache;
  /** Refuse images larger than this (default 2 GiB). */
  readonly maxImageBytes?: number;
}

/** Returns the plaintext of a base chunk by key, or undefined when the base does not have it. */
export type BaseResolver = (key: string) => Promise<Uint8Array | undefined>;

/** One verified chunk. */
export interface ArchiveChunk {
  readonly index: number;
  readonly key: string;
  readonly size: number;
  readonly kind: RecordKind;
  /** For `full`: the stored codec and bytes, ready to keep as is in a chunk store. For `ref`/`patch`: `'raw'` and the plaintext. */
  readonly codec: ChunkCodec;
  readonly data: Uint8Array;
  readonly plain: Uint8Array;
}

export interface OpenedArchive {
  readonly version: number;
  readonly header: ArchiveHeader;
  readonly encrypted: boolean;
  readonly entries: readonly ChunkEntry[];
  /**
   * Verified chunks in index order. The image's SHA-256 is checked after the last chunk:
   * commit nothing before the iteration has completed without throwing.
   * @throws INTEGRITY (damage or tampering), CHAIN (base chunk missing or different), LIMIT_EXCEEDED.
   */
  chunks(resolve?: BaseResolver): AsyncIterable<ArchiveChunk>;
}

interface Frame {
  readonly header: ArchiveHeader;
  readonly encrypted: boolean;
  readonly headerDigest: Uint8Array;
  readonly bodyStart: number;
  readonly trailerOffset: number;
  readonly storedTable: Uint8Array;
}

/** Reads and checks preamble, header, footer and trailer (without decrypting anything). */
async function readFrame(source: ByteSource, maxImageBytes: number): Promise<Frame> {
  const minSize = PREAMBLE_BYTES + DIGEST_BYTES + FOOTER_BYTES;
  const preamble = await source.read(0, PREAMBLE_BYTES).catch(() => new Uint8Array(0));
  if (preamble.length < ARCHIVE_MAGIC.length || ARCHIVE_MAGIC.some((b, i) => preamble[i] !== b)) {
    throw new PagevaultError('INVALID_BACKUP', 'The file is not a pagevault archive.');
  }
  if (source.size < minSize || preamble.length < PREAMBLE_BYTES) throw new PagevaultError('INTEGRITY', 'The archive is truncated.');
  const view = new DataView(preamble.buffer, preamble.byteOffset, PREAMBLE_BYTES);
  const version = view.getUint16(PREAMBLE_OFFSET_VERSION);
  if (version !== FORMAT_VERSION) {
    throw new PagevaultError(version > FORMAT_VERSION ? 'UNSUPPORTED_VERSION' : 'INVALID_BACKUP', `Archive format version ${version} is not supported (this build reads version ${FORMAT_VERSION}).`, { version });
  }
  const flags = view.getUint16(PREAMBLE_OFFSET_FLAGS);
  if ((flags & CRITICAL_FLAGS_MASK & ~KNOWN_FLAGS) !== 0) {
    throw new PagevaultError('UNSUPPORTED_VERSION', `The archive uses features this build does not know (flags 0x${flags.toString(16)}).`, { flags });
  }
  const headerLength = view.getUint32(PREAMBLE_OFFSET_HEADER_LENGTH);
  if (headerLength > source.size - minSize) throw new PagevaultError('INTEGRITY', `The header length ${headerLength} runs past the end of the file.`, { headerLength });
  if (headerLength > MAX_HEADER_BYTES) throw new PagevaultError('LIMIT_EXCEEDED', `The header is ${headerLength} bytes; the limit is ${MAX_HEADER_BYTES}.`, { headerLength });

  const headerAndDigest = await readExact(source, 0, PREAMBLE_BYTES + headerLength + DIGEST_BYTES);
  const headerDigest = headerAndDigest.slice(PREAMBLE_BYTES + headerLength);
  const computed = await sha256(headerAndDigest.subarray(0, PREAMBLE_BYTES + headerLength));
  if (toHex(computed) !== toHex(headerDigest)) throw new PagevaultError('INTEGRITY', 'The archive header is damaged (digest mismatch).');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerAndDigest.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)));
  } catch (error) {
    throw new PagevaultError('INVALID_BACKUP', 'The archive header is not valid JSON.', {}, { cause: error });
  }
  const header = validateHeader(parsed, maxImageBytes);
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  if (encrypted !== (header.encryption !== undefined)) throw new PagevaultError('INVALID_BACKUP', 'The encryption flag and the header disagree.');

  const footer = decodeFooter(await readExact(source, source.size - FOOTER_BYTES, FOOTER_BYTES));
  const bodyStart = PREAMBLE_BYTES + headerLength + DIGEST_BYTES;
  const tableLength = header.chunkCount * ENTRY_BYTES + (encrypted ? GCM_TAG_BYTES : 0);
  if (
    footer.chunkCount !== header.chunkCount ||
    footer.trailerLength !== tableLength + TRAILER_CHECKSUM_BYTES ||
    footer.trailerOffset < bodyStart ||
    footer.trailerOffset + footer.trailerLength + FOOTER_BYTES !== source.size
  ) {
    throw new PagevaultError('INTEGRITY', 'The archive footer does not match its header or the file size: truncated, extended or damaged.');
  }
  const trailer = await readExact(source, footer.trailerOffset, footer.trailerLength);
  const storedTable = trailer.subarray(0, tableLength);
  const footerBytes = await readExact(source, source.size - FOOTER_BYTES, FOOTER_FIELDS_BYTES);
  const expected = await trailerChecksum(headerDigest, storedTable, footerBytes);
  if (toHex(expected) !== toHex(trailer.subarray(tableLength))) throw new PagevaultError('INTEGRITY', 'The chunk table is damaged (checksum mismatch).');
  return { header, encrypted, headerDigest, bodyStart, trailerOffset: footer.trailerOffset, storedTable };
}

/**
 * Reads an archive's header facts without a passphrase and without reading the body (header,
 * footer and trailer checksum are verified). For an encrypted archive the header cannot be
 * authenticated without the passphrase; `openArchive` does that.
 * @throws INVALID_BACKUP, UNSUPPORTED_VERSION, INTEGRITY, LIMIT_EXCEEDED.
 * @example const facts = await inspectArchive(blobSource(file));
 */
export async function inspectArchive(source: ByteSource, options: { maxImageBytes?: number } = {}): Promise<InspectResult & { readonly header: ArchiveHeader }> {
  const { header, encrypted } = await readFrame(source, options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES);
  return {
    format: 'archive',
    version: FORMAT_VERSION,
    createdAt: header.createdAt,
    ...(header.note === undefined ? {} : { note: header.note }),
    method: header.method,
    pageSize: header.pageSize,
    pageCount: header.pageCount,
    sizeBytes: header.sizeBytes,
    sha256: header.sha256,
    sqliteVersion: header.sqliteVersion,
    userVersion: header.userVersion,
    tables: header.tables,
    encrypted,
    ...(header.base === undefined ? {} : { base: header.base.sha256 }),
    ...(header.partial === undefined ? {} : { partial: header.partial }),
    header,
  };
}

/**
 * Opens an archive for reading: checks header, footer and trailer, the passphrase when encrypted,
 * and the chunk table, before any chunk is read.
 * @throws INVALID_BACKUP, UNSUPPORTED_VERSION, INTEGRITY, LIMIT_EXCEEDED, PASSPHRASE_REQUIRED, WRONG_PASSPHRASE.
 * @example
 * const archive = await openArchive(blobSource(file), { passphrase });
 * for await (const chunk of archive.chunks(resolveBaseChunk)) stage(chunk);
 */
export async function openArchive(source: ByteSource, options: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  const frame = await readFrame(source, options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES);
  const { header, encrypted, headerDigest } = frame;
  let keys: ArchiveKeys | undefined;
  let noncePrefix: Uint8Array = new Uint8Array(0);
  let table: Uint8Array = frame.storedTable;
  if (header.encryption) {
    if (options.passphrase === undefined || options.passphrase === '') throw new PagevaultError('PASSPHRASE_REQUIRED', 'This backup is encrypted; a passphrase is required.');
    checkIterations(header.encryption.iterations);
    keys = await deriveCached(options.passphrase, header.encryption.salt, header.encryption.iterations, options.keyCache);
    if (keys.keyCheck !== header.encryption.keyCheck) throw new PagevaultError('WRONG_PASSPHRASE', 'The passphrase does not open this backup.');
    noncePrefix = fromHex(header.encryption.noncePrefix)!;
    table = await open(keys, noncePrefix, { headerDigest, index: TABLE_RECORD_INDEX, last: true, kind: 0, codec: 0 }, table);
  }
  const entries = decodeEntries(table, header, frame.bodyStart, frame.trailerOffset, encrypted);

  async function* chunks(resolve?: BaseResolver): AsyncIterable<ArchiveChunk> {
    const image = new Sha256();
    const base = async (key: string, index: number): Promise<Uint8Array> => {
      const plain = resolve ? await resolve(key) : undefined;
      if (plain === undefined) throw new PagevaultError('CHAIN', `Chunk ${index} needs base chunk ${key.slice(0, 12)}..., which the base does not have.`, { index, key });
      return plain;
    };
    for (const entry of entries) {
      const { index, kind, size, key } = entry;
      let stored = await readExact(source, entry.offset, entry.storedLength);
      if (keys && kind !== 'ref') {
        const last = index === header.chunkCount - 1;
        stored = await open(keys, noncePrefix, { headerDigest, index, last, kind: KIND_CODES[kind], codec: CODEC_CODES[entry.codec] }, stored);
      }
      let plain: Uint8Array;
      if (kind === 'full') {
        plain = decompressUntrustedChunk(entry.codec, stored, size);
      } else if (kind === 'ref') {
        plain = await base(key, index);
        if (plain.length !== size || toHex(await sha256(plain)) !== key) {
          throw new PagevaultError('CHAIN', `Base chunk for chunk ${index} does not match its key.`, { index });
        }
      } else {
        const patch = decodePatch(decompressUntrustedChunk(entry.codec, stored, entry.payloadLength), size, header.pageSize);
        const baseChunk = await base(patch.baseKey, index);
        if (toHex(await sha256(baseChunk)) !== patch.baseKey) {
          throw new PagevaultError('CHAIN', `Base chunk for chunk ${index} does not match its key.`, { index });
        }
        plain = applyPatch(baseChunk, patch, size, header.pageSize);
      }
      if (kind !== 'ref' && toHex(await sha256(plain)) !== key) {
        throw new PagevaultError('INTEGRITY', `Chunk ${index} does not match its SHA-256.`, { index });
      }
      image.update(plain);
      const full = kind === 'full';
      yield { index, key, size, kind, codec: full ? entry.codec : 'raw', data: full ? stored : plain, plain };
    }
    if (toHex(image.digest()) !== header.sha256) throw new PagevaultError('INTEGRITY', 'The reassembled image does not match the SHA-256 in the header.');
  }

  return { version: FORMAT_VERSION, header, encrypted, entries, chunks };
}

/**
 * Reads, verifies and concatenates the whole image (convenience over {@link OpenedArchive.chunks}).
 * @throws everything `openArchive` and `chunks` throw.
 */
export async function readArchiveImage(archive: OpenedArchive, resolve?: BaseResolver): Promise<Uint8Array> {
  const image = new Uint8Array(archive.header.sizeBytes);
  for await (const chunk of archive.chunks(resolve)) image.set(chunk.plain, chunk.index * archive.header.chunkSize);
  return image;
}
