/** The published build's variant of `spawn.ts`: `compress-worker.js` sits beside `dist/worker.js`. */
export function spawnCompressor(): Worker {
  return new Worker(new URL('./compress-worker.js', import.meta.url), { type: 'module', name: 'pagevault:compress' });
}
