/**
 * The 100-byte SQLite database header, as described in https://www.sqlite.org/fileformat.html#the_database_header.
 * Only the fields pagevault uses are decoded.
 */
import { ErrorCode, PagevaultError } from '../errors';

/** "SQLite format 3\0". */
export const SQLITE_MAGIC = new Uint8Array([
  0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x20, 0x33, 0x00,
]);
/** Length of the header in bytes. */
export const SQLITE_HEADER_BYTES = 100;

// Byte offsets inside the header (big-endian fields), from the file format document.
const OFFSET_PAGE_SIZE = 16; // u16; 1 means 65536
const OFFSET_WRITE_VERSION = 18; // u8; 1 legacy, 2 WAL
const OFFSET_READ_VERSION = 19; // u8
const OFFSET_CHANGE_COUNTER = 24; // u32
const OFFSET_PAGE_COUNT = 28; // u32, "in-header database size"
const OFFSET_TEXT_ENCODING = 56; // u32; 1 UTF-8, 2 UTF-16le, 3 UTF-16be
const OFFSET_USER_VERSION = 60; // u32 (signed in SQLite's PRAGMA)
const OFFSET_VERSION_VALID_FOR = 92; // u32
const OFFSET_SQLITE_VERSION = 96; // u32, SQLITE_VERSION_NUMBER of the last writer

const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65536;

export type SqliteTextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** The decoded fields of a SQLite header. */
export interface SqliteHeader {
  /** Bytes per page, a power of two 512..65536. */
  readonly pageSize: number;
  /** Page count from the header, or null when the header says it is not valid (then use the file size). */
  readonly pageCount: number | null;
  /** File change counter (offset 24). */
  readonly changeCounter: number;
  /** `PRAGMA user_version`, signed. */
  readonly userVersion: number;
  /** SQLITE_VERSION_NUMBER of the library that last wrote the file, e.g. 3049001. */
  readonly sqliteVersion: number;
  readonly textEncoding: SqliteTextEncoding | null;
  /** True when the file is in WAL mode (read/write versions 2). */
  readonly wal: boolean;
}

/** True when the bytes start with the 16-byte SQLite magic. */
export function isSqliteMagic(bytes: Uint8Array): boolean {
  if (bytes.length < SQLITE_MAGIC.length) return false;
  for (let i = 0; i < SQLITE_MAGIC.length; i++) if (bytes[i] !== SQLITE_MAGIC[i]) return false;
  return true;
}

/**
 * Parses the first 100 bytes of a SQLite database.
 * @throws NOT_SQLITE when the magic is missing, the header is short or the page size is invalid.
 * @example const { pageSize, pageCount } = parseSqliteHeader(image.subarray(0, 100));
 */
export function parseSqliteHeader(bytes: Uint8Array): SqliteHeader {
  if (!isSqliteMagic(bytes)) throw new PagevaultError(ErrorCode.NOT_SQLITE, 'The bytes do not start with the SQLite header.');
  if (bytes.length < SQLITE_HEADER_BYTES) {
    throw new PagevaultError(ErrorCode.NOT_SQLITE, `The SQLite header is cut short (${bytes.length} of ${SQLITE_HEADER_BYTES} bytes).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SQLITE_HEADER_BYTES);
  const rawPageSize = view.getUint16(OFFSET_PAGE_SIZE);
  const pageSize = rawPageSize === 1 ? MAX_PAGE_SIZE : rawPageSize;
  if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) {
    throw new PagevaultError(ErrorCode.NOT_SQLITE, `Invalid SQLite page size ${rawPageSize}.`, { pageSize: rawPageSize });
  }
  const changeCounter = view.getUint32(OFFSET_CHANGE_COUNTER);
  const rawPageCount = view.getUint32(OFFSET_PAGE_COUNT);
  // The in-header size is valid only when it is non-zero and the version-valid-for number
  // matches the change counter (older writers left it stale).
  const pageCount = rawPageCount > 0 && view.getUint32(OFFSET_VERSION_VALID_FOR) === changeCounter ? rawPageCount : null;
  const encoding = view.getUint32(OFFSET_TEXT_ENCODING);
  const textEncoding: SqliteTextEncoding | null = encoding === 1 ? 'utf-8' : encoding === 2 ? 'utf-16le' : encoding === 3 ? 'utf-16be' : null;
  return {
    pageSize,
    pageCount,
    changeCounter,
    userVersion: view.getInt32(OFFSET_USER_VERSION),
    sqliteVersion: view.getUint32(OFFSET_SQLITE_VERSION),
    textEncoding,
    wal: view.getUint8(OFFSET_WRITE_VERSION) === 2 && view.getUint8(OFFSET_READ_VERSION) === 2,
  };
}
