/**
 * Archive format (v2 written, v1 and v2 read): byte layout constants, the header type and its validation.
 * The spec is src/format/ARCHIVE.md; every offset here has a row in its tables.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import type { TableCount } from '../../protocol';
import { isSha256Hex } from '../sha256';

/** First 8 bytes of every archive: "\x89PVLT\r\n\x1a" (high bit and line endings catch text-mode mangling). */
export const ARCHIVE_MAGIC = new Uint8Array([0x89, 0x50, 0x56, 0x4c, 0x54, 0x0d, 0x0a, 0x1a]);
/** Last 8 bytes of every archive: "PVLTEND\n". */
export const FOOTER_MAGIC = new Uint8Array([0x50, 0x56, 0x4c, 0x54, 0x45, 0x4e, 0x44, 0x0a]);
/** The format version this build writes (v2: an encrypted file seals its metadata). */
export const FORMAT_VERSION = 2;
/** The oldest format version this build reads. */
export const MIN_FORMAT_VERSION = 1;

// Preamble (ARCHIVE.md, "Preamble"), big-endian.
export const PREAMBLE_OFFSET_VERSION = 8; // u16
export const PREAMBLE_OFFSET_FLAGS = 10; // u16
export const PREAMBLE_OFFSET_HEADER_LENGTH = 12; // u32
export const PREAMBLE_BYTES = 16;
/** SHA-256 of preamble + header JSON, right after the header. */
export const DIGEST_BYTES = 32;

/** Flag bit 0 (critical): chunk records and the chunk table are encrypted. */
export const FLAG_ENCRYPTED = 0x0001;
/** Bits 0-7 are critical: a reader that does not know one must refuse the file. Bits 8-15 may be ignored. */
export const CRITICAL_FLAGS_MASK = 0x00ff;
export const KNOWN_FLAGS = FLAG_ENCRYPTED;

// Chunk table entry (ARCHIVE.md, "Chunk table"), big-endian.
export const ENTRY_OFFSET_INDEX = 0; // u32
export const ENTRY_OFFSET_KIND = 4; // u8
export const ENTRY_OFFSET_CODEC = 5; // u8
export const ENTRY_OFFSET_RESERVED_A = 6; // u16, zero
export const ENTRY_OFFSET_OFFSET = 8; // u64 (file offset of the stored record)
export const ENTRY_OFFSET_STORED_LENGTH = 16; // u32
export const ENTRY_OFFSET_PAYLOAD_LENGTH = 20; // u32 (decompressed payload)
export const ENTRY_OFFSET_SIZE = 24; // u32 (chunk plaintext)
export const ENTRY_OFFSET_RESERVED_B = 28; // u32, zero
export const ENTRY_OFFSET_KEY = 32; // 32 bytes, SHA-256 of the chunk plaintext
export const ENTRY_BYTES = 64;

/** AES-GCM tag appended to every encrypted record and to the encrypted table. */
export const GCM_TAG_BYTES = 16;
/** Trailer checksum: SHA-256(header digest + stored table + footer fields). */
export const TRAILER_CHECKSUM_BYTES = 32;

// Footer (ARCHIVE.md, "Footer"), big-endian, the last FOOTER_BYTES of the file.
export const FOOTER_OFFSET_TRAILER_OFFSET = 0; // u64
export const FOOTER_OFFSET_TRAILER_LENGTH = 8; // u32
export const FOOTER_OFFSET_CHUNK_COUNT = 12; // u32
export const FOOTER_OFFSET_MAGIC = 16; // 8 bytes
export const FOOTER_BYTES = 24;
/** The footer fields covered by the trailer checksum (everything but the magic). */
export const FOOTER_FIELDS_BYTES = 16;

/** Record kinds as stored in the table. */
export const KIND_CODES = { full: 1, ref: 2, patch: 3 } as const;
export type RecordKind = keyof typeof KIND_CODES;
export const CODEC_CODES = { raw: 0, deflate: 1 } as const;

// Limits checked before anything is allocated.
export const MAX_HEADER_BYTES = 1024 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const MAX_CHUNK_COUNT = 1 << 18;
/** Default cap on the image a reader accepts (sql.js keeps the whole database in memory). */
export const DEFAULT_MAX_IMAGE_BYTES = 2 * 1024 * 1024 * 1024;
export const MAX_PAGE_COUNT = 0xfffffffe;
export const MAX_TABLES = 10_000;
export const MAX_TEXT_LENGTH = 4096;

