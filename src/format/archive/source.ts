/**
 * Random-access byte sources: a reader asks for the footer, header and trailer first and enforces
 * its limits before it reads (or allocates for) the body.
 */
import { ErrorCode, PagevaultError } from '../../errors';

/** Bytes that can be read at any offset: a Blob, an in-memory array, a file handle (bin/node-source.ts). */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset`; may return fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes in memory (not copied). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** A source over a Blob or File, read with `slice()` so only the requested range is loaded. */
export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/**
 * Reads exactly `length` bytes at `offset`.
 * @throws INTEGRITY when the source is shorter than that (the file is truncated or changed while read);
 *   INVALID_BACKUP when the source itself fails to read.
 */
export async function readExact(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  if (offset < 0 || offset + length > source.size) {
    throw new PagevaultError(ErrorCode.INTEGRITY, `The file ends before byte ${offset + length}; it is truncated.`, { offset, length });
  }
  let bytes: Uint8Array;
  try {
    bytes = await source.read(offset, length);
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The file could not be read.', { offset, length }, { cause: error });
  }
  if (bytes.length !== length) {
    throw new PagevaultError(ErrorCode.INTEGRITY, `Read ${bytes.length} of ${length} bytes at offset ${offset}; the file changed or is truncated.`, { offset, length });
  }
  return bytes;
}
