/**
 * Archive reader: header and trailer first (limits checked before the body is touched), then the
 * chunks one by one, each verified (decrypt, decompress with a cap, SHA-256 == key), and at the
 * end the whole image's SHA-256 against the header.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import type { InspectResult } from '../../protocol';
import { decompressUntrustedChunk } from '../codec';
import type { ChunkCodec } from '../codec';
import { Sha256, fromHex, sha256, toHex } from '../sha256';
import { checkIterations, deriveCached, METADATA_RECORD_INDEX, open, TABLE_RECORD_INDEX } from './crypto';
import type { ArchiveKeyCache, ArchiveKeys } from './crypto';
import { parseJson, readFrame } from './frame';
import type { Frame } from './frame';
import { CODEC_CODES, DEFAULT_MAX_IMAGE_BYTES, KIND_CODES, validateHeader } from './layout';
import type { ArchiveHeader, RecordKind } from './layout';
import { PADDING_RECORD_INDEX_BASE, paddedTableEntries, paddingRecordLengths } from './padding';
import { applyPatch, decodePatch } from './patch';
import { readExact } from './source';
import type { ByteSource } from './source';
import { decodeEntries } from './table';
import type { ChunkEntry } from './table';
import { metadataDigest } from './writer';

export interface OpenArchiveOptions {
  /**
   * Needed for encrypted archives; not checked for plain ones (so one passphrase can be passed for
   * a whole chain): set `requireEncrypted` to refuse a plain archive, and check `encrypted`.
   */
  readonly passphrase?: string;
  /** Refuse a plain archive (`NOT_ENCRYPTED`): a forged plain file cannot stand in for an encrypted backup. */
  readonly requireEncrypted?: boolean;
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

/** The refusal of a plain file where an encrypted one is required. */
export function notEncrypted(what = 'This backup'): PagevaultError {
  return new PagevaultError(ErrorCode.NOT_ENCRYPTED, `${what} is not encrypted, and an encrypted backup was required: it may have been replaced by a plain copy.`);
}

/** Facts of a header as `inspect` reports them. */
function factsOf(version: number, header: ArchiveHeader): InspectResult {
  return {
    format: 'archive',
    version,
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
    encrypted: header.encryption !== undefined,
    ...(header.base === undefined ? {} : { base: header.base.sha256 }),
    ...(header.partial === undefined ? {} : { partial: header.partial }),
  };
}

export interface InspectArchiveOptions {
  /** Opens an encrypted v2 archive's sealed metadata (and checks the passphrase). */
  readonly passphrase?: string;
  readonly keyCache?: ArchiveKeyCache;
  readonly maxImageBytes?: number;
}

/** What `inspectArchive` returns: the facts, and the header when it could be read. */
export type ArchiveFacts = InspectResult & { readonly header?: ArchiveHeader };

/**
 * Reads an archive's header facts without reading the body (header, footer and trailer checksum
 * are verified). An encrypted v2 archive without a passphrase tells only that it is encrypted, its
 * format version and its file size (`sizeBytes`; `pageSize` and `pageCount` 0); with the passphrase
 * (checked) it tells everything. A v1 archive's header is clear either way, and a passphrase given
 * for an encrypted one is checked too.
 * @throws INVALID_BACKUP, UNSUPPORTED_VERSION, INTEGRITY, LIMIT_EXCEEDED; with a passphrase also WRONG_PASSPHRASE.
 * @example const facts = await inspectArchive(blobSource(file), { passphrase });
 */