/** Largest stored record for a chunk size: raw payload plus patch overhead plus the GCM tag. */
export function maxStoredLength(chunkSize: number): number {
  return maxPayloadLength(chunkSize) + GCM_TAG_BYTES;
}
/** Largest decoded payload: a patch listing every page (key, count, one u32 per page) beats a full chunk only below this. */
export function maxPayloadLength(chunkSize: number): number {
  return chunkSize + 36 + 4 * Math.ceil(chunkSize / 512);
}

export interface ArchiveEncryption {
  readonly cipher: 'AES-256-GCM';
  readonly kdf: 'PBKDF2-SHA256';
  readonly iterations: number;
  /** Hex, 16..64 bytes. */
  readonly salt: string;
  /** Hex, 8 bytes: the per-file half of every nonce. */
  readonly noncePrefix: string;
  /** Hex HMAC-SHA256 that tells a wrong passphrase from tampered data. */
  readonly keyCheck: string;
}

/** Names the image an incremental archive was made against. */
export interface ArchiveBase {
  /** SHA-256 of the base image. */
  readonly sha256: string;
  readonly chunkCount: number;
  /** SHA-256 of the base's chunk keys (32 raw bytes each, in index order); see `chunkKeysDigest`. */
  readonly keysSha256: string;
}

/** Everything the header of an archive says (for an encrypted v2 file, once its metadata is unsealed). */
export interface ArchiveHeader {
  readonly name: string;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly note?: string;
  /** How the image was made: `pages`, `vacuum`, `upload`, `auto`, `cli`... */
  readonly method: string;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  /** SHA-256 of the whole image, lowercase hex. */
  readonly sha256: string;
  readonly sqliteVersion: number;
  readonly userVersion: number;
  readonly tables: readonly TableCount[];
  readonly partial?: boolean;
  readonly chunkSize: number;
  readonly chunkCount: number;
  /** Chunk payloads are raw or raw DEFLATE, per record. */
  readonly compression: 'deflate-raw';
  readonly encryption?: ArchiveEncryption;
  readonly base?: ArchiveBase;
}

/** What the writer is given: the header minus what the writer itself decides. */
export type ArchiveHeaderInput = Omit<ArchiveHeader, 'chunkCount' | 'compression' | 'encryption'>;

