/**
 * Remembers, in `localStorage`, that a vault was opened with its data in place, so a vault whose
 * IndexedDB data vanished is reported (`STORAGE_LOST`) instead of silently starting empty.
 *
 * Why `localStorage`: Chromium's quota eviction and clearing only IndexedDB (DevTools, CDP
 * `Storage.clearDataForOrigin` with `indexeddb`) leave it in place. A full "clear site data" removes
 * it too: then nothing remembers the vault, which opens empty, as a fresh install would.
 * Where `localStorage` is missing or refused (workers, some sandboxed frames), nothing is remembered.
 */
const MARKER_PREFIX = 'pagevault:marker:';

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined; // a SecurityError in sandboxed frames
  }
}

/** True when this origin opened vault `name` with its data before. */
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
