/**
 * The published build's variant of `wasm-url.ts`: `sql-wasm.wasm` sits beside `dist/worker.js`.
 * The literal `new URL('./sql-wasm.wasm', import.meta.url)` lets an app's bundler emit the file
 * as an asset next to the bundled worker; served unbundled, it resolves beside `worker.js`.
 */
export const defaultWasmUrl: string = new URL('./sql-wasm.wasm', import.meta.url).href;
