/**
 * The worker entry: the composition root and the only file with side effects.
 * `openVault()` starts one of these per database; it serves the page through Comlink.
 */
import { expose } from 'comlink';
import wasmUrl from 'sql.js/dist/sql-wasm.wasm?url';
import { createService } from './service';

expose(createService({ defaultWasmUrl: wasmUrl }));
