/**
 * Cutting a database image into chunks, and telling cheaply which chunks changed.
 *
 * Chunk size: 64 KiB. A multiple of every SQLite page size (512..65536), large enough that
 * IndexedDB writes run near their 64 KiB-record throughput (~80 MB/s in Chromium, against
 * ~17 MB/s for 4 KiB records), small enough that a one-row change rewrites little.
 * Incremental files go further and travel as pages (see src/format).
 */
import { createXXHash128 } from 'hash-wasm';
import type { Manifest } from '../store/schema';

export const CHUNK_SIZE = 64 * 1024;

/** Views (no copies) of `image` cut at `chunkSize`; the last one may be shorter. */
export function splitImage(image: Uint8Array, chunkSize: number = CHUNK_SIZE): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (let offset = 0; offset < image.byteLength; offset += chunkSize) {
    views.push(image.subarray(offset, Math.min(offset + chunkSize, image.byteLength)));
  }
  return views;
}

/** Tells changed chunks from unchanged ones without SHA-256. */
export type Fingerprint = (bytes: Uint8Array) => string;

let fingerprintPromise: Promise<Fingerprint> | undefined;

/**
 * A 128-bit XXH3 fingerprint (hash-wasm, WebAssembly), loaded once per worker. Used only to skip
 * SHA-256 for chunks that did not change since the last save: two different 64 KiB chunks share a
 * fingerprint with probability about 2^-128 for data that is not crafted to collide (XXH3 is not a
 * cryptographic hash: an application that stores adversarial bytes still gets every backup's image
 * SHA-256 computed over the real bytes). Measured on a 2-core VM (Node, 100 MB): 27-33 ms, against
 * 57-63 ms for the hand-written 53-bit fingerprint it replaced and ~125 ms for SHA-256.
 */
export function loadFingerprint(): Promise<Fingerprint> {
  fingerprintPromise ??= createXXHash128().then((hasher) => (bytes: Uint8Array) => {
    hasher.init();
    hasher.update(bytes);
    return hasher.digest('hex');
  });
  return fingerprintPromise;
}

/** The manifest of `image` cut into the chunks `keys` (its page size given by the caller, who read it from SQLite). */
export function manifestFor(image: Uint8Array, pageSize: number, keys: readonly string[], sha256?: string): Manifest {
  return {
    pageSize,
    pageCount: pageSize > 0 ? Math.floor(image.byteLength / pageSize) : 0,
    sizeBytes: image.byteLength,
    chunkSize: CHUNK_SIZE,
    chunks: keys,
    ...(sha256 === undefined ? {} : { sha256 }),
  };
}

/** Yields to the event loop so messages from the page (queries, cancel) are served between steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Resolves after `ms` (a wait between retries while the application holds a transaction). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