export async function inspectArchive(source: ByteSource, options: InspectArchiveOptions = {}): Promise<ArchiveFacts> {
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const frame = await readFrame(source, maxImageBytes);
  const hasPassphrase = options.passphrase !== undefined && options.passphrase !== '';
  if (frame.header) {
    // v1 encrypted: the header is clear, but a passphrase given is checked all the same.
    if (frame.encrypted && hasPassphrase) await unlock(frame, options.passphrase, options.keyCache, maxImageBytes);
    return { ...factsOf(frame.version, frame.header), header: frame.header };
  }
  if (!hasPassphrase) {
    return { format: 'archive', version: frame.version, pageSize: 0, pageCount: 0, sizeBytes: source.size, encrypted: true };
  }
  const { header } = await unlock(frame, options.passphrase, options.keyCache, maxImageBytes);
  return { ...factsOf(frame.version, header), header };
}

/**
 * Derives the key, checks it, and (v2) unseals the metadata: the full header.
 * @throws PASSPHRASE_REQUIRED, WRONG_PASSPHRASE, INVALID_BACKUP, LIMIT_EXCEEDED, INTEGRITY.
 */
async function unlock(frame: Frame, passphrase: string | undefined, keyCache: ArchiveKeyCache | undefined, maxImageBytes: number): Promise<{ header: ArchiveHeader; keys: ArchiveKeys }> {
  const encryption = frame.header?.encryption ?? frame.sealed!.encryption;
  if (passphrase === undefined || passphrase === '') throw new PagevaultError(ErrorCode.PASSPHRASE_REQUIRED, 'This backup is encrypted; a passphrase is required.');
  checkIterations(encryption.iterations);
  let keys = await deriveCached(passphrase, encryption.salt, encryption.iterations, frame.version, keyCache);
  if (keys.keyCheck !== encryption.keyCheck && frame.version === 1) {
    // v1 files were written before passphrases were normalised: try the passphrase as given, then
    // in NFD (what a Mac's file system and some keyboards produced), for a file written in either.
    for (const form of new Set([passphrase, passphrase.normalize('NFD')])) {
      if (form === passphrase.normalize('NFC') || keys.keyCheck === encryption.keyCheck) continue;
      keys = await deriveCached(form, encryption.salt, encryption.iterations, frame.version, keyCache, true);
    }
  }
  const binding = { headerDigest: await metadataDigest(frame.preamble, encryption), index: METADATA_RECORD_INDEX, last: true, kind: 0, codec: 0 };
  const openMetadata = () => open(keys, fromHex(encryption.noncePrefix)!, binding, fromHex(frame.sealed!.sealed)!);
  if (keys.keyCheck !== encryption.keyCheck) {
    // v2: a key that opens the sealed metadata is the right one, so a key check that disagrees was
    // altered (it is clear and unkeyed): that is tampering, not a wrong passphrase.
    if (frame.sealed && (await openMetadata().then(() => true, () => false))) {
      throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive header was altered: its key check does not match the key that opens it.');
    }
    throw new PagevaultError(ErrorCode.WRONG_PASSPHRASE, 'The passphrase does not open this backup.');
  }
  if (frame.header) return { header: frame.header, keys };
  const inner = parseJson(await openMetadata());
  if (typeof inner === 'object' && inner !== null && 'encryption' in inner) throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The sealed header must not hold "encryption".');
  const header = validateHeader({ ...(inner as object), encryption }, maxImageBytes);
  if (paddedTableEntries(header.chunkCount) !== frame.tableEntries) throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive footer does not match its sealed header.');
  return { header, keys };
}

/**
 * Opens an archive for reading: checks header, footer and trailer, the passphrase when encrypted
 * (unsealing the metadata of a v2 file), and the chunk table, before any chunk is read.
 * @throws INVALID_BACKUP, UNSUPPORTED_VERSION, INTEGRITY, LIMIT_EXCEEDED, PASSPHRASE_REQUIRED, WRONG_PASSPHRASE.
 * @example
 * const archive = await openArchive(blobSource(file), { passphrase });
 * for await (const chunk of archive.chunks(resolveBaseChunk)) stage(chunk);
 */