function fail(code: ErrorCode, message: string): never {
  throw new PagevaultError(code, message);
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const isText = (v: unknown, max = MAX_TEXT_LENGTH): v is string => typeof v === 'string' && v.length <= max;
const isHex = (v: unknown, minBytes: number, maxBytes: number): v is string =>
  typeof v === 'string' && /^[0-9a-f]*$/.test(v) && v.length % 2 === 0 && v.length >= minBytes * 2 && v.length <= maxBytes * 2;

/**
 * Checks a parsed header object field by field and returns it typed. Shared by reader and writer.
 * @throws INVALID_BACKUP for a malformed field, UNSUPPORTED_VERSION for an unknown compression or
 *   cipher, LIMIT_EXCEEDED when the image exceeds `maxImageBytes`.
 */
export function validateHeader(value: unknown, maxImageBytes: number = DEFAULT_MAX_IMAGE_BYTES): ArchiveHeader {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(ErrorCode.INVALID_BACKUP, 'The archive header is not an object.');
  const h = value as Record<string, unknown>;
  const bad = (field: string): never => fail(ErrorCode.INVALID_BACKUP, `The archive header field "${field}" is missing or invalid.`);
  if (!isText(h['name'], 256) || h['name'].length === 0) bad('name');
  if (!isInt(h['createdAt'], 0, 8.64e15)) bad('createdAt');
  if (h['note'] !== undefined && !isText(h['note'])) bad('note');
  if (!isText(h['method'], 64)) bad('method');
  const pageSize = h['pageSize'];
  if (!isInt(pageSize, 512, 65536) || (pageSize & (pageSize - 1)) !== 0) bad('pageSize');
  if (!isInt(h['pageCount'], 1, MAX_PAGE_COUNT)) bad('pageCount');
  const sizeBytes = h['sizeBytes'];
  if (!isInt(sizeBytes, 1, Number.MAX_SAFE_INTEGER) || sizeBytes !== (pageSize as number) * (h['pageCount'] as number)) bad('sizeBytes');
  if (!isSha256Hex(h['sha256'])) bad('sha256');
  if (!isInt(h['sqliteVersion'], 0, 0xffffffff)) bad('sqliteVersion');
  if (!isInt(h['userVersion'], -0x80000000, 0x7fffffff)) bad('userVersion');
  const tables = h['tables'];
  if (!Array.isArray(tables) || tables.length > MAX_TABLES) bad('tables');
  for (const t of tables as unknown[]) {
    const row = t as Record<string, unknown> | null;
    if (typeof row !== 'object' || row === null || !isText(row['name'], 1024) || !isInt(row['rows'], 0, Number.MAX_SAFE_INTEGER)) bad('tables');
  }
  if (h['partial'] !== undefined && typeof h['partial'] !== 'boolean') bad('partial');
  const chunkSize = h['chunkSize'];
  if (!isInt(chunkSize, pageSize as number, MAX_CHUNK_SIZE) || chunkSize % (pageSize as number) !== 0) bad('chunkSize');
  if (h['compression'] !== 'deflate-raw') fail(ErrorCode.UNSUPPORTED_VERSION, `Unknown archive compression ${JSON.stringify(h['compression'])}.`);
  if ((sizeBytes as number) > maxImageBytes) {
    throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The archive holds a ${sizeBytes} byte image; the limit is ${maxImageBytes}.`, { sizeBytes: sizeBytes as number, maxImageBytes });
  }
  const chunkCount = Math.ceil((sizeBytes as number) / (chunkSize as number));
  if (chunkCount > MAX_CHUNK_COUNT) {
    throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The archive has ${chunkCount} chunks; the limit is ${MAX_CHUNK_COUNT}.`, { chunkCount });
  }
  if (h['chunkCount'] !== chunkCount) bad('chunkCount');
  if (h['encryption'] !== undefined) validateEncryption(h['encryption']);
  if (h['base'] !== undefined) {
    const b = h['base'] as Record<string, unknown> | null;
    if (typeof b !== 'object' || b === null || !isSha256Hex(b['sha256']) || !isSha256Hex(b['keysSha256']) || !isInt(b['chunkCount'], 1, MAX_CHUNK_COUNT)) bad('base');
  }
  return h as unknown as ArchiveHeader;
}

/**
 * The clear header of an encrypted v2 archive: only what finding and checking the key needs, and
 * the rest of the header sealed (hex of AES-GCM over its JSON).
 */
export interface SealedHeader {
  readonly encryption: ArchiveEncryption;
  /** Hex: AES-GCM(JSON of the header without `encryption`), tag appended. */
  readonly sealed: string;
}

/**
 * Checks the clear header of an encrypted v2 archive.
 * @throws INVALID_BACKUP for a malformed field, UNSUPPORTED_VERSION for an unknown cipher or KDF.
 */
export function validateSealedHeader(value: unknown): SealedHeader {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(ErrorCode.INVALID_BACKUP, 'The archive header is not an object.');
  const h = value as Record<string, unknown>;
  if (h['encryption'] === undefined) fail(ErrorCode.INVALID_BACKUP, 'The archive header field "encryption" is missing.');
  validateEncryption(h['encryption']);
  if (!isHex(h['sealed'], GCM_TAG_BYTES + 2, MAX_HEADER_BYTES)) fail(ErrorCode.INVALID_BACKUP, 'The archive header field "sealed" is missing or invalid.');
  return { encryption: h['encryption'] as ArchiveEncryption, sealed: h['sealed'] as string };
}

function validateEncryption(value: unknown): void {
  const e = value as Record<string, unknown> | null;
  if (typeof e !== 'object' || e === null) fail(ErrorCode.INVALID_BACKUP, 'The archive header field "encryption" is invalid.');
  if (e['cipher'] !== 'AES-256-GCM' || e['kdf'] !== 'PBKDF2-SHA256') {
    fail(ErrorCode.UNSUPPORTED_VERSION, `Unknown encryption ${JSON.stringify(e['cipher'])} / ${JSON.stringify(e['kdf'])}.`);
  }
  if (!isInt(e['iterations'], 1, Number.MAX_SAFE_INTEGER) || !isHex(e['salt'], 16, 64) || !isHex(e['noncePrefix'], 8, 8) || !isHex(e['keyCheck'], 32, 32)) {
    fail(ErrorCode.INVALID_BACKUP, 'The archive header field "encryption" is invalid.');
  }
}
