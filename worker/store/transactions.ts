/**
 * The two kinds of transaction the store opens on a vault's database.
 *
 * Invariants:
 * - Every write is `readwrite` with `durability: 'strict'`: when it resolves, the data is on disk.
 * - Nothing but IndexedDB requests is awaited inside a transaction (an await on anything else lets
 *   it auto-commit): callers hash and compress before they write.
 * - A failed request is reported once, with the first cause IndexedDB gave; the other requests of
 *   the aborted transaction reject too, and those rejections are expected (`issue`).
 */
import type { IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import { guard } from './idb-errors';
import type { VaultDB } from './schema';

export type VaultDatabase = IDBPDatabase<VaultDB>;
export type Stores = StoreNames<VaultDB>[];
export type WriteTransaction = IDBPTransaction<VaultDB, Stores, 'readwrite'>;

/**
 * Marks a request (or `tx.done`) whose outcome the transaction reports: when one request fails, the
 * transaction aborts and every other pending request rejects too; those rejections are expected
 * and must not surface as unhandled.
 */
export function issue(request: Promise<unknown>): void {
  request.catch(() => undefined);
}

/**
 * A read-only transaction whose `done` is observed: a failed read is reported once, by its request
 * (idb's `db.get` shortcuts leave `done` unobserved, an unhandled rejection when a read fails).
 */
export function reading<const S extends StoreNames<VaultDB>[]>(db: VaultDatabase, stores: S): IDBPTransaction<VaultDB, S, 'readonly'> {
  const tx = db.transaction(stores, 'readonly');
  issue(tx.done);
  return tx;
}

/** Runs `body` in one strict readwrite transaction over `stores`; resolves once it committed. @throws QUOTA_EXCEEDED, STORAGE. */
export async function writing(db: VaultDatabase, stores: Stores, body: (tx: WriteTransaction) => Promise<void>): Promise<void> {
  await guard('write', async () => {
    const tx = db.transaction(stores, 'readwrite', { durability: 'strict' });
    issue(tx.done); // awaited below unless the body fails first; then the body's error is the one reported
    // The first failed request says why (e.g. QuotaExceededError in Firefox): idb rejects `done` with
    // a bare AbortError when a request's error reaches the transaction before the abort records the
    // cause. Listening in the capture phase runs before idb's listener.
    let cause: DOMException | null = null;
    tx.addEventListener('error', (event) => (cause ??= (event.target as IDBRequest | null)?.error ?? null), { capture: true });
    try {
      await body(tx);
      await tx.done;
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // Already finished or aborted: the original error is what matters.
      }
      throw cause ?? error;
    }
  });
}
