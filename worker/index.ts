/**
 * The worker entry: the composition root and the only file with side effects.
 * `openVault()` starts one of these per database; it serves the page through Comlink.
 */
import { expose } from 'comlink';
import { createService } from './service';
import { defaultWasmUrl } from './engine/wasm-url';

expose(createService({ defaultWasmUrl }));
