/**
 * The chunk table (one fixed-size entry per chunk) and the footer: encoding and checked decoding.
 * Layout: ARCHIVE.md "Chunk table" and "Footer"; offsets in ./layout.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import type { ChunkCodec } from '../codec';
import { toHex, fromHex } from '../sha256';
import {
  CODEC_CODES, ENTRY_BYTES, ENTRY_OFFSET_CODEC, ENTRY_OFFSET_INDEX, ENTRY_OFFSET_KEY, ENTRY_OFFSET_KIND,
  ENTRY_OFFSET_OFFSET, ENTRY_OFFSET_PAYLOAD_LENGTH, ENTRY_OFFSET_RESERVED_A, ENTRY_OFFSET_RESERVED_B,
  ENTRY_OFFSET_SIZE, ENTRY_OFFSET_STORED_LENGTH, FOOTER_BYTES, FOOTER_MAGIC, FOOTER_OFFSET_CHUNK_COUNT,
  FOOTER_OFFSET_MAGIC, FOOTER_OFFSET_TRAILER_LENGTH, FOOTER_OFFSET_TRAILER_OFFSET, GCM_TAG_BYTES, KIND_CODES, maxPayloadLength,
  maxStoredLength,
} from './layout';
import type { ArchiveHeader, RecordKind } from './layout';
import { paddingLength } from './padding';
import { encodedPatchLength } from './patch';

/** One chunk table entry. */
export interface ChunkEntry {
  readonly index: number;
  readonly kind: RecordKind;
  readonly codec: ChunkCodec;
  /** File offset of the stored record. */
  readonly offset: number;
  /** Bytes the record occupies in the file (after compression and encryption). */
  readonly storedLength: number;
  /** Bytes of the decompressed payload: the chunk for `full`, the encoded patch for `patch`, 0 for `ref`. */
  readonly payloadLength: number;
  /** Bytes of the chunk plaintext. */
  readonly size: number;
  /** SHA-256 of the chunk plaintext, lowercase hex. */
  readonly key: string;
}

/** The footer's fields. */
export interface Footer {
  readonly trailerOffset: number;
  readonly trailerLength: number;
  readonly chunkCount: number;
}

function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 4, value >>> 0);
}
function getU64(view: DataView, at: number): number {
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
}

export function encodeEntries(entries: readonly ChunkEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * ENTRY_BYTES);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    const at = i * ENTRY_BYTES;
    view.setUint32(at + ENTRY_OFFSET_INDEX, e.index);
    out[at + ENTRY_OFFSET_KIND] = KIND_CODES[e.kind];
    out[at + ENTRY_OFFSET_CODEC] = CODEC_CODES[e.codec];
    setU64(view, at + ENTRY_OFFSET_OFFSET, e.offset);
    view.setUint32(at + ENTRY_OFFSET_STORED_LENGTH, e.storedLength);
    view.setUint32(at + ENTRY_OFFSET_PAYLOAD_LENGTH, e.payloadLength);
    view.setUint32(at + ENTRY_OFFSET_SIZE, e.size);
    out.set(fromHex(e.key)!, at + ENTRY_OFFSET_KEY);
  });
  return out;
}

/** Size of chunk `index` in an image cut into `chunkSize` pieces. */
export function expectedChunkSize(header: Pick<ArchiveHeader, 'sizeBytes' | 'chunkSize'>, index: number): number {
  return Math.min(header.chunkSize, header.sizeBytes - index * header.chunkSize);
}

const kindByCode = new Map<number, RecordKind>(Object.entries(KIND_CODES).map(([k, v]) => [v, k as RecordKind]));
const codecByCode = new Map<number, ChunkCodec>(Object.entries(CODEC_CODES).map(([k, v]) => [v, k as ChunkCodec]));

/**
 * Decodes and cross-checks the table against the header and the body's extent. With `padded`
 * (encrypted v2), the records end before `bodyEnd`, the rest is padding: at least one GCM tag, at
 * most {@link paddingLength} of the records.
 * @throws INVALID_BACKUP when an entry is inconsistent (wrong index, size, kind, a gap or overlap, a length past its limit).
 */
