/**
 * Everything one vault keeps, in one IndexedDB database (through idb): chunks, the records that
 * name them (heads, history points, backups, staging: ./catalog.ts), their reference counts (./chunk-refs.ts), jobs
 * and settings (./jobs-meta.ts). This class owns the database and the one commit path.
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
import { deleteDB, openDB } from 'idb';
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { StoredChunk } from '../../src/format/codec';
import { Mutex } from '../mutex';
import { Catalog } from './catalog';
import { ChunkRefs } from './chunk-refs';
import type { Change, CommitOptions } from './commit-plan';
import { freshChunks, referenceDelta, unique } from './commit-plan';
import { HistoryKeeper } from './history-keeper';
import { guard } from './idb-errors';
import { JobsAndMeta } from './jobs-meta';
import { DB_PREFIX, HISTORY_META_KEY, LIVE_HEAD, STORE_VERSION, type BackupRecord, type HeadRecord, type HistoryPolicy, type Manifest, type PointRecord, type StagingRecord, type StoredJob, type VaultDB } from './schema';
import { issue, reading, writing, type Stores, type VaultDatabase } from './transactions';

const ALL_STORES: Stores = ['chunks', 'heads', 'points', 'backups', 'jobs', 'staging', 'meta'];

export class VaultStore {
  private readonly refs = new ChunkRefs();
  private readonly catalog = new Catalog(this.refs);
  private readonly records: JobsAndMeta;
  private readonly history: HistoryKeeper;
  private closedReason: PagevaultError | null = null;
  /** Serializes every decision made from the reference counts with the transaction that acts on it. */
  private readonly writes = new Mutex();
  /** Backups readers hold, with how many holds each (see `hold`). */
  private readonly heldBackups = new Map<string, number>();

  private constructor(
    readonly name: string,
    private readonly db: VaultDatabase,
  ) {
    this.records = new JobsAndMeta(db);
    this.history = new HistoryKeeper(this.catalog, this.refs, async (keys) => {
      const tx = reading(this.db, ['chunks']);
      const values = await guard('measure chunks', () => Promise.all(keys.map((key) => tx.store.get(key))));
      return values.map((value) => value?.data.byteLength ?? 0);
    });
  }

  /**
   * Opens (creating if needed) the store of vault `name` and loads its heads, backups and chunk keys.
   * @throws STORAGE when IndexedDB cannot be opened or a newer version of pagevault owns the store.
   */
  static async open(name: string): Promise<VaultStore> {
    let store: VaultStore | undefined;
    const db = await guard('open the store', () =>
      openDB<VaultDB>(DB_PREFIX + name, STORE_VERSION, {
        upgrade(database) {
          // Adds what an older version lacks (1 -> 2: points); existing stores and records stay.
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
    store = new VaultStore(name, db);
    await store.load();
    return store;
  }

  /** Deletes every byte stored for vault `name`. The vault must not be open. @throws STORAGE. */
  static async destroy(name: string): Promise<void> {
    await guard('delete the store', () => deleteDB(DB_PREFIX + name));
  }

  private async load(): Promise<void> {
    const tx = reading(this.db, ['heads', 'points', 'backups', 'staging', 'chunks', 'meta']);
    const [headKeys, headValues, pointValues, backupValues, stagingValues, chunkKeys, policy] = await guard('load the store', () =>
      Promise.all([
        tx.objectStore('heads').getAllKeys(),
        tx.objectStore('heads').getAll(),
        tx.objectStore('points').getAll(),
        tx.objectStore('backups').getAll(),
        tx.objectStore('staging').getAll(),
        tx.objectStore('chunks').getAllKeys(),
        tx.objectStore('meta').get(HISTORY_META_KEY),
      ]),
    );
    // Consecutive points name mostly the same keys: one string per key, not one per point (an
    // hour of saves every second of a 10 MB database would otherwise hold ~70 MB of key copies).
    const keys = new Map<string, string>();
    const shared = (key: string): string => {
      const known = keys.get(key);
      if (known !== undefined) return known;
      keys.set(key, key);
      return key;
    };
    for (const point of pointValues) {
      this.catalog.setPoint(point.at, { ...point, manifest: { ...point.manifest, chunks: point.manifest.chunks.map(shared) } });
      this.history.knownSizes(point);
    }
    this.history.loaded(policy);
    headKeys.forEach((key, i) => {
      const head = headValues[i];
      if (head) this.catalog.setHead(key, head);
      if (head) this.history.knownSizes(head);
    });
    for (const backup of backupValues) this.catalog.setBackup(backup.info.backupId, backup);
    for (const record of stagingValues) this.catalog.setStaging(record.jobId, record);
    this.refs.stored(chunkKeys);
  }

  // --- The catalog (in memory, as last committed) ------------------------------------------------

  /** The manifest saved under `name` (default: the live database). */
  head(name: string = LIVE_HEAD): HeadRecord | undefined {
    return this.catalog.head(name);
  }

  backup(backupId: string): BackupRecord | undefined {
    return this.catalog.backup(backupId);
  }

  /** Every backup, newest first. */
  listBackups(): BackupRecord[] {
    return this.catalog.listBackups();
  }

  /** Every point of the live database's history, oldest first (the current head is not one). */
  listPoints(): PointRecord[] {
    return this.catalog.listPoints();
  }

  /** The history policy last committed; null when history is off. */
  get historyPolicy(): HistoryPolicy | null {
    return this.history.policy;
  }

  /** Stored bytes only history holds (chunks nothing else names, and the point records). @throws STORAGE. */
  historyBytes(): Promise<number> {
    return this.writes.run(() => this.history.bytes());
  }

  stagingRecords(): StagingRecord[] {
    return this.catalog.stagingRecords();
  }

  /**
   * The image SHA-256 of a stored backup whose manifest lists exactly `keys`, if one exists:
   * lets a backup of an unchanged database skip hashing the whole image again.
   */
  knownImageHash(keys: readonly string[]): string | undefined {
    return this.catalog.knownImageHash(keys);
  }

  // --- Chunks ------------------------------------------------------------------------------------

  /** True when a chunk with this key is stored. */
  hasChunk(key: string): boolean {
    return this.refs.isStored(key);
  }

  /** Number of stored chunks. */
  get chunkCount(): number {
    return this.refs.storedCount;
  }

  /** Reads one stored chunk. @throws CORRUPT when it is missing; STORAGE. */
  async getChunk(key: string): Promise<StoredChunk> {
    this.assertOpen();
    const value = await guard('read a chunk', () => reading(this.db, ['chunks']).store.get(key));
    if (!value) throw new PagevaultError(ErrorCode.CORRUPT, `Chunk ${key.slice(0, 12)} is missing from the store.`, { chunk: key });
    return { key, ...value };
  }

  /** Reads many chunks in one transaction, in order. @throws CORRUPT when one is missing; STORAGE. */
  async getChunks(keys: readonly string[]): Promise<StoredChunk[]> {
    this.assertOpen();
    const tx = reading(this.db, ['chunks']);
    const values = await guard('read chunks', () => Promise.all(keys.map((key) => tx.store.get(key))));
    return values.map((value, i) => {
      const key = keys[i]!;
      if (!value) throw new PagevaultError(ErrorCode.CORRUPT, `Chunk ${key.slice(0, 12)} is missing from the store.`, { chunk: key, index: i });
      return { key, ...value };
    });
  }

  /** Sum of stored (compressed) chunk bytes referenced by `keys`, counting each key once. @throws STORAGE. */
  async storedBytes(keys: Iterable<string>): Promise<number> {
    this.assertOpen();
    const unique = [...new Set(keys)];
    const tx = reading(this.db, ['chunks']);
    const values = await guard('measure chunks', () => Promise.all(unique.map((k) => tx.store.get(k))));
    return values.reduce((sum, v) => sum + (v?.data.byteLength ?? 0), 0);
  }

  // --- Jobs and settings -------------------------------------------------------------------------

  /** @throws QUOTA_EXCEEDED, STORAGE. */
  async putJob(job: StoredJob): Promise<void> {
    this.assertOpen();
    await this.records.putJob(job);
  }

  async getJob(jobId: string): Promise<StoredJob | undefined> {
    this.assertOpen();
    return this.records.getJob(jobId);
  }

  async listJobs(): Promise<StoredJob[]> {
    this.assertOpen();
    return this.records.listJobs();
  }

  async getMeta<T>(key: string): Promise<T | undefined> {
    this.assertOpen();
    return this.records.getMeta<T>(key);
  }

  // --- Writes: staging, the commit, holds, collection ---------------------------------------------

  /**
   * Pins `keys` for a job that has not committed yet and writes the `fresh` chunks among them that
   * the store lacks, recording both in the job's staging record in the same transaction; a crash
   * leaves nothing that the next open's `JobRunner.recover` cannot find, and a save cannot
   * collect a pinned chunk.
   * @returns bytes written, and the keys that are neither stored nor in `fresh` (the caller must
   * supply them: a save collected them after the caller looked).
   * @throws QUOTA_EXCEEDED, STORAGE.
   */
  async stage(jobId: string, keys: readonly string[], fresh: readonly StoredChunk[]): Promise<{ bytesWritten: number; missing: string[] }> {
    return this.writes.run(() => this.stageNow(jobId, keys, fresh));
  }

  private async stageNow(jobId: string, keys: readonly string[], fresh: readonly StoredChunk[]): Promise<{ bytesWritten: number; missing: string[] }> {
    const toWrite = unique(fresh.filter((c) => !this.refs.isStored(c.key)));
    const incoming = new Set(toWrite.map((c) => c.key));
    const missing = [...new Set(keys)].filter((key) => !this.refs.isStored(key) && !incoming.has(key));
    const pinned = keys.filter((key) => this.refs.isStored(key) || incoming.has(key));
    const record: StagingRecord = { jobId, keys: [...(this.catalog.staged(jobId)?.keys ?? []), ...pinned] };
    await this.write(['chunks', 'staging'], async (tx) => {
      for (const chunk of toWrite) issue(tx.objectStore('chunks').put({ codec: chunk.codec, size: chunk.size, data: chunk.data }, chunk.key));
      await tx.objectStore('staging').put(record, jobId);
    });
    this.refs.stored(incoming);
    this.catalog.setStaging(jobId, record);
    return { bytesWritten: byteLength(toWrite), missing };
  }

  /**
   * Applies `change` in one strict transaction: new chunks, heads, backups, jobs, meta, released
   * staging records and holds, and the deletion of every chunk nothing references any more.
   * Refuses (nothing written) when a manifest would name a chunk that is neither stored nor
   * supplied, or when `options.signal` was aborted before the transaction opened.
   * @returns chunks written, their stored bytes, and chunks deleted.
   * @throws CANCELLED (signal aborted), INTERNAL (a manifest names a chunk nobody can supply),
   *   QUOTA_EXCEEDED, STORAGE.
   */
  async commit(change: Change, options: CommitOptions = {}): Promise<{ written: number; bytesWritten: number; deleted: number; kept: string[] }> {
    return this.writes.run(async () => {
      for (;;) {
        try {
          return await this.commitNow(change, options);
        } catch (error) {
          // History yields to the live database: a save refused for quota drops the oldest half of
          // the points (one transaction of its own) and tries again, until it fits or none is left.
          const shed = error instanceof PagevaultError && error.code === ErrorCode.QUOTA_EXCEEDED && change.heads?.has(LIVE_HEAD) ? this.history.oldestHalf() : null;
          if (!shed) throw error;
          await this.commitNow({ points: shed }, {});
        }
      }
    });
  }

  private async commitNow(changeAsked: Change, options: CommitOptions): Promise<{ written: number; bytesWritten: number; deleted: number; kept: string[] }> {
    // A backup a reader holds (a queued or running restore, verify, download or upload) is not
    // removed: decided here, inside the lock, so no reader can start between a check and the commit.
    const kept = [...(changeAsked.backups ?? [])].filter(([id, backup]) => backup === null && this.heldBackups.has(id)).map(([id]) => id);
    if (kept.length > 0 && !options.keepHeld) {
      throw new PagevaultError(ErrorCode.BUSY, `Backup ${kept[0]} is in use by a job or a download; try again when it has finished.`, { backupId: kept[0]! });
    }
    const unkept: Change = kept.length === 0 ? changeAsked : { ...changeAsked, backups: new Map([...changeAsked.backups!].filter(([id]) => !kept.includes(id))) };
    // The replaced head becomes a point, and thinning removes points, in this same transaction.
    const change = await this.history.plan(unkept, options);
    const fresh = await freshChunks(change, this.refs, options.supply);
    if (options.signal?.aborted) throw new PagevaultError(ErrorCode.CANCELLED, 'The job was cancelled before its result was committed.', {});
    const freshKeys = new Set(fresh.map((c) => c.key));
    const doomed = this.refs.unreferencedAfter(referenceDelta(change, this.catalog, this.refs), freshKeys);
    const doomedSet = new Set(doomed);
    const writesRecords = (change.heads?.size ?? 0) + (change.points?.size ?? 0) + (change.backups?.size ?? 0) + (change.jobs?.length ?? 0) + (change.meta?.size ?? 0) + (change.releaseStaging?.length ?? 0);
    if (writesRecords > 0 || fresh.length > 0 || doomed.length > 0) {
      await this.write(ALL_STORES, async (tx) => {
        const chunks = tx.objectStore('chunks');
        for (const chunk of fresh) if (!doomedSet.has(chunk.key)) issue(chunks.put({ codec: chunk.codec, size: chunk.size, data: chunk.data }, chunk.key));
        for (const key of doomed) if (!freshKeys.has(key)) issue(chunks.delete(key));
        for (const [name, head] of change.heads ?? []) issue(head ? tx.objectStore('heads').put(head, name) : tx.objectStore('heads').delete(name));
        for (const [at, point] of change.points ?? []) issue(point ? tx.objectStore('points').put(point, at) : tx.objectStore('points').delete(at));
        for (const [id, backup] of change.backups ?? []) issue(backup ? tx.objectStore('backups').put(backup, id) : tx.objectStore('backups').delete(id));
        for (const job of change.jobs ?? []) issue(tx.objectStore('jobs').put(job, job.jobId));
        for (const [key, value] of change.meta ?? []) issue(tx.objectStore('meta').put(value, key));
        for (const jobId of change.releaseStaging ?? []) issue(tx.objectStore('staging').delete(jobId));
        await tx.done;
      });
    }
    // The transaction committed: bring the in-memory picture up to date.
    const written = fresh.filter((c) => !doomedSet.has(c.key));
    this.refs.stored(written.map((c) => c.key));
    for (const [name, head] of change.heads ?? []) this.catalog.setHead(name, head);
    for (const [at, point] of change.points ?? []) this.catalog.setPoint(at, point);
    for (const [id, backup] of change.backups ?? []) this.catalog.setBackup(id, backup);
    for (const jobId of change.releaseStaging ?? []) this.catalog.setStaging(jobId, null);
    for (const holdId of change.releaseHolds ?? []) this.refs.releaseHold(holdId);
    this.refs.deleted(doomed);
    this.history.committed(change, written, doomed);
    return { written: written.length, bytesWritten: byteLength(written), deleted: doomed.length, kept };
  }

  /**
   * Keeps the chunks of backup `backupId` (or of the live head, for `LIVE_HEAD`) stored until the
   * returned release runs, even if the backup is dropped or a save replaces the head meanwhile:
   * a download or a restore reads what it started with. With `inUse`, the backup itself stays in
   * the catalog too: a drop is refused (BUSY) and a retention sweep leaves it (a queued or running
   * restore, verification or upload relies on it). Holds live in memory only (a crash ends the
   * reader too; `collectGarbage` at the next open removes what they kept).
   * A moment (`{ at }`) holds the state in force then (`stateAt`, resolved inside the lock; its
   * stamp is returned as `at`) the same way: its chunks stay even if thinning removes the point
   * meanwhile; `inUse` does not apply to it.
   * @throws NOT_FOUND when the backup is gone, or nothing was saved at or before the moment.
   */
  async hold(target: string | { readonly at: number }, options: { inUse?: boolean } = {}): Promise<{ readonly manifest: Manifest; readonly at?: number; readonly release: () => Promise<void> }> {
    const backupId = typeof target === 'string' ? target : LIVE_HEAD;
    const inUse = options.inUse === true && typeof target === 'string';
    const taken = await this.writes.run(async () => {
      // Resolved here, in the lock: a save that thins the point a caller saw cannot slip in between.
      const state = typeof target !== 'string' ? this.stateAt(target.at) : undefined;
      const manifest = state ? state.manifest : backupId === LIVE_HEAD ? this.catalog.head(LIVE_HEAD)?.manifest : this.catalog.backup(backupId)?.manifest;
      if (!manifest) throw new PagevaultError(ErrorCode.NOT_FOUND, `No backup with id ${backupId}.`, { backupId });
      if (inUse) this.heldBackups.set(backupId, (this.heldBackups.get(backupId) ?? 0) + 1);
      return { manifest, at: state?.at, holdId: this.refs.hold(manifest.chunks) };
    });
    let released = false;
    /** Never rejects: the reader's work is done whatever happens to the bookkeeping. */
    const release = async () => {
      if (released) return;
      released = true;
      if (inUse) {
        await this.writes.run(async () => {
          const left = (this.heldBackups.get(backupId) ?? 1) - 1;
          if (left > 0) this.heldBackups.set(backupId, left);
          else this.heldBackups.delete(backupId);
        });
      }
      // A closed store keeps what it held; the next open's collectGarbage removes it.
      if (this.closedReason) return;
      try {
        await this.commit({ releaseHolds: [taken.holdId] });
      } catch {
        // The chunks it freed could not be deleted now (storage failing): forget the hold, and let
        // the next open's collectGarbage remove what nothing references.
        await this.writes.run(async () => this.refs.releaseHold(taken.holdId));
      }
    };
    return { manifest: taken.manifest, ...(taken.at === undefined ? {} : { at: taken.at }), release };
  }

  /**
   * The state in force at `moment`: the live head when saved at or before it, else the newest
   * point saved at or before it.
   * @throws NOT_FOUND when nothing was saved at or before `moment`.
   */
  stateAt(moment: number): { readonly at: number; readonly manifest: Manifest } {
    const head = this.catalog.head(LIVE_HEAD);
    if (head && head.savedAt <= moment) return { at: head.savedAt, manifest: head.manifest };
    const points = this.catalog.listPoints();
    let found: PointRecord | undefined;
    for (const point of points) if (point.at <= moment) found = point;
    if (found) return found;
    const oldest = points[0]?.at ?? head?.savedAt;
    const since = oldest === undefined ? 'no history is kept' : `the oldest point is ${new Date(oldest).toISOString()}`;
    throw new PagevaultError(ErrorCode.NOT_FOUND, `No saved state at or before ${new Date(moment).toISOString()} (${since}).`, { at: moment });
  }

  /** True while an `inUse` hold (a restore, verification or upload relying on it) keeps backup `backupId`. */
  isHeld(backupId: string): boolean {
    return this.heldBackups.has(backupId);
  }

  /** Deletes stored chunks that nothing references (left by a bug or an older version). @returns how many. */
  async collectGarbage(): Promise<number> {
    return this.writes.run(async () => {
      const orphans = this.refs.orphans();
      if (orphans.length === 0) return 0;
      await this.write(['chunks'], async (tx) => {
        for (const key of orphans) issue(tx.objectStore('chunks').delete(key));
      });
      this.refs.deleted(orphans);
      return orphans.length;
    });
  }

  // --- Life -------------------------------------------------------------------------------------

  /** Why the store stopped serving when it was not closed by the vault (newer schema, connection lost); null while it serves. */
  get stoppedBy(): PagevaultError | null {
    return this.closedReason?.code === ErrorCode.CLOSED ? null : this.closedReason;
  }

  close(): void {
    this.shutdown(new PagevaultError(ErrorCode.CLOSED, 'The vault is closed.', { name: this.name }));
  }

  /**
   * Closes once every transaction begun before has ended: an empty read-write transaction over
   * every store starts only after them. A worker terminated right after `close()` could otherwise
   * cut one short, and WebKit then keeps the connection open, which blocks `deleteVault` for good.
   * Waits at most `limitMs`, then closes anyway.
   */
  async closeWhenIdle(limitMs = 5_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const names = this.closedReason ? [] : [...this.db.objectStoreNames];
      // transaction() throws at once on a connection the browser closed: then there is nothing to wait for.
      const barrier = names.length > 0 ? this.db.transaction(names, 'readwrite').done : Promise.resolve();
      await Promise.race([barrier.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)))]);
    } catch {
      // The connection is gone already: nothing to wait for.
    } finally {
      clearTimeout(timer);
      this.close();
    }
  }

  private shutdown(reason: PagevaultError): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closedReason) throw this.closedReason;
  }

  private async write(stores: Stores, body: Parameters<typeof writing>[2]): Promise<void> {
    this.assertOpen();
    await writing(this.db, stores, body);
  }
}

function byteLength(chunks: readonly StoredChunk[]): number {
  return chunks.reduce((sum, c) => sum + c.data.byteLength, 0);
}
