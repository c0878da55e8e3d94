/**
 * Starts the sandbox worker. Kept literal so bundlers find and bundle it; the package build
 * (scripts/build-lib.mjs) swaps in `spawn.dist.ts`, which points at the built file.
 */
export function spawnSandbox(): Worker {
  return new Worker(new URL('./sandbox-worker.ts', import.meta.url), { type: 'module', name: 'pagevault:sandbox' });
}
