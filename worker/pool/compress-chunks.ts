/**
 * The work helpers do, also run inline where helpers cannot start: compress chunks (each result
 * checked by decoding it again and comparing bytes: restic's lesson, a compressor bug must not
 * reach the store), and decode stored chunks with their output capped at the declared size.
 */
import { createSHA256 } from 'hash-wasm';
import { compressChunk, decompressChunk } from '../../src/format/codec';
import type { StoredChunk } from '../../src/format/codec';
import type { CompressedChunk, DecodedChunk } from './protocol';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A buffer that owns exactly its bytes, safe to transfer or structured-clone (a view would carry its whole buffer). */
export function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** One stored form per chunk, each owning its buffer; a chunk whose output does not decode back is an error. */
export function compressChecked(chunks: readonly Uint8Array[]): CompressedChunk[] {
  return chunks.map((plain) => {
    const { codec, data } = compressChunk(plain);
    try {
      if (!sameBytes(decompressChunk(codec, data, plain.byteLength), plain)) return { error: 'the compressed chunk does not decode to its bytes' };
    } catch (error) {
      return { error: `the compressed chunk does not decode: ${reason(error)}` };
    }
    return { codec, data: owned(data) };
  });
}

/** The plaintext of each stored chunk, owning its buffer, or why it does not decode. */
export function decodeAll(chunks: readonly Omit<StoredChunk, 'key'>[]): DecodedChunk[] {
  return chunks.map((chunk) => {
    try {
      return { plain: owned(decompressChunk(chunk.codec, chunk.data, chunk.size)) };
    } catch (error) {
      return { error: reason(error) };
    }
  });
}

/** Bytes fed to the SHA-256 per update: hash-wasm copies each into its own memory, so no image-sized copy is made. */
const HASH_SLICE = 1024 * 1024;
/** Slices hashed between two yields when the caller can stop the hash (~10 ms of work). */
const SLICES_PER_TURN = 4;

/**
 * Lowercase hex SHA-256 of a whole image, hashed in slices (WebCrypto would copy all of it first).
 * With `stopped`, yields to the event loop every few slices and returns undefined once it says so.
 */
export async function imageSha256(image: Uint8Array): Promise<string>;
export async function imageSha256(image: Uint8Array, stopped: () => boolean): Promise<string | undefined>;
export async function imageSha256(image: Uint8Array, stopped?: () => boolean): Promise<string | undefined> {
  const hasher = await createSHA256();
  hasher.init();
  for (let offset = 0, slice = 0; offset < image.byteLength; offset += HASH_SLICE, slice++) {
    if (stopped && slice % SLICES_PER_TURN === SLICES_PER_TURN - 1) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (stopped()) return undefined;
    }
    hasher.update(image.subarray(offset, offset + HASH_SLICE));
  }
  return hasher.digest('hex');
}

/** One hasher per helper for chunk re-hashes (synchronous once made, so batches never share it mid-hash). */
let chunkHasher: ReturnType<typeof createSHA256> | undefined;

/** The decoded chunks with the SHA-256 of each plaintext (one hasher, no copies), for the reader to compare with the chunk's key. */
export async function withHashes(decoded: readonly DecodedChunk[]): Promise<DecodedChunk[]> {
  chunkHasher ??= createSHA256();
  const hasher = await chunkHasher;
  return decoded.map((d) => {
    if (!('plain' in d)) return d;
    hasher.init();
    hasher.update(d.plain);
    return { plain: d.plain, sha256: hasher.digest('hex') };
  });
}
