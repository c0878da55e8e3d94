/**
 * The content-addressed chunk store of one vault, over IndexedDB (through idb).
 *
 * Invariants:
 * - A chunk is written once per key; its key is the SHA-256 of its plaintext.
 * - Every change that makes a manifest visible (the live head, a backup) is ONE readwrite
 *   transaction with `durability: 'strict'` that also writes the chunks it needs, so a crash
 *   leaves the old state or the new one, never a mix.
 * - Nothing but IndexedDB requests is awaited inside a transaction (an await on anything else
 *   lets it auto-commit): callers hash and compress before calling in.
 * - A chunk is deleted, in the same transaction, when the last manifest, staging record or hold
 *   referencing it goes. Reference counts live in memory; this worker is the only writer
 *   (a Web Lock guarantees it), so they stay exact.
 * - One commit path: every commit checks, inside the store's lock, that every key a manifest it
 *   writes names is either stored (and stays) or supplied in that same transaction. What a caller
 *   decided outside the lock ("this chunk is already stored") is a hint; a key that went missing
 *   since is asked of the caller's `supply`, and a commit that cannot be satisfied is refused.
 */
import { deleteDB, openDB, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { StoredChunk } from '../../src/format/codec';
import { Mutex } from '../mutex';
import {
  DB_PREFIX,
  LIVE_HEAD,
  STORE_VERSION,
  type BackupRecord,
  type HeadRecord,
  type Manifest,
  type StagingRecord,
  type StoredJob,
  type VaultDB,
} from './schema';

/** What one `commit` makes true, atomically. `null` deletes. */
export interface Change {
  readonly chunks?: readonly StoredChunk[];
  readonly heads?: ReadonlyMap<string, HeadRecord | null>;
  readonly backups?: ReadonlyMap<string, BackupRecord | null>;
  readonly jobs?: readonly StoredJob[];
  readonly meta?: ReadonlyMap<string, unknown>;
  /** Staging records this change releases (their chunks are now owned by a manifest, or garbage). */
  readonly releaseStaging?: readonly string[];
  /** In-memory holds this change releases (see `ChunkStore.hold`). */
  readonly releaseHolds?: readonly string[];
}

/** How a commit may complete or stop itself, decided inside the store's lock. */
export interface CommitOptions {
  /**
   * Checked inside the lock, just before the transaction opens: an aborted signal refuses the
   * commit (nothing written), so a job cancelled before its commit began is never listed.
   */
  readonly signal?: AbortSignal;
  /**
   * Supplies stored forms of keys the new manifests name that the store does not hold (a chunk the
   * caller saw stored was collected before the commit took the lock). Called inside the lock.
   */
  readonly supply?: (missing: readonly string[]) => Promise<readonly StoredChunk[]>;
}

/** Counters of what this store has written, for tests and benchmarks ("count what the store wrote"). */
export interface WriteStats {
  chunkPuts: number;
  chunkBytes: number;
  chunkDeletes: number;
  transactions: number;
}

type Stores = StoreNames<VaultDB>[];
const ALL_STORES: Stores = ['chunks', 'heads', 'backups', 'jobs', 'staging', 'meta'];

export class ChunkStore {
  readonly stats: WriteStats = { chunkPuts: 0, chunkBytes: 0, chunkDeletes: 0, transactions: 0 };
  private readonly refs = new Map<string, number>();
  private readonly present = new Set<string>();
  private readonly heads = new Map<string, HeadRecord>();
  private readonly backups = new Map<string, BackupRecord>();
  private readonly staging = new Map<string, StagingRecord>();
  /** In-memory references that keep chunks while something reads them (a download, a restore). */
  private readonly holds = new Map<string, readonly string[]>();
  private nextHold = 1;
  private closedReason: PagevaultError | null = null;
  /** Serializes every decision made from the reference counts with the transaction that acts on it. */
  private readonly writes = new Mutex();

  private constructor(
    readonly name: string,
    private readonly db: IDBPDatabase<VaultDB>,
  ) {}

  /**
   * Opens (creating if needed) the store of vault `name` and loads its heads, backups and chunk keys.
   * @throws STORAGE when IndexedDB cannot be opened or a newer version of pagevault owns the store.
   */
  static async open(name: string): Promise<ChunkStore> {
    let store: ChunkStore | undefined;
    const db = await guard('open the store', () =>
      openDB<VaultDB>(DB_PREFIX + name, STORE_VERSION, {
        upgrade(database) {
          for (const storeName of ALL_STORES) {
            if (!database.objectStoreNames.contains(storeName)) database.createObjectStore(storeName);
          }
        },
        blocking() {
          // Another tab wants a newer schema: step aside instead of blocking it forever.
          store?.shutdown(new PagevaultError(ErrorCode.STORAGE, 'A newer version of pagevault opened this database in another tab; reload this page.', { name }));
        },
        terminated() {
          store?.shutdown(new PagevaultError(ErrorCode.STORAGE, 'The browser closed the IndexedDB connection (storage cleared or evicted?). Reopen the vault.', { name }));
        },
      }),
    );
    store = new ChunkStore(name, db);
    await store.load();
    return store;
  }

  /** Deletes every byte stored for vault `name`. The vault must not be open. */
  static async destroy(name: string): Promise<void> {
    await guard('delete the store', () => deleteDB(DB_PREFIX + name));
  }

  private async load(): Promise<void> {
    const tx = this.reading(['heads', 'backups', 'staging', 'chunks']);
    const [headKeys, headValues, backupValues, stagingValues, chunkKeys] = await guard('load the store', () =>
      Promise.all([
        tx.objectStore('heads').getAllKeys(),
        tx.objectStore('heads').getAll(),
        tx.objectStore('backups').getAll(),
        tx.objectStore('staging').getAll(),
        tx.objectStore('chunks').getAllKeys(),
      ]),
    );
    headKeys.forEach((key, i) => {
      const head = headValues[i];
      if (head) this.setHead(key, head);
    });
    for (const backup of backupValues) this.setBackup(backup.info.backupId, backup);
    for (const record of stagingValues) this.setStaging(record.jobId, record);
    for (const key of chunkKeys) this.present.add(key);
  }

  /** The manifest saved under `name` (default: the live database). */
  head(name: string = LIVE_HEAD): HeadRecord | undefined {
    return this.heads.get(name);
  }

  backup(backupId: string): BackupRecord | undefined {
    return this.backups.get(backupId);
  }

  /** Every backup, newest first. */
  listBackups(): BackupRecord[] {
    return [...this.backups.values()].sort((a, b) => b.info.createdAt - a.info.createdAt || (b.info.backupId < a.info.backupId ? -1 : 1));
  }

  stagingRecords(): StagingRecord[] {
    return [...this.staging.values()];
  }

  /**
   * The image SHA-256 of a stored backup whose manifest lists exactly `keys`, if one exists.
   * Sound because chunk keys are SHA-256s of their bytes: the same key list is the same image.
   * Lets a backup of an unchanged database skip hashing the whole image again.
   */
  knownImageHash(keys: readonly string[]): string | undefined {
    for (const { manifest } of this.backups.values()) {
      if (manifest.sha256 !== undefined && manifest.chunks.length === keys.length && manifest.chunks.every((key, i) => key === keys[i])) return manifest.sha256;
    }
    return undefined;
  }

  /** True when a chunk with this key is stored. */
  hasChunk(key: string): boolean {
    return this.present.has(key);
  }

  /** Number of stored chunks. */
  get chunkCount(): number {
    return this.present.size;
  }

  /** Reads one stored chunk. @throws CORRUPT when it is missing. */
  async getChunk(key: string): Promise<StoredChunk> {
    this.assertOpen();
    const value = await guard('read a chunk', () => this.reading(['chunks']).store.get(key));
    if (!value) throw new PagevaultError(ErrorCode.CORRUPT, `Chunk ${key.slice(0, 12)} is missing from the store.`, { chunk: key });
    return { key, ...value };
  }

  /** Reads many chunks in one transaction, in order. @throws CORRUPT when one is missing. */
  async getChunks(keys: readonly string[]): Promise<StoredChunk[]> {
    this.assertOpen();
    const tx = this.reading(['chunks']);
    const values = await guard('read chunks', () => Promise.all(keys.map((key) => tx.store.get(key))));
    return values.map((value, i) => {
      const key = keys[i]!;
      if (!value) throw new PagevaultError(ErrorCode.CORRUPT, `Chunk ${key.slice(0, 12)} is missing from the store.`, { chunk: key, index: i });
      return { key, ...value };
    });
  }

  /**
   * Pins `keys` for a job that has not committed yet and writes the `fresh` chunks among them that
   * the store lacks, recording both in the job's staging record in the same transaction; a crash
   * leaves nothing that `sweepStaging` cannot find, and a save cannot collect a pinned chunk.
   * @returns bytes written, and the keys that are neither stored nor in `fresh` (the caller must
   * supply them: a save collected them after the caller looked).
   */
  async stage(jobId: string, keys: readonly string[], fresh: readonly StoredChunk[]): Promise<{ bytesWritten: number; missing: string[] }> {
    return this.writes.run(() => this.stageNow(jobId, keys, fresh));
  }

  private async stageNow(jobId: string, keys: readonly string[], fresh: readonly StoredChunk[]): Promise<{ bytesWritten: number; missing: string[] }> {
    const toWrite = this.unique(fresh.filter((c) => !this.present.has(c.key)));
    const writing = new Set(toWrite.map((c) => c.key));
    const missing = [...new Set(keys)].filter((key) => !this.present.has(key) && !writing.has(key));
    const pinned = keys.filter((key) => this.present.has(key) || writing.has(key));
    const before = this.staging.get(jobId);
    const record: StagingRecord = { jobId, keys: [...(before?.keys ?? []), ...pinned] };
    await this.run(['chunks', 'staging'], async (tx) => {
      for (const chunk of toWrite) issue(tx.objectStore('chunks').put({ codec: chunk.codec, size: chunk.size, data: chunk.data }, chunk.key));
      await tx.objectStore('staging').put(record, jobId);
    });
    this.count(toWrite);
    this.setStaging(jobId, record);
    return { bytesWritten: toWrite.reduce((sum, c) => sum + c.data.byteLength, 0), missing };
  }

  /**
   * Applies `change` in one strict transaction: new chunks, heads, backups, jobs, meta, released
   * staging records and holds, and the deletion of every chunk nothing references any more.
   * Refuses (nothing written) when a manifest would name a chunk that is neither stored nor
   * supplied, or when `options.signal` was aborted before the transaction opened.
   * @throws CANCELLED (signal aborted), INTERNAL (a manifest names a chunk nobody can supply),
   *   QUOTA_EXCEEDED, STORAGE.
   */
  async commit(change: Change, options: CommitOptions = {}): Promise<{ written: number; bytesWritten: number; deleted: number }> {
    return this.writes.run(() => this.commitNow(change, options));
  }

  private async commitNow(change: Change, options: CommitOptions): Promise<{ written: number; bytesWritten: number; deleted: number }> {
    let fresh = this.unique((change.chunks ?? []).filter((c) => !this.present.has(c.key)));
    const missing = () => {
      const supplied = new Set(fresh.map((c) => c.key));
      const wanted = new Set<string>();
      for (const [, head] of change.heads ?? []) for (const key of head?.manifest.chunks ?? []) wanted.add(key);
      for (const [, backup] of change.backups ?? []) for (const key of backup?.manifest.chunks ?? []) wanted.add(key);
      return [...wanted].filter((key) => !this.present.has(key) && !supplied.has(key));
    };
    let lacking = missing();
    if (lacking.length > 0 && options.supply) {
      fresh = this.unique([...fresh, ...(await options.supply(lacking)).filter((c) => !this.present.has(c.key))]);
      lacking = missing();
    }
    if (lacking.length > 0) {
      throw new PagevaultError(
        ErrorCode.INTERNAL,
        `Refused to commit a manifest naming ${lacking.length} chunk(s) that are not stored (first: ${lacking[0]!.slice(0, 12)}); nothing was written.`,
        { chunk: lacking[0]!, missing: lacking.length },
      );
    }
    if (options.signal?.aborted) throw new PagevaultError(ErrorCode.CANCELLED, 'The job was cancelled before its result was committed.', {});
    const delta = new Map<string, number>();
    const add = (keys: readonly string[] | undefined, sign: 1 | -1) => {
      for (const key of keys ?? []) delta.set(key, (delta.get(key) ?? 0) + sign);
    };
    for (const [name, head] of change.heads ?? []) {
      add(this.heads.get(name)?.manifest.chunks, -1);
      add(head?.manifest.chunks, 1);
    }
    for (const [id, backup] of change.backups ?? []) {
      add(this.backups.get(id)?.manifest.chunks, -1);
      add(backup?.manifest.chunks, 1);
    }
    for (const jobId of change.releaseStaging ?? []) add(this.staging.get(jobId)?.keys, -1);
    for (const holdId of change.releaseHolds ?? []) add(this.holds.get(holdId), -1);
    const freshKeys = new Set(fresh.map((c) => c.key));
    const doomed: string[] = [];
    for (const [key, d] of delta) {
      if ((this.refs.get(key) ?? 0) + d <= 0 && (this.present.has(key) || freshKeys.has(key))) doomed.push(key);
    }
    const doomedSet = new Set(doomed);
    const writesRecords = (change.heads?.size ?? 0) + (change.backups?.size ?? 0) + (change.jobs?.length ?? 0) + (change.meta?.size ?? 0) + (change.releaseStaging?.length ?? 0);
    if (writesRecords > 0 || fresh.length > 0 || doomed.length > 0) {
      await this.run(ALL_STORES, async (tx) => {
        const chunks = tx.objectStore('chunks');
        for (const chunk of fresh) if (!doomedSet.has(chunk.key)) issue(chunks.put({ codec: chunk.codec, size: chunk.size, data: chunk.data }, chunk.key));
        for (const key of doomed) if (!freshKeys.has(key)) issue(chunks.delete(key));
        for (const [name, head] of change.heads ?? []) issue(head ? tx.objectStore('heads').put(head, name) : tx.objectStore('heads').delete(name));
        for (const [id, backup] of change.backups ?? []) issue(backup ? tx.objectStore('backups').put(backup, id) : tx.objectStore('backups').delete(id));
        for (const job of change.jobs ?? []) issue(tx.objectStore('jobs').put(job, job.jobId));
        for (const [key, value] of change.meta ?? []) issue(tx.objectStore('meta').put(value, key));
        for (const jobId of change.releaseStaging ?? []) issue(tx.objectStore('staging').delete(jobId));
        await tx.done;
      });
    }
    // The transaction committed: bring the in-memory picture up to date.
    const written = fresh.filter((c) => !doomedSet.has(c.key));
    this.count(written);
    for (const [name, head] of change.heads ?? []) head ? this.setHead(name, head) : this.dropHead(name);
    for (const [id, backup] of change.backups ?? []) backup ? this.setBackup(id, backup) : this.dropBackup(id);
    for (const jobId of change.releaseStaging ?? []) this.dropStaging(jobId);
    for (const holdId of change.releaseHolds ?? []) {
      this.addRefs(this.holds.get(holdId) ?? [], -1);
      this.holds.delete(holdId);
    }
    for (const key of doomed) {
      this.present.delete(key);
      this.refs.delete(key);
    }
    this.stats.chunkDeletes += doomed.length;
    return { written: written.length, bytesWritten: written.reduce((s, c) => s + c.data.byteLength, 0), deleted: doomed.length };
  }

  /**
   * Keeps the chunks of backup `backupId` (or of the live head, for `LIVE_HEAD`) stored until the
   * returned release runs, even if the backup is dropped or a save replaces the head meanwhile:
   * a download or a restore reads what it started with. Holds live in memory only (a crash ends
   * the reader too; `collectGarbage` at the next open removes what they kept).
   * @throws NOT_FOUND when the backup is gone by the time the hold is taken.
   */
  async hold(backupId: string): Promise<{ readonly manifest: Manifest; readonly release: () => Promise<void> }> {
    const taken = await this.writes.run(async () => {
      const manifest = backupId === LIVE_HEAD ? this.heads.get(LIVE_HEAD)?.manifest : this.backups.get(backupId)?.manifest;
      if (!manifest) throw new PagevaultError(ErrorCode.NOT_FOUND, `No backup with id ${backupId}.`, { backupId });
      const holdId = `hold-${this.nextHold++}`;
      this.holds.set(holdId, manifest.chunks);
      this.addRefs(manifest.chunks, 1);
      return { manifest, holdId };
    });
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      // A closed store keeps what it held; the next open's collectGarbage removes it.
      if (this.closedReason) return;
      await this.commit({ releaseHolds: [taken.holdId] });
    };
    return { manifest: taken.manifest, release };
  }

  /** Deletes stored chunks that nothing references (left by a bug or an older version). */
  async collectGarbage(): Promise<number> {
    return this.writes.run(() => this.collectNow());
  }

  private async collectNow(): Promise<number> {
    const orphans = [...this.present].filter((key) => !this.refs.has(key));
    if (orphans.length === 0) return 0;
    await this.run(['chunks'], async (tx) => {
      for (const key of orphans) issue(tx.objectStore('chunks').delete(key));
    });
    for (const key of orphans) this.present.delete(key);
    this.stats.chunkDeletes += orphans.length;
    return orphans.length;
  }

  async putJob(job: StoredJob): Promise<void> {
    await this.run(['jobs'], async (tx) => {
      await tx.objectStore('jobs').put(job, job.jobId);
    });
  }

  async getJob(jobId: string): Promise<StoredJob | undefined> {
    this.assertOpen();
    return guard('read a job', () => this.reading(['jobs']).store.get(jobId));
  }

  async listJobs(): Promise<StoredJob[]> {
    this.assertOpen();
    return guard('read jobs', () => this.reading(['jobs']).store.getAll());
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    this.assertOpen();
    return (await guard('read settings', () => this.reading(['meta']).store.get(key))) as T | undefined;
  }

  /** Sum of stored (compressed) chunk bytes referenced by `keys`, counting each key once. */
  async storedBytes(keys: Iterable<string>): Promise<number> {
    this.assertOpen();
    const unique = [...new Set(keys)];
    const tx = this.reading(['chunks']);
    const values = await guard('measure chunks', () => Promise.all(unique.map((k) => tx.store.get(k))));
    return values.reduce((sum, v) => sum + (v?.data.byteLength ?? 0), 0);
  }

  /** Why the store stopped serving when it was not closed by the vault (newer schema, connection lost); null while it serves. */
  get stoppedBy(): PagevaultError | null {
    return this.closedReason?.code === ErrorCode.CLOSED ? null : this.closedReason;
  }

  close(): void {
    this.shutdown(new PagevaultError(ErrorCode.CLOSED, 'The vault is closed.', { name: this.name }));
  }

  private shutdown(reason: PagevaultError): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closedReason) throw this.closedReason;
  }

  /**
   * A read-only transaction whose `done` is observed: a failed read is reported once, by its request
   * (idb's `db.get` shortcuts leave `done` unobserved, an unhandled rejection when a read fails).
   */
  private reading<const S extends StoreNames<VaultDB>[]>(stores: S): IDBPTransaction<VaultDB, S, 'readonly'> {
    const tx = this.db.transaction(stores, 'readonly');
    issue(tx.done);
    return tx;
  }

  private async run(stores: Stores, body: (tx: IDBPTransaction<VaultDB, Stores, 'readwrite'>) => Promise<void>): Promise<void> {
    this.assertOpen();
    await guard('write', async () => {
      const tx = this.db.transaction(stores, 'readwrite', { durability: 'strict' });
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
    this.stats.transactions++;
  }

  private unique(chunks: readonly StoredChunk[]): StoredChunk[] {
    const seen = new Map<string, StoredChunk>();
    for (const c of chunks) seen.set(c.key, c);
    return [...seen.values()];
  }

  private count(written: readonly StoredChunk[]): void {
    for (const c of written) this.present.add(c.key);
    this.stats.chunkPuts += written.length;
    this.stats.chunkBytes += written.reduce((s, c) => s + c.data.byteLength, 0);
  }

  private addRefs(keys: readonly string[], sign: 1 | -1): void {
    for (const key of keys) {
      const n = (this.refs.get(key) ?? 0) + sign;
      if (n > 0) this.refs.set(key, n);
      else this.refs.delete(key);
    }
  }

  private setHead(name: string, head: HeadRecord): void {
    this.dropHead(name);
    this.heads.set(name, head);
    this.addRefs(head.manifest.chunks, 1);
  }

  private dropHead(name: string): void {
    const old = this.heads.get(name);
    if (old) this.addRefs(old.manifest.chunks, -1);
    this.heads.delete(name);
  }

  private setBackup(id: string, backup: BackupRecord): void {
    this.dropBackup(id);
    this.backups.set(id, backup);
    this.addRefs(backup.manifest.chunks, 1);
  }

  private dropBackup(id: string): void {
    const old = this.backups.get(id);
    if (old) this.addRefs(old.manifest.chunks, -1);
    this.backups.delete(id);
  }

  private setStaging(jobId: string, record: StagingRecord): void {
    this.dropStaging(jobId);
    this.staging.set(jobId, record);
    this.addRefs(record.keys, 1);
  }

  private dropStaging(jobId: string): void {
    const old = this.staging.get(jobId);
    if (old) this.addRefs(old.keys, -1);
    this.staging.delete(jobId);
  }
}

/**
 * Marks a request (or `tx.done`) whose outcome the transaction reports: when one request fails, the
 * transaction aborts and every other pending request rejects too; those rejections are expected
 * and must not surface as unhandled.
 */
function issue(request: Promise<unknown>): void {
  request.catch(() => undefined);
}

/** Runs an IndexedDB operation, turning its failures into typed errors. */
async function guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw await storageError(error, operation);
  }
}

/** Maps a DOMException from IndexedDB to a PagevaultError (QUOTA_EXCEEDED carries the estimate). */
export async function storageError(error: unknown, operation: string): Promise<PagevaultError> {
  if (error instanceof PagevaultError) return error;
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  const message = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  if (name === 'QuotaExceededError' || /quota/i.test(message)) {
    const estimate = await (globalThis.navigator as Navigator | undefined)?.storage?.estimate?.().catch(() => undefined);
    return new PagevaultError(
      ErrorCode.QUOTA_EXCEEDED,
      `The browser refused to store more data while trying to ${operation}. Free space by dropping old backups, or ask for persistent storage.`,
      { operation, usageBytes: estimate?.usage ?? null, quotaBytes: estimate?.quota ?? null },
      { cause: error },
    );
  }
  if (name === 'VersionError') {
    return new PagevaultError(ErrorCode.STORAGE, 'A newer version of pagevault owns this database (opened in another tab); reload this page.', { operation }, { cause: error });
  }
  return new PagevaultError(ErrorCode.STORAGE, `IndexedDB failed to ${operation}: ${name || 'Error'}: ${message}`, { operation }, { cause: error });
}
