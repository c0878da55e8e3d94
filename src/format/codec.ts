/**
 * Chunk compression: raw DEFLATE (fflate) or stored as is. A chunk is compressed once, when it is
 * first saved; downloads and backups reuse the stored bytes.
 */
import { deflateSync, Inflate, inflateSync } from 'fflate';
import { ErrorCode, PagevaultError } from '../errors';

/** How a chunk's bytes are stored. */
export type ChunkCodec = 'raw' | 'deflate';

/** A chunk's bytes as stored: compressed, or deliberately raw. */
export interface StoredForm {
  readonly codec: ChunkCodec;
  /** The bytes as stored (compressed when `codec` is `deflate`). */
  readonly data: Uint8Array;
}

/** A chunk as a vault stores it: its stored form, keyed by the SHA-256 (hex) of its plaintext. */
export interface StoredChunk extends StoredForm {
  readonly key: string;
  /** Plaintext length in bytes: decoding never produces more. */
  readonly size: number;
}

/** Default DEFLATE level: measured as the best speed/size trade for database pages. */
export const DEFAULT_DEFLATE_LEVEL = 1;

/** Compression must save at least 1/16 of the size, else the chunk is stored raw (cheaper to read). */
const MIN_SAVING_SHIFT = 4;

type DeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/**
 * Compresses a chunk; stores it raw when DEFLATE saves less than 1/16.
 * @throws INVALID_ARGUMENT when `level` is not an integer 0..9.
 * @example const { codec, data } = compressChunk(chunk);
 */
export function compressChunk(plain: Uint8Array, level: number = DEFAULT_DEFLATE_LEVEL): StoredForm {
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Compression level must be an integer 0..9, got ${level}.`);
  }
  if (plain.length === 0) return { codec: 'raw', data: plain };
  const deflated = deflateSync(plain, { level: level as DeflateLevel });
  if (deflated.length > plain.length - (plain.length >> MIN_SAVING_SHIFT)) return { codec: 'raw', data: plain };
  return { codec: 'deflate', data: deflated };
}

/**
 * Input inflated per step of a bounded inflate. One step expands to at most ~1032x its input, so
 * a chunk that decodes past its declared size is stopped within ~8 MiB of output (tens of ms),
 * not after all of it. Measured in Node on 64 KiB chunks: 8 KiB steps decode ordinary chunks as
 * fast as one-shot inflate; smaller ones cost more (fflate copies its 32 KiB window at every
 * step: 2 KiB steps were 3x slower in Node and much more in Chromium), larger ones let a bomb run
 * longer (16 KiB: 3x the time to stop).
 */
const INFLATE_SLICE_BYTES = 8 * 1024;

/** Inflates `data` into `out` a slice at a time, stopping as soon as the output passes `out`. */
function inflateBounded(data: Uint8Array, out: Uint8Array): Uint8Array {
  let length = 0;
  const inflate = new Inflate((chunk) => {
    if (length + chunk.length > out.length) {
      throw new PagevaultError(ErrorCode.INTEGRITY, `Chunk decompresses to more than ${out.length - 1} bytes.`, { expectedSize: out.length - 1 });
    }
    out.set(chunk, length);
    length += chunk.length;
  });
  for (let at = 0; at < data.length; at += INFLATE_SLICE_BYTES) {
    const end = Math.min(data.length, at + INFLATE_SLICE_BYTES);
    inflate.push(data.subarray(at, end), end === data.length);
  }
  return out.subarray(0, length);
}

/**
 * Decompresses a stored chunk whose plaintext must be exactly `expectedSize` bytes. Never allocates
 * more than `expectedSize + 1` bytes, whatever the input claims (decompression bombs are cut off),
 * but decodes all of the data: for chunks from outside (archive records) use
 * {@link decompressUntrustedChunk}, which also stops decoding early.
 * @throws INTEGRITY when the data is damaged or decodes to another size.
 * @throws INVALID_ARGUMENT for an unknown codec or a negative size.
 */
export function decompressChunk(codec: ChunkCodec, data: Uint8Array, expectedSize: number): Uint8Array {
  return decode(codec, data, expectedSize, false);
}

/**
 * Like {@link decompressChunk}, for chunks from outside: decoding stops as soon as the output
 * passes `expectedSize` (within one 8 KiB input step), so a bomb costs tens of milliseconds, not
 * the time to inflate all of it.
 * @throws INTEGRITY, INVALID_ARGUMENT
 */
export function decompressUntrustedChunk(codec: ChunkCodec, data: Uint8Array, expectedSize: number): Uint8Array {
  return decode(codec, data, expectedSize, true);
}

function decode(codec: ChunkCodec, data: Uint8Array, expectedSize: number, bounded: boolean): Uint8Array {
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Expected size must be a non-negative integer, got ${expectedSize}.`);
  }
  if (codec === 'raw') {
    if (data.length !== expectedSize) {
      throw new PagevaultError(ErrorCode.INTEGRITY, `Raw chunk is ${data.length} bytes, expected ${expectedSize}.`);
    }
    return data;
  }
  if (codec !== 'deflate') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Unknown chunk codec ${String(codec)}.`);
  // DEFLATE never needs more than the stored-block form (5 bytes per 64 KiB block) plus a little:
  // longer data is not a chunk of this size, refused before any of it is inflated.
  if (data.length > expectedSize + Math.ceil(expectedSize / 65535) * 5 + 64) {
    throw new PagevaultError(ErrorCode.INTEGRITY, `Compressed chunk is ${data.length} bytes, more than a ${expectedSize}-byte chunk can take.`, { expectedSize });
  }
  // One spare byte: output that reaches it is longer than declared. fflate never grows a
  // caller-provided buffer in one-shot mode; writes past its end are dropped, but still decoded.
  const out = new Uint8Array(expectedSize + 1);
  let result: Uint8Array;
  try {
    result = bounded && data.length > INFLATE_SLICE_BYTES ? inflateBounded(data, out) : inflateSync(data, { out });
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    throw new PagevaultError(ErrorCode.INTEGRITY, 'Compressed chunk is damaged.', { expectedSize }, { cause: error });
  }
  if (result.length !== expectedSize) {
    throw new PagevaultError(ErrorCode.INTEGRITY, `Chunk decompressed to ${result.length >= out.length ? 'more than' : result.length} bytes, expected ${expectedSize}.`, { expectedSize });
  }
  return result.buffer === out.buffer ? out.subarray(0, expectedSize) : result;
}