export function decodeEntries(table: Uint8Array, header: ArchiveHeader, bodyStart: number, bodyEnd: number, encrypted: boolean, padded = false): ChunkEntry[] {
  const view = new DataView(table.buffer, table.byteOffset, table.length);
  const entries: ChunkEntry[] = [];
  let expectedOffset = bodyStart;
  for (let i = 0; i < header.chunkCount; i++) {
    const at = i * ENTRY_BYTES;
    const bad = (why: string): never => {
      throw new PagevaultError(ErrorCode.INVALID_BACKUP, `Chunk table entry ${i} is invalid: ${why}.`, { index: i });
    };
    const kind = kindByCode.get(table[at + ENTRY_OFFSET_KIND]!) ?? bad('unknown kind');
    const codec = codecByCode.get(table[at + ENTRY_OFFSET_CODEC]!) ?? bad('unknown codec');
    if (view.getUint32(at + ENTRY_OFFSET_INDEX) !== i) bad('index out of order');
    if (view.getUint16(at + ENTRY_OFFSET_RESERVED_A) !== 0 || view.getUint32(at + ENTRY_OFFSET_RESERVED_B) !== 0) bad('reserved bits set');
    const offset = getU64(view, at + ENTRY_OFFSET_OFFSET);
    const storedLength = view.getUint32(at + ENTRY_OFFSET_STORED_LENGTH);
    const payloadLength = view.getUint32(at + ENTRY_OFFSET_PAYLOAD_LENGTH);
    const size = view.getUint32(at + ENTRY_OFFSET_SIZE);
    if (offset !== expectedOffset) bad('records are not contiguous');
    if (size !== expectedChunkSize(header, i)) bad('wrong chunk size');
    if (storedLength > maxStoredLength(header.chunkSize) || payloadLength > maxPayloadLength(header.chunkSize)) bad('length over the limit');
    if (kind === 'ref') {
      if (storedLength !== 0 || payloadLength !== 0 || codec !== 'raw') bad('a reference carries data');
    } else if (kind === 'full') {
      if (payloadLength !== size) bad('payload length differs from chunk size');
    } else if (payloadLength < encodedPatchLength(0, header.pageSize) || (payloadLength - encodedPatchLength(0, header.pageSize)) % (4 + header.pageSize) !== 0) {
      bad('patch length is not a whole number of pages');
    }
    if (kind !== 'ref' && encrypted && storedLength === 0) bad('empty encrypted record');
    if (kind !== 'full' && header.base === undefined) bad('an incremental record in an archive without a base');
    expectedOffset = offset + storedLength;
    if (expectedOffset > bodyEnd) bad('record past the end of the body');
    entries.push({ index: i, kind, codec, offset, storedLength, payloadLength, size, key: toHex(table.subarray(at + ENTRY_OFFSET_KEY, at + ENTRY_OFFSET_KEY + 32)) });
  }
  // Padding: at least one tag (it cannot be cut off) and at most what PADME asks (a reader never
  // authenticates more than 12% beyond the records).
  const padding = bodyEnd - expectedOffset;
  if (padded ? padding < GCM_TAG_BYTES || padding > paddingLength(expectedOffset - bodyStart) : padding !== 0) {
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, padded ? 'The padding after the chunk records is missing or too long.' : 'The chunk records do not end where the trailer starts.');
  }
  return entries;
}

export function encodeFooter(footer: Footer): Uint8Array {
  const out = new Uint8Array(FOOTER_BYTES);
  const view = new DataView(out.buffer);
  setU64(view, FOOTER_OFFSET_TRAILER_OFFSET, footer.trailerOffset);
  view.setUint32(FOOTER_OFFSET_TRAILER_LENGTH, footer.trailerLength);
  view.setUint32(FOOTER_OFFSET_CHUNK_COUNT, footer.chunkCount);
  out.set(FOOTER_MAGIC, FOOTER_OFFSET_MAGIC);
  return out;
}

/**
 * Decodes the footer.
 * @throws INTEGRITY when its magic is missing (the file is truncated or has bytes appended).
 */
export function decodeFooter(bytes: Uint8Array): Footer {
  for (let i = 0; i < FOOTER_MAGIC.length; i++) {
    if (bytes[FOOTER_OFFSET_MAGIC + i] !== FOOTER_MAGIC[i]) {
      throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive footer is missing: the file is truncated or has bytes appended.');
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FOOTER_BYTES);
  return {
    trailerOffset: getU64(view, FOOTER_OFFSET_TRAILER_OFFSET),
    trailerLength: view.getUint32(FOOTER_OFFSET_TRAILER_LENGTH),
    chunkCount: view.getUint32(FOOTER_OFFSET_CHUNK_COUNT),
  };
}
