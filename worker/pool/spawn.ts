/**
 * Starts one compression helper. Kept literal so bundlers find and bundle the helper; the package
 * build (scripts/build-lib.mjs) swaps in `spawn.dist.ts`, which points at the built file.
 */
export function spawnCompressor(): Worker {
  return new Worker(new URL('./compress-worker.ts', import.meta.url), { type: 'module', name: 'pagevault:compress' });
}
