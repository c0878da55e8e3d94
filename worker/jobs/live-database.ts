/**
 * The live database: a SQLite connection whose committed state is saved to the chunk store.
 *
 * Invariants:
 * - A save captures the database between transactions (never a half transaction) and writes only
 *   the chunks whose bytes changed, plus the new head, in one strict transaction.
 * - Saves run one at a time; a restore holds the same mutex, so no save interleaves with a swap.
 * - Autosave runs `autosaveMs` after the last committed write, and retries later while a
 *   transaction is open.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { SaveResult } from '../../src/protocol';
import { sha256Hex } from '../../src/format/sha256';
import type { SqliteConnection } from '../engine/sqlite';
import { Mutex } from '../mutex';
import type { ChunkStore } from '../store/chunk-store';
import { LIVE_HEAD, type Manifest } from '../store/schema';
import { compressMissing, readImage } from './chunk-io';
import { fingerprint, manifestFor, splitImage } from './image';

export class LiveDatabase {
  /** Held by saves and by restores (which replace the connection). */
  readonly mutex = new Mutex();
  private fingerprints: number[] = [];
  private keys: string[] = [];
  /** Bumped by every noted write; the save that captured generation g makes `savedGeneration` g. */
  private writeGeneration = 0;
  private savedGeneration = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastChanges = 0;
  private saveError: PagevaultError | null = null;
  savedAt: number | null;

  private constructor(
    readonly conn: SqliteConnection,
    private readonly store: ChunkStore,
    private readonly autosaveMs: number,
    savedAt: number | null,
  ) {
    this.savedAt = savedAt;
  }

  /**
   * Opens the live database from its saved head, checking every chunk (a damaged one is `CORRUPT`
   * naming the chunk), or a new empty database when nothing was saved yet.
   */
  static async open(store: ChunkStore, openConnection: (image?: Uint8Array) => SqliteConnection, autosaveMs: number): Promise<LiveDatabase> {
    const head = store.head(LIVE_HEAD);
    const image = head ? await readImage(store, head.manifest) : undefined;
    const live = new LiveDatabase(openConnection(image), store, autosaveMs, head?.savedAt ?? null);
    if (head && image) live.remember(image, head.manifest);
    live.lastChanges = live.conn.totalChanges();
    return live;
  }

  /**
   * The key of the saved chunk at `index` when `view` has the same fingerprint, else undefined.
   * Lets a page-copy backup skip SHA-256 for the chunks that did not change since the last save.
   */
  readonly savedKey = (index: number, view: Uint8Array): string | undefined => {
    const key = this.keys[index];
    return key !== undefined && this.fingerprints[index] === fingerprint(view) ? key : undefined;
  };

  /** True when committed changes wait for a save. */
  get isDirty(): boolean {
    return this.writeGeneration !== this.savedGeneration;
  }

  /** The error of the last failed autosave, if the database has not been saved since. */
  get lastSaveError(): PagevaultError | null {
    return this.saveError;
  }

  /** Call after anything that may have written; schedules the autosave. */
  noteWrite(always: boolean): void {
    const changes = this.conn.totalChanges();
    if (!always && changes === this.lastChanges) return;
    this.lastChanges = changes;
    this.writeGeneration++;
    this.scheduleAutosave(this.autosaveMs);
  }

  /**
   * Saves the committed state now.
   * @throws BUSY while a transaction is open; QUOTA_EXCEEDED / STORAGE when the store refuses.
   */
  save(): Promise<SaveResult> {
    return this.mutex.run(() => this.saveNow());
  }

  /** Saves, for use by code that already holds the mutex (restore). */
  async saveNow(): Promise<SaveResult> {
    const started = performance.now();
    if (this.conn.inTransaction()) {
      throw new PagevaultError(ErrorCode.BUSY, 'A transaction is open: commit or roll it back before saving.', {});
    }
    const hadHead = this.store.head(LIVE_HEAD) !== undefined;
    if (!this.isDirty && hadHead) return { chunksWritten: 0, bytesWritten: 0, durationMs: performance.now() - started };
    // Dirty stays true until the commit (info() must not call a save in flight "saved"); a failed
    // save leaves its generation unsaved, so the next save or autosave tries again.
    const generation = this.writeGeneration;
    const image = this.conn.exportImage();
    const pageSize = image.byteLength > 0 ? this.conn.pageSize : 0;
    const views = splitImage(image);
    const prints = views.map((view) => fingerprint(view));
    const keys = await Promise.all(views.map((view, i) => (prints[i] === this.fingerprints[i] && this.keys[i] !== undefined ? this.keys[i]! : sha256Hex(view))));
    const manifest = manifestFor(image, pageSize, keys);
    const previous = this.store.head(LIVE_HEAD)?.manifest;
    if (previous && sameImage(previous, manifest)) {
      this.fingerprints = prints;
      this.savedGeneration = generation;
      return { chunksWritten: 0, bytesWritten: 0, durationMs: performance.now() - started };
    }
    // Checked: a compressor bug must fail this save, not corrupt the only copy (restic's lesson).
    const fresh = await compressMissing(this.store, views, keys);
    const savedAt = Date.now();
    const { written, bytesWritten } = await this.store.commit({ chunks: fresh, heads: new Map([[LIVE_HEAD, { manifest, savedAt }]]) });
    this.fingerprints = prints;
    this.keys = keys;
    this.savedAt = savedAt;
    this.savedGeneration = generation;
    this.saveError = null;
    return { chunksWritten: written, bytesWritten, durationMs: performance.now() - started };
  }

  /** Replaces the connection's database with `image`, already committed as the head `manifest`. */
  replace(image: Uint8Array, manifest: Manifest, savedAt: number): void {
    this.conn.replace(image);
    this.remember(image, manifest);
    this.savedAt = savedAt;
    this.savedGeneration = this.writeGeneration;
    this.lastChanges = this.conn.totalChanges();
  }

  /** Stops the autosave timer (close). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private remember(image: Uint8Array, manifest: Manifest): void {
    this.fingerprints = splitImage(image).map((view) => fingerprint(view));
    this.keys = [...manifest.chunks];
  }

  private scheduleAutosave(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save().catch((error: unknown) => {
        if (error instanceof PagevaultError && error.code === ErrorCode.BUSY) {
          this.scheduleAutosave(Math.max(this.autosaveMs, 50));
          return;
        }
        this.saveError = error instanceof PagevaultError ? error : new PagevaultError(ErrorCode.INTERNAL, String(error));
      });
    }, delayMs);
  }
}

function sameImage(a: Manifest, b: Manifest): boolean {
  return a.sizeBytes === b.sizeBytes && a.pageSize === b.pageSize && a.chunks.length === b.chunks.length && a.chunks.every((key, i) => key === b.chunks[i]);
}
