/**
 * Where the browser fetches sql.js's `sql-wasm.wasm` unless `openVault({ wasmUrl })` says
 * otherwise. Under Vite (dev server, tests, the demo) the `?url` import emits and names the
 * file; the package build (scripts/build-lib.mjs) swaps in `wasm-url.dist.ts`.
 */
import wasmUrl from 'sql.js/dist/sql-wasm.wasm?url';

export const defaultWasmUrl: string = wasmUrl;
