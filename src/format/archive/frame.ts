/**
 * The frame of an archive: preamble, header, footer and trailer, read and checked before any
 * record (and before anything is decrypted). See ARCHIVE.md, "Reading order and checks" 1-3.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import { sha256, toHex } from '../sha256';
import {
  ARCHIVE_MAGIC, CRITICAL_FLAGS_MASK, DIGEST_BYTES, ENTRY_BYTES, FLAG_ENCRYPTED, FOOTER_BYTES, FOOTER_FIELDS_BYTES,
  FORMAT_VERSION, GCM_TAG_BYTES, KNOWN_FLAGS, MAX_CHUNK_COUNT, MAX_HEADER_BYTES, MIN_FORMAT_VERSION, PREAMBLE_BYTES,
  PREAMBLE_OFFSET_FLAGS, PREAMBLE_OFFSET_HEADER_LENGTH, PREAMBLE_OFFSET_VERSION, TRAILER_CHECKSUM_BYTES, validateHeader,
  validateSealedHeader,
} from './layout';
import type { ArchiveHeader, SealedHeader } from './layout';
import { paddedTableEntries } from './padding';
import { readExact } from './source';
import type { ByteSource } from './source';
import { decodeFooter } from './table';
import { trailerChecksum } from './writer';

export interface Frame {
  readonly version: number;
  /** The whole header; for an encrypted v2 file, undefined until the metadata is unsealed. */
  readonly header: ArchiveHeader | undefined;
  /** The clear header of an encrypted v2 file. */
  readonly sealed: SealedHeader | undefined;
  readonly encrypted: boolean;
  /** The first 12 preamble bytes (magic, version, flags): bound into the sealed metadata. */
  readonly preamble: Uint8Array;
  readonly headerDigest: Uint8Array;
  readonly bodyStart: number;
  readonly trailerOffset: number;
  /** Entries in the chunk table: the chunk count, rounded up for an encrypted v2 file (see ./padding). */
  readonly tableEntries: number;
  /** Encrypted v2: padding records follow the chunk records. */
  readonly padded: boolean;
  readonly storedTable: Uint8Array;
}

/** Reads and checks preamble, header, footer and trailer (without decrypting anything). */
export async function readFrame(source: ByteSource, maxImageBytes: number): Promise<Frame> {
  const minSize = PREAMBLE_BYTES + DIGEST_BYTES + FOOTER_BYTES;
  const preamble = await source.read(0, PREAMBLE_BYTES).catch(() => new Uint8Array(0));
  if (preamble.length < ARCHIVE_MAGIC.length || ARCHIVE_MAGIC.some((b, i) => preamble[i] !== b)) {
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The file is not a pagevault archive.');
  }
  if (source.size < minSize || preamble.length < PREAMBLE_BYTES) throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive is truncated.');
  const view = new DataView(preamble.buffer, preamble.byteOffset, PREAMBLE_BYTES);
  const version = view.getUint16(PREAMBLE_OFFSET_VERSION);
  if (version < MIN_FORMAT_VERSION || version > FORMAT_VERSION) {
    throw new PagevaultError(
      version > FORMAT_VERSION ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.INVALID_BACKUP,
      `Archive format version ${version} is not supported (this build reads versions ${MIN_FORMAT_VERSION} to ${FORMAT_VERSION}).`,
      { version },
    );
  }
  const flags = view.getUint16(PREAMBLE_OFFSET_FLAGS);
  if ((flags & CRITICAL_FLAGS_MASK & ~KNOWN_FLAGS) !== 0) {
    throw new PagevaultError(ErrorCode.UNSUPPORTED_VERSION, `The archive uses features this build does not know (flags 0x${flags.toString(16)}).`, { flags });
  }
  const headerLength = view.getUint32(PREAMBLE_OFFSET_HEADER_LENGTH);
  if (headerLength > source.size - minSize) throw new PagevaultError(ErrorCode.INTEGRITY, `The header length ${headerLength} runs past the end of the file.`, { headerLength });
  if (headerLength > MAX_HEADER_BYTES) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The header is ${headerLength} bytes; the limit is ${MAX_HEADER_BYTES}.`, { headerLength });

  const headerAndDigest = await readExact(source, 0, PREAMBLE_BYTES + headerLength + DIGEST_BYTES);
  const headerDigest = headerAndDigest.slice(PREAMBLE_BYTES + headerLength);
  const computed = await sha256(headerAndDigest.subarray(0, PREAMBLE_BYTES + headerLength));
  if (toHex(computed) !== toHex(headerDigest)) throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive header is damaged (digest mismatch).');
  const parsed = parseJson(headerAndDigest.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength));
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  // v2 encrypted: only the key's facts are clear; everything else waits for the passphrase.
  const sealed = encrypted && version >= 2 ? validateSealedHeader(parsed) : undefined;
  const header = sealed ? undefined : validateHeader(parsed, maxImageBytes);
  if (header && encrypted !== (header.encryption !== undefined)) throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The encryption flag and the header disagree.');

  const footer = decodeFooter(await readExact(source, source.size - FOOTER_BYTES, FOOTER_BYTES));
  const bodyStart = PREAMBLE_BYTES + headerLength + DIGEST_BYTES;
  // The footer's count is checked against the header here, or after unsealing (v2 encrypted, where
  // it counts the padded table's entries: a power of two).
  const tableEntries = header?.chunkCount ?? footer.chunkCount;
  if (tableEntries > MAX_CHUNK_COUNT || (sealed && paddedTableEntries(tableEntries) !== tableEntries)) {
    throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive footer is damaged (table size invalid or over the limit).');
  }
  const tableLength = tableEntries * ENTRY_BYTES + (encrypted ? GCM_TAG_BYTES : 0);
  if (
    footer.chunkCount !== tableEntries ||
    footer.trailerLength !== tableLength + TRAILER_CHECKSUM_BYTES ||
    footer.trailerOffset < bodyStart ||
    footer.trailerOffset + footer.trailerLength + FOOTER_BYTES !== source.size
  ) {
    throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive footer does not match its header or the file size: truncated, extended or damaged.');
  }
  const trailer = await readExact(source, footer.trailerOffset, footer.trailerLength);
  const storedTable = trailer.subarray(0, tableLength);
  const footerBytes = await readExact(source, source.size - FOOTER_BYTES, FOOTER_FIELDS_BYTES);
  const expected = await trailerChecksum(headerDigest, storedTable, footerBytes);
  if (toHex(expected) !== toHex(trailer.subarray(tableLength))) throw new PagevaultError(ErrorCode.INTEGRITY, 'The chunk table is damaged (checksum mismatch).');
  const padded = sealed !== undefined;
  return { version, header, sealed, encrypted, preamble: preamble.slice(0, PREAMBLE_OFFSET_HEADER_LENGTH), headerDigest, bodyStart, trailerOffset: footer.trailerOffset, tableEntries, padded, storedTable };
}

/**
 * Parses header JSON (strict UTF-8).
 * @throws INVALID_BACKUP when it is not valid JSON.
 */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The archive header is not valid JSON.', {}, { cause: error });
  }
}
