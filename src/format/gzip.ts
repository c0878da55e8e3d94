/**
 * `.sqlite.gz` files: a streaming writer, and a reader that takes exactly one gzip member with an
 * output cap and checks the CRC-32 and ISIZE trailer itself (fflate does not).
 *
 * Reading choice: a file with anything after the first member (a second member, or garbage of
 * four bytes or more) is rejected with INVALID_BACKUP. Multi-member gzip is legal, but no tool
 * we care about writes it for a database, and silently restoring only part of a file (or
 * concatenating two databases) would be worse than refusing.
 * Trailing garbage of one to three bytes shifts the trailer and fails as INTEGRITY.
 */
import { Gunzip, Gzip } from 'fflate';
import { ErrorCode, PagevaultError } from '../errors';
import { crc32 } from './crc32';

// RFC 1952 member header.
const GZIP_ID1 = 0x1f;
const GZIP_ID2 = 0x8b;
const GZIP_CM_DEFLATE = 8;
const GZIP_OFFSET_FLAGS = 3;
const GZIP_HEADER_MIN_BYTES = 10;
const GZIP_TRAILER_BYTES = 8; // CRC-32 then ISIZE, both little-endian u32
const GZIP_RESERVED_FLAGS = 0xe0;

/**
 * Input is fed to the inflater in slices; one slice expands to at most ~1032x its size. A slice is
 * sized so that even a bomb's output cannot pass the cap by more than INFLATE_OVERSHOOT_BYTES:
 * large while far from the cap, small near it (and before the content declared its size).
 */
const INFLATE_MAX_SLICE_BYTES = 64 * 1024;
const INFLATE_MIN_SLICE_BYTES = 1024;
const INFLATE_OVERSHOOT_BYTES = 2 * 1024 * 1024;
const DEFLATE_MAX_RATIO = 1032;

/** A streaming gzip writer: push plaintext, emit what it returns. */
export interface GzipWriter {
  /** Compresses more bytes; returns the gzip bytes ready to emit (possibly none). */
  push(bytes: Uint8Array): Uint8Array[];
  /** Ends the member; returns the last bytes including the trailer. */
  finish(): Uint8Array[];
}

/**
 * Starts a one-member gzip stream (for `.sqlite.gz` downloads).
 * @throws INVALID_ARGUMENT when `level` is not 0..9.
 * @example const gz = createGzipWriter(); parts.push(...gz.push(image), ...gz.finish());
 */
