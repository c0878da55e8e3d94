/**
 * Storage taken away in real Chromium: data cleared behind the vault's back (eviction, "clear
 * site data" for IndexedDB), a newer store schema opened by another tab, deleting on purpose.
 */
import { describe, expect, it } from 'vitest';
import { deleteVault } from '../../src/index';
import { count, fillRows, open, rawStore, rejectsWith, sleep, uniqueName } from './helpers';
import { STORE_VERSION } from '../../worker/store/schema';

/** What eviction does to a vault: its IndexedDB database is gone, localStorage is not. */
function evict(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(`pagevault:${name}`);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** Opens the vault's database with a newer schema version, as a newer pagevault in another tab would. */
function openNewer(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    // One version past what this build writes: the vault meets a newer schema.
    const request = indexedDB.open(`pagevault:${name}`, STORE_VERSION + 1);
    request.onupgradeneeded = () => request.result.createObjectStore('from-the-future');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

describe('storage taken away', () => {
  it('a vault whose data the browser cleared says STORAGE_LOST instead of opening empty, until acceptLoss', async () => {
    const name = uniqueName('evicted');
    const vault = await open(name);
    await fillRows(vault, 50);
    await vault.close();
    await evict(name);
    const lost = await rejectsWith(open(name), 'STORAGE_LOST');
    expect(lost.details['name']).toBe(name);
    await rejectsWith(open(name), 'STORAGE_LOST'); // still reported: nothing was created meanwhile
    const fresh = await open(name, { acceptLoss: true });
    expect(await fresh.query("SELECT name FROM sqlite_schema WHERE type = 'table'")).toEqual([]);
    await fillRows(fresh, 3);
    await fresh.close();
    const again = await open(name);
    expect(await count(again)).toBe(3);
    await again.close();
  });

  it('a vault never opened here opens empty without complaint', async () => {
    const vault = await open(uniqueName('new'));
    expect(await vault.query("SELECT count(*) AS n FROM sqlite_schema")).toEqual([{ n: 0 }]);
    await vault.close();
  });

  it('deleteVault refuses an open vault (LOCKED), then deletes it; the next open starts empty, not lost', async () => {
    const name = uniqueName('deleted');
    const vault = await open(name);
    await fillRows(vault, 10);
    await vault.flush();
    await rejectsWith(deleteVault(name), 'LOCKED');
    expect(await count(vault)).toBe(10);
    await vault.close();
    await deleteVault(name);
    const reopened = await open(name);
    expect(await reopened.query("SELECT count(*) AS n FROM sqlite_schema")).toEqual([{ n: 0 }]);
    await reopened.close();
    await rejectsWith(deleteVault(''), 'INVALID_ARGUMENT');
  });

  it('an open that waits for a deleteVault in progress starts empty, not STORAGE_LOST', async () => {
    const name = uniqueName('delete-wait');
    const vault = await open(name);
    await fillRows(vault, 10);
    await vault.close();
    const holder = await rawStore(name); // an open connection keeps the deletion pending
    const deleting = deleteVault(name);
    const lockName = `pagevault:${name}`;
    while (!(await navigator.locks.query()).held?.some((l) => l.name === lockName)) await sleep(10);
    const opening = open(name, { lockTimeoutMs: 30_000 });
    // The open now waits for the lock deleteVault holds.
    while (!(await navigator.locks.query()).pending?.some((l) => l.name === lockName)) await sleep(10);
    holder.close();
    await deleting;
    const reopened = await opening;
    expect(await reopened.query('SELECT count(*) AS n FROM sqlite_schema')).toEqual([{ n: 0 }]);
    await reopened.close();
  });

  it('deleteVault from a dedicated worker is no loss for the page; a real loss afterwards still is', async () => {
    const name = uniqueName('worker-deleted');
    const vault = await open(name);
    await fillRows(vault, 10);
    await vault.close();
    const worker = new Worker(new URL('./delete-vault-worker.ts', import.meta.url), { type: 'module' });
    const outcome = await new Promise((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.postMessage(name);
    });
    worker.terminate();
    expect(outcome).toEqual({ ok: true });
    const reopened = await open(name);
    expect(await reopened.query('SELECT count(*) AS n FROM sqlite_schema')).toEqual([{ n: 0 }]);
    await fillRows(reopened, 3);
    await reopened.close();
    // The deletion was honoured once: data lost behind the vault's back now is reported.
    await evict(name);
    await rejectsWith(open(name), 'STORAGE_LOST');
  });

  it('a newer store schema opened by another tab closes the vault with STORAGE asking for a reload; nothing hangs', async () => {
    const name = uniqueName('newer-schema');
    const vault = await open(name);
    await fillRows(vault, 20);
    await vault.flush();
    const newer = await openNewer(name); // resolves only because the vault stepped aside
    try {
      for (const call of [vault.exec('INSERT INTO item (body, n) VALUES (?, ?)', ['late', 1]), vault.flush(), vault.backup.create()]) {
        const error = await rejectsWith(call, 'STORAGE');
        expect(error.message).toMatch(/reload/i);
      }
      // Reads of the in-memory database go on (issue #12: the app can still offer a download).
      expect(await count(vault)).toBe(20);
      await vault.close().catch(() => undefined);
      // Opening again in this (old) page meets the newer store: the same clear error.
      const refused = await rejectsWith(open(name), 'STORAGE');
      expect(refused.message).toMatch(/reload/i);
    } finally {
      newer.close();
      await evict(name);
    }
  });
});
