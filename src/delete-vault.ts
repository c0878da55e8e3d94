/**
 * Deleting a vault on purpose: its IndexedDB database (live database, backups, history), and what
 * would otherwise report it as lost: the marker (page only) and, from a page or a worker, a
 * tombstone the next open honours (see vault-marker.ts).
 */
import { ErrorCode, PagevaultError } from './errors';
import { clearDeletion, forgetData, recordDeletion } from './vault-marker';

/** The IndexedDB database and the Web Lock of a vault share this prefix (worker/store/schema.ts, worker/lock.ts). */
const PREFIX = 'pagevault:';

/**
 * Deletes vault `name` and everything stored for it, including its backups. Download the backups
 * you want to keep first. The vault must not be open in any tab. Works in a page or a worker; the
 * next `openVault(name)` starts empty without reporting `STORAGE_LOST`.
 * @throws LOCKED when the vault is open (here or in another tab); INVALID_ARGUMENT for a bad name;
 *   STORAGE when IndexedDB refuses.
 * @example
 * await vault.close();
 * await deleteVault('notes');
 */
export async function deleteVault(name: string): Promise<void> {
  if (typeof name !== 'string' || name.length < 1 || name.length > 128) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'name must be a string of 1 to 128 characters.', { argument: 'name' });
  }
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return deleteNow(name);
  // Hold the vault's lock while deleting, so no worker opens it halfway through.
  await locks.request(PREFIX + name, { mode: 'exclusive', ifAvailable: true }, async (lock) => {
    if (!lock) {
      throw new PagevaultError(ErrorCode.LOCKED, `The vault "${name}" is open in this or another tab; close it before deleting it.`, { name });
    }
    await deleteNow(name);
  });
}

async function deleteNow(name: string): Promise<void> {
  // Tombstone first: a delete that completes is then always known as deliberate. Best effort: if
  // IndexedDB refuses it (full), deleting still frees the space asked for; only a page that
  // opened this vault before may later see STORAGE_LOST (then open with acceptLoss).
  const tombstone = await recordDeletion(name).then(
    () => true,
    () => false,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(PREFIX + name);
      request.onsuccess = () => resolve();
      request.onerror = () =>
        reject(new PagevaultError(ErrorCode.STORAGE, `IndexedDB could not delete vault "${name}": ${request.error?.message ?? 'unknown error'}`, { name }));
    });
  } catch (error) {
    // Not deleted: a tombstone left behind would hide a later real loss.
    if (tombstone) await clearDeletion(name).catch(() => undefined);
    throw error;
  }
  forgetData(name);
}
