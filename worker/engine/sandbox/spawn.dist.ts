/** The published build's variant of `spawn.ts`: `sandbox-worker.js` sits beside `dist/worker.js`. */
export function spawnSandbox(): Worker {
  return new Worker(new URL('./sandbox-worker.js', import.meta.url), { type: 'module', name: 'pagevault:sandbox' });
}
