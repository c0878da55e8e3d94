/**
 * Page-level deltas. An incremental archive stores a changed chunk as only its changed pages,
 * found by comparing it with the base's chunk at the same index: the storage unit (a chunk, sized
 * for IndexedDB) and the delta unit (a page, sized for scattered updates) differ.
 *
 * Encoded patch (before compression), big-endian; see ARCHIVE.md "Patch payload":
 * | 0 | 32 | base chunk key (raw SHA-256) |
 * | 32 | 4 | n, number of pages |
 * | 36 | 4n | page indexes within the chunk, strictly ascending |
 * | 36+4n | n*pageSize | page bytes, in the same order |
 */
import { ErrorCode, PagevaultError } from '../../errors';
import { fromHex, toHex } from '../sha256';

const PATCH_OFFSET_BASE_KEY = 0;
const PATCH_OFFSET_PAGE_COUNT = 32;
const PATCH_OFFSET_INDEXES = 36;

/** The pages of a chunk that differ from its base. */
export interface ChunkPatch {
  /** Page indexes within the chunk, ascending. */
  readonly pages: readonly number[];
  /** The new bytes of those pages, concatenated: `pages.length * pageSize` bytes. */
  readonly data: Uint8Array;
}

/** Size of {@link encodePatch}'s output. */
export function encodedPatchLength(pageCount: number, pageSize: number): number {
  return PATCH_OFFSET_INDEXES + pageCount * (4 + pageSize);
}

function samePage(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (end > a.length || end > b.length) return false;
  for (let i = start; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The pages of `newChunk` that differ from `baseChunk`, or null when such a patch would not be
 * smaller than the whole new chunk (then store the chunk in full).
 * @throws INVALID_ARGUMENT when `pageSize` is not positive or `newChunk` is not a whole number of pages.
 * @example const patch = diffChunk(basePlain, newPlain, 4096); if (patch) writer.add({ kind: 'patch', ... });
 */
export function diffChunk(baseChunk: Uint8Array, newChunk: Uint8Array, pageSize: number): ChunkPatch | null {
  if (!Number.isInteger(pageSize) || pageSize <= 0 || newChunk.length % pageSize !== 0) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `A chunk of ${newChunk.length} bytes is not a whole number of ${pageSize}-byte pages.`);
  }
  const pages: number[] = [];
  const pageTotal = newChunk.length / pageSize;
  for (let p = 0; p < pageTotal; p++) {
    if (!samePage(baseChunk, newChunk, p * pageSize, (p + 1) * pageSize)) pages.push(p);
  }
  if (encodedPatchLength(pages.length, pageSize) >= newChunk.length) return null;
  const data = new Uint8Array(pages.length * pageSize);
  pages.forEach((p, i) => {
    data.set(newChunk.subarray(p * pageSize, (p + 1) * pageSize), i * pageSize);
  });
  return { pages, data };
}

/** Serialises a patch with the key of the base chunk it applies to. */
export function encodePatch(baseKey: string, patch: ChunkPatch, pageSize: number): Uint8Array {
  const key = fromHex(baseKey);
  if (key === undefined || key.length !== 32) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'A patch needs the 64-hex-digit key of its base chunk.');
  if (patch.data.length !== patch.pages.length * pageSize) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'Patch data does not match its page list.');
  const out = new Uint8Array(encodedPatchLength(patch.pages.length, pageSize));
  const view = new DataView(out.buffer);
  out.set(key, PATCH_OFFSET_BASE_KEY);
  view.setUint32(PATCH_OFFSET_PAGE_COUNT, patch.pages.length);
  patch.pages.forEach((p, i) => {
    view.setUint32(PATCH_OFFSET_INDEXES + 4 * i, p);
  });
  out.set(patch.data, PATCH_OFFSET_INDEXES + 4 * patch.pages.length);
  return out;
}

/** A decoded patch payload. */
export interface DecodedPatch extends ChunkPatch {
  readonly baseKey: string;
}

/**
 * Parses a patch payload for a chunk of `chunkBytes` bytes.
 * @throws INTEGRITY when the payload is malformed (lengths, order or range of page indexes).
 */
export function decodePatch(payload: Uint8Array, chunkBytes: number, pageSize: number): DecodedPatch {
  const bad = (why: string): never => {
    throw new PagevaultError(ErrorCode.INTEGRITY, `Malformed page patch: ${why}.`);
  };
  if (payload.length < PATCH_OFFSET_INDEXES) bad('too short');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const count = view.getUint32(PATCH_OFFSET_PAGE_COUNT);
  const pageTotal = chunkBytes / pageSize;
  if (count > pageTotal || payload.length !== encodedPatchLength(count, pageSize)) bad('length does not match page count');
  const pages: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = view.getUint32(PATCH_OFFSET_INDEXES + 4 * i);
    if (p >= pageTotal || (i > 0 && p <= pages[i - 1]!)) bad('page indexes out of range or order');
    pages.push(p);
  }
  return {
    baseKey: toHex(payload.subarray(PATCH_OFFSET_BASE_KEY, PATCH_OFFSET_BASE_KEY + 32)),
    pages,
    data: payload.subarray(PATCH_OFFSET_INDEXES + 4 * count),
  };
}

/**
 * Rebuilds a chunk of `chunkBytes` bytes: the base chunk with the patch's pages written over it.
 * Pages past the end of a shorter base must be in the patch (the caller's hash check catches it otherwise).
 */
export function applyPatch(baseChunk: Uint8Array, patch: ChunkPatch, chunkBytes: number, pageSize: number): Uint8Array {
  const out = new Uint8Array(chunkBytes);
  out.set(baseChunk.subarray(0, Math.min(baseChunk.length, chunkBytes)), 0);
  patch.pages.forEach((p, i) => {
    out.set(patch.data.subarray(i * pageSize, (i + 1) * pageSize), p * pageSize);
  });
  return out;
}
