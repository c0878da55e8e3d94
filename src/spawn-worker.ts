/**
 * Starts the worker that serves one database.
 *
 * The `new Worker(new URL('<literal>', import.meta.url), { type: 'module' })` shape is what
 * bundlers (Vite, webpack 5, Parcel, Rollup plugins) recognise and bundle: keep it literal.
 * This file points at the worker's source for the dev server and tests; the package build
 * (scripts/build-lib.mjs) swaps in `spawn-worker.dist.ts`, which points at the built `worker.js`.
 */
export function spawnWorker(name: string): Worker {
  return new Worker(new URL('../worker/index.ts', import.meta.url), { type: 'module', name: `pagevault:${name}` });
}
