/**
 * Size padding of encrypted v2 archives (ARCHIVE.md, "Padding"): every length a reader can see
 * without the passphrase is rounded up to a size class, so an encrypted file's size tells only
 * roughly how big it is, never which of two similar databases it holds.
 *
 * Rounding is PADME (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 * Communication with PURBs", 2019): a length L is rounded up to a multiple of 2^(E-S), where
 * E = floor(log2 L) and S = floor(log2 E) + 1, so at most S significant bits of the length are
 * visible and the overhead is below 12% (and falls as files grow).
 */
import { GCM_TAG_BYTES } from './layout';

/** Smallest sealed metadata (bytes before encryption): a typical header fits, so most files look alike. */
export const MIN_SEALED_METADATA_BYTES = 4096;
/** Smallest padded chunk table, in entries. */
export const MIN_TABLE_ENTRIES = 16;
/** Largest padding record as stored (plaintext + tag): readers check padding a bounded piece at a time. */
export const MAX_PADDING_RECORD_BYTES = 1024 * 1024;
/** Record index of the first padding record in nonces and associated data; the k-th uses this + k. */
export const PADDING_RECORD_INDEX_BASE = 0x80000000;

/**
 * PADME: `length` rounded up so that only its top bits vary.
 * @example padme(1_000_000) === 1_015_808
 */
export function padme(length: number): number {
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const unit = 2 ** Math.max(0, e - s);
  return Math.ceil(length / unit) * unit;
}

/** Length the sealed metadata plaintext is padded to (with spaces after the JSON), at most `limit`. */
export function paddedMetadataLength(length: number, limit: number): number {
  return Math.max(length, Math.min(limit, Math.max(MIN_SEALED_METADATA_BYTES, padme(length))));
}

/** Entries the sealed chunk table of an encrypted v2 file holds: the chunk count rounded up to a power of two (at least 16). */
export function paddedTableEntries(chunkCount: number): number {
  let entries = MIN_TABLE_ENTRIES;
  while (entries < chunkCount) entries *= 2;
  return entries;
}

/**
 * Bytes of padding after `recordsLength` bytes of chunk records: the body is rounded up with
 * PADME, and there is always at least one (empty) padding record, so padding cannot be cut off.
 */
export function paddingLength(recordsLength: number): number {
  return padme(recordsLength + GCM_TAG_BYTES) - recordsLength;
}

/**
 * How a padding region of `total` bytes (at least one GCM tag) is cut into records: as few as
 * fit in {@link MAX_PADDING_RECORD_BYTES}, all of equal length except the last, which takes the
 * rest. Every record is then at least one tag long. Returns the stored length of each.
 */
export function paddingRecordLengths(total: number): number[] {
  const count = Math.ceil(total / MAX_PADDING_RECORD_BYTES);
  const each = Math.floor(total / count);
  const lengths = new Array<number>(count).fill(each);
  lengths[count - 1] = total - each * (count - 1);
  return lengths;
}
