/**
 * Moving images between memory and the chunk store: compress and stage what is new, read back
 * and check what is stored.
 *
 * Invariants:
 * - A chunk handed to IndexedDB owns its whole ArrayBuffer (structured cloning a view would clone
 *   the full buffer it points into, e.g. a whole 100 MB image).
 * - Every chunk read back is decompressed with an output cap and re-hashed; a mismatch is
 *   `CORRUPT` naming the chunk, never a silently broken image.
 */
import { createSHA256 } from 'hash-wasm';
import { sha256Hex } from '../../src/format/sha256';
import { ErrorCode, PagevaultError } from '../../src/errors';
import { sharedCompressor } from '../pool/compressor';
import type { VaultStore } from '../store/vault-store';
import type { StoredChunk } from '../../src/format/codec';
import type { Manifest } from '../store/schema';
import { yieldToEventLoop } from './image';

/** How long a synchronous stretch of work may run before yielding to queued messages. */
const SLICE_MS = 25;

/** Calls `yieldToEventLoop` when the current slice of synchronous work has run long enough. */
export class Pacer {
  private sliceStart = performance.now();
  async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart < SLICE_MS) return;
    await yieldToEventLoop();
    this.sliceStart = performance.now();
  }
}

/**
 * Compresses the chunks the store does not hold yet, on the compression helpers (both cores,
 * off the thread that serves queries), each result checked by decoding it again before it may
 * be stored (restic's lesson: never trust the compressor's output blindly).
 * @throws CORRUPT naming the chunk whose compressed form does not decode back to its bytes.
 */
export async function compressMissing(
  store: VaultStore,
  views: readonly Uint8Array[],
  keys: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<StoredChunk[]> {
  const wanted = new Map<string, Uint8Array>();
  views.forEach((view, i) => {
    const key = keys[i]!;
    if (!store.hasChunk(key) && !wanted.has(key)) wanted.set(key, view);
  });
  const entries = [...wanted];
  const results = await sharedCompressor().compress(entries.map(([, view]) => view));
  options.signal?.throwIfAborted();
  return entries.map(([key, view], i) => {
    const result = results[i]!;
    if ('error' in result) throw damaged(key, keys.indexOf(key), result.error);
    // compressChecked hands back buffers that own exactly their bytes (safe to store).
    return { key, codec: result.codec, size: view.byteLength, data: result.data };
  });
}

function damaged(key: string, index: number, why: string): PagevaultError {
  return new PagevaultError(ErrorCode.CORRUPT, `Chunk ${index} (${key.slice(0, 12)}) is damaged: ${why}.`, { chunk: key, index });
}

/** Batches of this many chunks are read per IndexedDB transaction. */
const READ_BATCH = 64;

/**
 * Reassembles and checks the image of `manifest`: every chunk re-hashed, the total length
 * checked, and the image SHA-256 when the manifest has one.
 * @throws CORRUPT naming the first damaged or missing chunk.
 */
export async function readImage(
  store: VaultStore,
  manifest: Manifest,
  options: { signal?: AbortSignal; onChunk?: (done: number, total: number) => void; checkImageHash?: boolean } = {},
): Promise<Uint8Array> {
  const { image, sha256 } = await readImageHashed(store, manifest, { ...options, hashImage: options.checkImageHash === true && manifest.sha256 !== undefined });
  if (sha256 !== undefined && sha256 !== manifest.sha256) {
    throw new PagevaultError(ErrorCode.CORRUPT, 'The reassembled image does not match its SHA-256.', { sha256: manifest.sha256 });
  }
  return image;
}

/**
 * `readImage`, and with `hashImage` the image's SHA-256, hashed chunk by chunk as each is written
 * into the image (hashing the finished image through WebCrypto would copy all of it first).
 * @throws CORRUPT naming the first damaged or missing chunk.
 */
export async function readImageHashed(
  store: VaultStore,
  manifest: Manifest,
  options: { signal?: AbortSignal; onChunk?: (done: number, total: number) => void; hashImage?: boolean } = {},
): Promise<{ image: Uint8Array; sha256: string | undefined }> {
  const hasher = options.hashImage ? await createSHA256() : undefined;
  hasher?.init();
  const image = new Uint8Array(manifest.sizeBytes);
  const pacer = new Pacer();
  let offset = 0;
  for (let start = 0; start < manifest.chunks.length; start += READ_BATCH) {
    const keys = manifest.chunks.slice(start, start + READ_BATCH);
    let batch: StoredChunk[];
    try {
      batch = await store.getChunks(keys);
    } catch (error) {
      if (error instanceof PagevaultError && error.code === ErrorCode.CORRUPT) {
        const index = start + Number(error.details['index'] ?? 0);
        throw new PagevaultError(ErrorCode.CORRUPT, `Chunk ${index} (${String(error.details['chunk']).slice(0, 12)}) is missing from the store.`, {
          chunk: String(error.details['chunk']),
          index,
        });
      }
      throw error;
    }
    // Decoded on the helpers (both cores, off the query thread), then each re-hashed here.
    const decoded = await sharedCompressor().decode(batch);
    // A helper re-hashed each plaintext as it decoded it; inline decoding is re-hashed here.
    const hashes = await Promise.all(decoded.map((d) => ('plain' in d ? (d.sha256 ?? sha256Hex(d.plain)) : undefined)));
    for (let j = 0; j < batch.length; j++) {
      const result = decoded[j]!;
      const chunk = batch[j]!;
      if ('error' in result) throw damaged(chunk.key, start + j, result.error);
      if (hashes[j] !== chunk.key) throw damaged(chunk.key, start + j, 'its bytes do not match its SHA-256');
      if (offset + result.plain.byteLength > image.byteLength) throw damaged(chunk.key, start + j, 'the image is longer than its manifest says');
      image.set(result.plain, offset);
      hasher?.update(result.plain);
      offset += result.plain.byteLength;
    }
    await pacer.maybeYield();
    options.onChunk?.(Math.min(start + READ_BATCH, manifest.chunks.length), manifest.chunks.length);
    options.signal?.throwIfAborted();
  }
  if (offset !== manifest.sizeBytes) {
    throw new PagevaultError(ErrorCode.CORRUPT, `The stored image is ${offset} bytes, its manifest says ${manifest.sizeBytes}.`, { sizeBytes: offset });
  }
  return { image, sha256: hasher?.digest('hex') };
}
