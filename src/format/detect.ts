/**
 * Tells what an uploaded file is from its first bytes, never from its name.
 */
import { ErrorCode, PagevaultError } from '../errors';
import { ARCHIVE_MAGIC } from './archive/layout';
import { isSqliteMagic } from './sqlite-header';

/** What {@link detectKind} recognises. */
export type FileKind = 'archive' | 'sqlite' | 'gzip' | 'sql';

/** How many leading bytes {@link detectKind} looks at; pass at least this many when the file has them. */
export const DETECT_BYTES = 4096;

const SQL_KEYWORDS = new Set([
  'PRAGMA', 'BEGIN', 'CREATE', 'INSERT', 'DROP', 'DELETE', 'UPDATE', 'COMMIT', 'SAVEPOINT',
  'ANALYZE', 'WITH', 'SELECT', 'REPLACE', 'ALTER', 'END', 'VACUUM', 'ROLLBACK', 'RELEASE', 'REINDEX', 'ATTACH',
]);

function startsWith(bytes: Uint8Array, prefix: readonly number[] | Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Names well-known non-database formats, for a helpful error message. */
function describeOther(bytes: Uint8Array): string {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47])) return 'a PNG image';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return 'a ZIP archive';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'a JPEG image';
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46])) return 'a PDF document';
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) return 'UTF-16 text';
  if (bytes.length >= 2 && (bytes[0] === 0 || bytes[1] === 0) && bytes.subarray(0, 64).some((b) => b !== 0)) {
    // ASCII encoded as UTF-16 without a byte order mark has a zero in every other byte.
    if (bytes[0] === 0 && bytes[1] !== 0) return 'UTF-16 text';
    if (bytes[1] === 0 && bytes[0] !== 0 && (bytes[3] ?? 0) === 0) return 'UTF-16 text';
  }
  const text = decodeUtf8Prefix(bytes);
  if (text !== undefined) {
    const trimmed = text.replace(/^\uFEFF/, '').trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return 'JSON';
    return 'text that is not SQL';
  }
  return 'unrecognised binary data';
}

/** Decodes the prefix as UTF-8, tolerating a sequence cut at the end; undefined when not UTF-8. */
function decodeUtf8Prefix(bytes: Uint8Array): string | undefined {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // A multi-byte sequence may be cut at the end of the prefix: try dropping up to 3 bytes.
  for (let cut = 0; cut <= 3 && cut < bytes.length; cut++) {
    try {
      const text = decoder.decode(bytes.subarray(0, bytes.length - cut));
      // Control characters other than whitespace mean binary data.
      if (/[\u0000-\u0008\u000e-\u001f]/.test(text)) return undefined;
      return text;
    } catch {
      // try a shorter prefix
    }
  }
  return undefined;
}

/** The first SQL token after whitespace and comments, upper-cased; undefined when there is none. */
function firstSqlToken(text: string): string | undefined {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i);
      if (end < 0) return undefined;
      i = end + 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else break;
  }
  const match = /^[A-Za-z]+/.exec(text.slice(i, i + 32));
  return match?.[0].toUpperCase();
}

/**
 * Classifies a file by its first bytes (pass up to {@link DETECT_BYTES}).
 * @throws NOT_SQLITE when the bytes are none of the known kinds (the message names what they look like: PNG, ZIP, JSON, UTF-16 text, an empty file...).
 * @example detectKind(new Uint8Array(await file.slice(0, DETECT_BYTES).arrayBuffer()))
 */
export function detectKind(firstBytes: Uint8Array): FileKind {
  if (firstBytes.length === 0) {
    // sql.js opens an empty buffer as a fresh empty database; restoring that would wipe user data.
    throw new PagevaultError(ErrorCode.NOT_SQLITE, 'The file is empty.', { looksLike: 'empty file' });
  }
  if (startsWith(firstBytes, ARCHIVE_MAGIC)) return 'archive';
  if (isSqliteMagic(firstBytes)) return 'sqlite';
  if (startsWith(firstBytes, [0x1f, 0x8b, 0x08])) return 'gzip';
  const text = decodeUtf8Prefix(firstBytes);
  if (text !== undefined) {
    const token = firstSqlToken(text);
    if (token !== undefined && SQL_KEYWORDS.has(token)) return 'sql';
  }
  const looksLike = describeOther(firstBytes);
  throw new PagevaultError(ErrorCode.NOT_SQLITE, `The file is not a SQLite database or a pagevault backup; it looks like ${looksLike}.`, { looksLike });
}
