/**
 * Compresses chunks and checks each result by decoding it again and comparing bytes (restic's
 * lesson: a compressor bug must not reach the store). Runs in a helper worker, or inline.
 */
import { compressChunk, decompressChunk } from '../../src/format/codec';
import type { CompressedChunk } from './protocol';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One stored form per chunk, each owning its buffer; a chunk whose output does not decode back is an error. */
export function compressChecked(chunks: readonly Uint8Array[]): CompressedChunk[] {
  return chunks.map((plain) => {
    const { codec, data } = compressChunk(plain);
    try {
      if (!sameBytes(decompressChunk(codec, data, plain.byteLength), plain)) return { error: 'the compressed chunk does not decode to its bytes' };
    } catch (error) {
      return { error: `the compressed chunk does not decode: ${error instanceof Error ? error.message : String(error)}` };
    }
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    return { codec, data: owned };
  });
}
