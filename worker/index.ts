/**
 * The worker entry: the composition root and the only file with side effects.
 * `openVault()` starts one of these per database in each tab; the one holding the vault's lock
 * serves, the others forward to it (worker/tabs/).
 */
import { expose } from 'comlink';
import { createService } from './service';
import { defaultWasmUrl } from './engine/wasm-url';
import { shareService } from './tabs/shared-service';

expose(shareService(createService({ defaultWasmUrl })));
