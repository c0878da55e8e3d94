/** A dedicated worker that deletes the vault it is sent the name of (no localStorage here). */
import { deleteVault } from '../../src/delete-vault';
import { isPagevaultError } from '../../src/errors';

self.onmessage = async (event: MessageEvent<string>) => {
  try {
    await deleteVault(event.data);
    self.postMessage({ ok: true });
  } catch (error) {
    self.postMessage({ ok: false, code: isPagevaultError(error) ? error.code : String(error) });
  }
};