export function createGzipWriter(options: { level?: number; filename?: string; mtime?: number } = {}): GzipWriter {
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Compression level must be an integer 0..9, got ${level}.`);
  }
  let out: Uint8Array[] = [];
  const gzip = new Gzip({
    level: level as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9,
    mtime: options.mtime ?? 0,
    ...(options.filename === undefined ? {} : { filename: options.filename }),
  });
  gzip.ondata = (chunk) => {
    if (chunk.length > 0) out.push(chunk);
  };
  let finished = false;
  const take = (): Uint8Array[] => {
    const taken = out;
    out = [];
    return taken;
  };
  return {
    push(bytes) {
      if (finished) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'The gzip stream is already finished.');
      gzip.push(bytes, false);
      return take();
    },
    finish() {
      if (finished) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'The gzip stream is already finished.');
      finished = true;
      gzip.push(new Uint8Array(0), true);
      return take();
    },
  };
}

/** Checks the fixed part of the member header; returns nothing, throws on anything we refuse. */
function checkMemberHeader(source: Uint8Array): void {
  if (source.length < GZIP_HEADER_MIN_BYTES + GZIP_TRAILER_BYTES || source[0] !== GZIP_ID1 || source[1] !== GZIP_ID2) {
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'Not a gzip file, or too short to be one.');
  }
  if (source[2] !== GZIP_CM_DEFLATE) throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The gzip file uses an unknown compression method.');
  if ((source[GZIP_OFFSET_FLAGS]! & GZIP_RESERVED_FLAGS) !== 0) {
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The gzip header has reserved flags set.');
  }
}

/** What `declared` of gunzipFirstMember reads: the first bytes of the output. */
const DECLARED_HEAD_BYTES = 100;

/**
 * Decompresses the first (and only allowed) member of a gzip file, at most `maxOutput` bytes.
 * `declared`, given the first 100 output bytes (or all of a shorter output), may lower the cap to
 * the size the content itself declares (a SQLite header's page size x page count), so a bomb
 * stops as soon as it passes that, within one input slice.
 * @throws INVALID_BACKUP when it is not gzip, or has data after the first member.
 * @throws INTEGRITY when the deflate data is damaged or truncated, or the CRC-32 / ISIZE trailer does not match.
 * @throws LIMIT_EXCEEDED when the output would exceed `maxOutput` or the declared size.
 * @example const image = gunzipFirstMember(bytes, 1 << 30);
 */
export function gunzipFirstMember(source: Uint8Array, maxOutput: number, declared?: (head: Uint8Array) => number | undefined): Uint8Array {
  const steps = inflateMember(source, maxOutput, declared);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `gunzipFirstMember` in steps: `pause` runs between input slices (at most 1 MiB of input each),
 * so a large or hostile file does not hold the thread that calls it (a database worker keeps
 * answering queries while an upload inflates). Same result, same errors.
 */
export async function gunzipFirstMemberStepped(
  source: Uint8Array,
  maxOutput: number,
  declared: ((head: Uint8Array) => number | undefined) | undefined,
  pause: () => Promise<void>,
): Promise<Uint8Array> {
  const steps = inflateMember(source, maxOutput, declared);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pause();
  }
}

/** The inflater behind both: yields after each input slice, returns the checked output. */
function* inflateMember(source: Uint8Array, maxOutput: number, declared?: (head: Uint8Array) => number | undefined): Generator<void, Uint8Array> {
  checkMemberHeader(source);
  const parts: Uint8Array[] = [];
  let total = 0;
  let crc = 0;
  let memberEnd: number | undefined;
  let limit = maxOutput;
  let narrowed = declared === undefined;
  const narrow = () => {
    narrowed = true;
    const head = new Uint8Array(Math.min(total, DECLARED_HEAD_BYTES));
    let at = 0;
    for (const part of parts) {
      if (at >= head.length) break;
      head.set(part.subarray(0, head.length - at), at);
      at += Math.min(part.length, head.length - at);
    }
    const size = declared?.(head);
    if (size !== undefined && size < limit) limit = size;
  };
  const gunzip = new Gunzip();
  gunzip.ondata = (chunk) => {
    if (memberEnd !== undefined) {
      if (chunk.length > 0) throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The gzip file has more than one member.');
      return;
    }
    total += chunk.length;
    if (!narrowed && total >= DECLARED_HEAD_BYTES) {
      parts.push(chunk.subarray(0, DECLARED_HEAD_BYTES));
      narrow();
      parts.pop();
    }
    if (total > limit) {
      throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The gzip file expands to more than ${limit} bytes${limit < maxOutput ? ', the size its content declares' : ''}.`, { maxOutput: limit });
    }
    if (chunk.length > 0) {
      crc = crc32(chunk, crc);
      parts.push(chunk.slice());
    }
  };
  gunzip.onmember = (offset) => {
    memberEnd = offset;
  };
  try {
    for (let at = 0; at < source.length; ) {
      const room = narrowed ? limit - total + INFLATE_OVERSHOOT_BYTES : 0;
      const slice = Math.min(INFLATE_MAX_SLICE_BYTES, Math.max(INFLATE_MIN_SLICE_BYTES, Math.floor(room / DEFLATE_MAX_RATIO)));
      const end = Math.min(source.length, at + slice);
      gunzip.push(source.subarray(at, end), end === source.length);
      at = end;
      if (memberEnd !== undefined) break;
      yield;
    }
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    // fflate rejects a damaged or cut deflate stream and garbage where a next member would start.
    throw new PagevaultError(ErrorCode.INTEGRITY, 'The gzip data is damaged, truncated or followed by garbage.', {}, { cause: error });
  }
  if (memberEnd !== undefined) throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The gzip file has more than one member.', { memberEnd });
  // With a single member, the trailer is the last eight bytes.
  const view = new DataView(source.buffer, source.byteOffset + source.length - GZIP_TRAILER_BYTES, GZIP_TRAILER_BYTES);
  const expectedCrc = view.getUint32(0, true);
  const expectedSize = view.getUint32(4, true);
  if (expectedSize !== total % 2 ** 32) {
    throw new PagevaultError(ErrorCode.INTEGRITY, `The gzip size trailer says ${expectedSize} bytes, the data has ${total}.`);
  }
  if (expectedCrc !== crc) throw new PagevaultError(ErrorCode.INTEGRITY, 'The gzip CRC-32 does not match the data.');
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
