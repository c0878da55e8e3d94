/**
 * Telling a lost vault from a deleted one, so a vault whose IndexedDB data vanished is reported
 * (`STORAGE_LOST`) instead of silently starting empty, and a vault deleted on purpose is not.
 *
 * Two records:
 * - The marker, in `localStorage`: this origin opened vault `name` with its data. Why
 *   `localStorage`: Chromium's quota eviction and clearing only IndexedDB (DevTools, CDP
 *   `Storage.clearDataForOrigin` with `indexeddb`) leave it in place. A full "clear site data"
 *   removes it too: then nothing remembers the vault, which opens empty, as a fresh install would.
 *   Where `localStorage` is missing or refused (workers, some sandboxed frames), nothing is remembered.
 * - The tombstone, in IndexedDB (database `pagevault-deleted`, reachable from workers too):
 *   `deleteVault` wrote it, so the data is gone on purpose. Eviction or clearing IndexedDB removes
 *   it with the data, so a real loss is still reported. The next open that finds the store empty
 *   honours it and then removes it.
 *
 * Both are read by the open only once the worker holds the vault's Web Lock, the same lock
 * `deleteVault` holds while it deletes: an open that waited for a delete sees its outcome.
 */
const MARKER_PREFIX = 'pagevault:marker:';
/** Not under the `pagevault:` prefix of vault databases, so no vault name can collide with it. */
export const TOMBSTONE_DB = 'pagevault-deleted';
const TOMBSTONE_STORE = 'deleted';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined; // a SecurityError in sandboxed frames
  }
}

/** True when this origin opened vault `name` with its data before (false where there is no `localStorage`). */
export function hadData(name: string): boolean {
  try {
    const store = storage();
    return store !== undefined && store.getItem(MARKER_PREFIX + name) !== null;
  } catch {
    return false;
  }
}

/** Records that vault `name` opened with its data (call after a successful open). */
export function rememberData(name: string): void {
  try {
    storage()?.setItem(MARKER_PREFIX + name, String(Date.now()));
  } catch {
    // Full or refused: the vault works, only loss detection is off.
  }
}

/** Forgets vault `name` (it was deleted on purpose). */
export function forgetData(name: string): void {
  try {
    storage()?.removeItem(MARKER_PREFIX + name);
  } catch {
    // Nothing to forget.
  }
}

/** Runs one request on the tombstone store in its own transaction; resolves when that committed. */
function onTombstones<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(TOMBSTONE_DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(TOMBSTONE_STORE);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      try {
        const tx = db.transaction(TOMBSTONE_STORE, mode);
        const request = body(tx.objectStore(TOMBSTONE_STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error ?? request.error);
        };
      } catch (error) {
        db.close();
        reject(error);
      }
    };
  });
}

/** Records that vault `name` is being deleted on purpose (call before deleting its data). */
export async function recordDeletion(name: string): Promise<void> {
  await onTombstones('readwrite', (store) => store.put(Date.now(), name));
}

/** True when `deleteVault(name)` ran since the vault last opened here (from a page or a worker). */
export async function wasDeleted(name: string): Promise<boolean> {
  return (await onTombstones('readonly', (store) => store.get(name))) !== undefined;
}

/** Removes the tombstone of vault `name` (it opened again, or its deletion failed). */
export async function clearDeletion(name: string): Promise<void> {
  await onTombstones('readwrite', (store) => store.delete(name));
}