export async function openArchive(source: ByteSource, options: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const frame = await readFrame(source, maxImageBytes);
  const { encrypted, headerDigest } = frame;
  if (options.requireEncrypted === true && !encrypted) throw notEncrypted();
  let header = frame.header;
  let keys: ArchiveKeys | undefined;
  let noncePrefix: Uint8Array = new Uint8Array(0);
  let table: Uint8Array = frame.storedTable;
  if (encrypted) {
    ({ header, keys } = await unlock(frame, options.passphrase, options.keyCache, maxImageBytes));
    noncePrefix = fromHex(header.encryption!.noncePrefix)!;
    table = await open(keys, noncePrefix, { headerDigest, index: TABLE_RECORD_INDEX, last: true, kind: 0, codec: 0 }, table);
  }
  const full = header!;
  const entries = decodeEntries(table, full, frame.bodyStart, frame.trailerOffset, encrypted, frame.padded);
  const last = entries.at(-1);
  const recordsEnd = last === undefined ? frame.bodyStart : last.offset + last.storedLength;

  /** Authenticates the padding records (encrypted v2): their bytes are ignored, but every byte of the file is checked. */
  async function checkPadding(): Promise<void> {
    if (!frame.padded) return;
    let at = recordsEnd;
    const lengths = paddingRecordLengths(frame.trailerOffset - recordsEnd);
    for (const [k, length] of lengths.entries()) {
      const binding = { headerDigest, index: PADDING_RECORD_INDEX_BASE + k, last: k === lengths.length - 1, kind: 0, codec: 0 };
      await open(keys!, noncePrefix, binding, await readExact(source, at, length));
      at += length;
    }
  }

  async function* chunks(resolve?: BaseResolver): AsyncIterable<ArchiveChunk> {
    const image = new Sha256();
    const base = async (key: string, index: number): Promise<Uint8Array> => {
      const plain = resolve ? await resolve(key) : undefined;
      if (plain === undefined) throw new PagevaultError(ErrorCode.CHAIN, `Chunk ${index} needs base chunk ${key.slice(0, 12)}..., which the base does not have.`, { index, key });
      return plain;
    };
    for (const entry of entries) {
      const { index, kind, size, key } = entry;
      let stored = await readExact(source, entry.offset, entry.storedLength);
      if (keys && kind !== 'ref') {
        const last = index === full.chunkCount - 1;
        stored = await open(keys, noncePrefix, { headerDigest, index, last, kind: KIND_CODES[kind], codec: CODEC_CODES[entry.codec] }, stored);
      }
      let plain: Uint8Array;
      if (kind === 'full') {
        plain = decompressUntrustedChunk(entry.codec, stored, size);
      } else if (kind === 'ref') {
        plain = await base(key, index);
        if (plain.length !== size || toHex(await sha256(plain)) !== key) {
          throw new PagevaultError(ErrorCode.CHAIN, `Base chunk for chunk ${index} does not match its key.`, { index });
        }
      } else {
        const patch = decodePatch(decompressUntrustedChunk(entry.codec, stored, entry.payloadLength), size, full.pageSize);
        const baseChunk = await base(patch.baseKey, index);
        if (toHex(await sha256(baseChunk)) !== patch.baseKey) {
          throw new PagevaultError(ErrorCode.CHAIN, `Base chunk for chunk ${index} does not match its key.`, { index });
        }
        plain = applyPatch(baseChunk, patch, size, full.pageSize);
      }
      if (kind !== 'ref' && toHex(await sha256(plain)) !== key) {
        throw new PagevaultError(ErrorCode.INTEGRITY, `Chunk ${index} does not match its SHA-256.`, { index });
      }
      image.update(plain);
      const isFull = kind === 'full';
      yield { index, key, size, kind, codec: isFull ? entry.codec : 'raw', data: isFull ? stored : plain, plain };
    }
    await checkPadding();
    if (toHex(image.digest()) !== full.sha256) throw new PagevaultError(ErrorCode.INTEGRITY, 'The reassembled image does not match the SHA-256 in the header.');
  }

  return { version: frame.version, header: full, encrypted, entries, chunks };
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
