/**
 * Starts the worker that serves one database: the published build's variant of
 * `spawn-worker.ts`, pointing at `dist/worker.js` beside `dist/index.js`. An app's bundler sees
 * this literal `new Worker(new URL(...), { type: 'module' })` and bundles the worker itself.
 */
export function spawnWorker(name: string): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `pagevault:${name}` });
}
