/**
 * Storing a captured or uploaded image as chunks: hashed, the ones the store lacks compressed,
 * re-checked and staged under the job. The caller commits the manifest with `releaseStaging`.
 *
 * Invariant: a manifest's image SHA-256 is always computed over the bytes (or taken from an
 * earlier backup whose chunk keys were all computed by SHA-256), never vouched for by fingerprints.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { sha256Hex } from '../../src/format/sha256';
import { sharedCompressor } from '../pool/compressor';
import type { Manifest } from '../store/schema';
import { compressMissing, Pacer } from './chunk-io';
import type { VaultContext } from './context';
import { manifestFor, splitImage } from './image';
import type { JobContext } from './runner';

/** Chunks staged per IndexedDB transaction. */
const STAGE_BATCH = 128;

/**
 * Hashes an image into chunks, stages the ones the store lacks (compressed, re-checked),
 * and returns its manifest. The caller commits the manifest with `releaseStaging`. `image` is
 * handed to a helper at the end (transferred): the caller must not use it afterwards.
 * `knownKey` may name a chunk without hashing it (a page copy reuses the saved head's keys for
 * chunks whose fingerprint is unchanged); the image SHA-256 is always computed over the bytes.
 */
export async function storeImage(
  vault: VaultContext,
  ctx: JobContext,
  image: Uint8Array,
  weight: { from: number; to: number },
  knownKey?: (index: number, view: Uint8Array) => string | undefined,
): Promise<{ manifest: Manifest; storedBytes: number }> {
  const { store } = vault;
  const pageSize = image.byteLength > 0 ? new DataView(image.buffer, image.byteOffset + 16, 2).getUint16(0) : 0;
  const views = splitImage(image);
  let fingerprinted = false;
  const keys = await Promise.all(
    views.map((view, i) => {
      const known = knownKey?.(i, view);
      if (known === undefined) return sha256Hex(view);
      fingerprinted = true;
      return known;
    }),
  );
  const pacer = new Pacer();
  let storedBytes = 0;
  for (let start = 0; start < views.length; start += STAGE_BATCH) {
    ctx.signal.throwIfAborted();
    const batchViews = views.slice(start, start + STAGE_BATCH);
    const batchKeys = keys.slice(start, start + STAGE_BATCH);
    const fresh = await compressMissing(store, batchViews, batchKeys, { signal: ctx.signal });
    let staged = await store.stage(ctx.jobId, batchKeys, fresh);
    if (staged.missing.length > 0) {
      // A save collected chunks we counted on after we looked: supply them now.
      const missing = new Set(staged.missing);
      const indexes = batchKeys.flatMap((key, i) => (missing.has(key) ? [i] : []));
      const extra = await compressMissing(store, indexes.map((i) => batchViews[i]!), indexes.map((i) => batchKeys[i]!), { signal: ctx.signal });
      const again = await store.stage(ctx.jobId, staged.missing, extra);
      staged = { bytesWritten: staged.bytesWritten + again.bytesWritten, missing: again.missing };
      if (again.missing.length > 0) throw new PagevaultError(ErrorCode.INTERNAL, 'Chunks vanished while being staged.', {});
    }
    storedBytes += staged.bytesWritten;
    ctx.addStored(staged.bytesWritten);
    ctx.progress('store', Math.min(start + STAGE_BATCH, views.length), views.length, 'chunks', weight);
    await pacer.maybeYield();
  }
  // An earlier backup's image hash stands for these bytes only when every key was computed from
  // them by SHA-256; a key a fingerprint vouched for is not proof enough (issue #12.8). Otherwise
  // the image goes to a helper to be hashed: transferred, not copied, so the caller's image is
  // unusable from here (nothing needs it: verification reads the stored chunks back).
  const known = fingerprinted ? undefined : store.knownImageHash(keys);
  const manifest = manifestFor(image, pageSize === 1 ? 65536 : pageSize, keys, known);
  const sha256 = known ?? (await sharedCompressor().hashImage(image));
  return { manifest: { ...manifest, sha256 }, storedBytes };
}
