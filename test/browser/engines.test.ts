/**
 * Where the engines differ under a backup kit, and what pagevault does there. Runs in every engine
 * of the browser project (vite.config.ts); `server.browser` names the one running. The README's
 * "Engines" matrix says the same in words: a change in an engine fails here first.
 */
import { describe, expect, it } from 'vitest';
import { server } from 'vitest/browser';
import { storageError } from '../../worker/store/idb-errors';
import { fillRows, open, rawStore, uniqueName } from './helpers';

interface EngineFacts {
  /** `navigator.storage.estimate()` exists (in the page and in workers). */
  readonly estimate: boolean;
  /** IndexedDB accepts a Blob as a value. */
  readonly blobValues: boolean;
}

const FACTS: Record<string, EngineFacts> = {
  chromium: { estimate: true, blobValues: true },
  firefox: { estimate: true, blobValues: true },
  // WebKitGTK under WebDriver runs an ephemeral session, like Safari's private browsing: it has no
  // StorageManager at all, and a Blob put into IndexedDB fails (with a null error).
  webkit: { estimate: false, blobValues: false },
};
const facts = FACTS[server.browser]!;

/** Puts `value` in a scratch IndexedDB database; true when the transaction commits. */
async function idbAccepts(value: unknown): Promise<boolean> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(uniqueName('engine-scratch'));
    request.onupgradeneeded = () => request.result.createObjectStore('s');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    return await new Promise<boolean>((resolve) => {
      const tx = db.transaction('s', 'readwrite');
      tx.objectStore('s').put(value, 1);
      tx.oncomplete = () => resolve(true);
      tx.onabort = () => resolve(false);
    });
  } finally {
    db.close();
  }
}

/** Every value in the vault's IndexedDB database, walked to the leaves; returns the Blobs found. */
async function blobsStored(name: string): Promise<string[]> {
  const db = await rawStore(name);
  const found: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value instanceof Blob) found.push(path);
    else if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value === null || typeof value !== 'object') return;
    else for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`);
  };
  for (const store of db.objectStoreNames) {
    for (const [i, value] of (await db.getAll(store)).entries()) walk(value, `${store}[${i}]`);
  }
  db.close();
  return found;
}

describe(`engine facts (${server.browser})`, () => {
  it('stores bytes, never Blobs, in IndexedDB: the data survives where Blob values are refused', async () => {
    expect(await idbAccepts(new Uint8Array([1, 2, 3]))).toBe(true);
    expect(await idbAccepts(new Blob(['x']))).toBe(facts.blobValues);
    const name = uniqueName('engine-bytes');
    const vault = await open(name);
    await fillRows(vault, 2_000);
    const { backupId } = await vault.backup.create();
    await vault.backup.wait(backupId);
    const { blob } = await vault.backup.download(backupId, { format: 'archive' });
    const uploaded = await vault.backup.upload(blob);
    await vault.backup.restore({ backupId: uploaded.backupId });
    await vault.close();
    expect(await blobsStored(name)).toEqual([]);
  });

  it('storage() gives the figures the engine has, and null (not an error) where it has none', async () => {
    const vault = await open(uniqueName('engine-storage'));
    await fillRows(vault, 100);
    await vault.flush();
    const report = await vault.storage();
    await vault.close();
    expect(report.liveBytes).toBeGreaterThan(0);
    if (facts.estimate) {
      expect(report.usageBytes).toBeGreaterThan(0);
      expect(report.quotaBytes).toBeGreaterThan(0);
      expect(typeof report.persisted).toBe('boolean');
    } else {
      expect(report).toMatchObject({ usageBytes: null, quotaBytes: null, persisted: null });
    }
  });

  it("maps this engine's quota error to QUOTA_EXCEEDED, with figures where the engine has them", async () => {
    // Filling a real quota takes gigabytes here; the mapping is what differs between engines:
    // the error's name (every engine: QuotaExceededError) and whether an estimate exists.
    const error = await storageError(new DOMException('quota', 'QuotaExceededError'), 'save the live database');
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(error.details['operation']).toBe('save the live database');
    if (facts.estimate) {
      expect(error.details['usageBytes']).toEqual(expect.any(Number));
      expect(error.details['quotaBytes']).toEqual(expect.any(Number));
    } else {
      expect(error.details).toMatchObject({ usageBytes: null, quotaBytes: null });
    }
  });
});
