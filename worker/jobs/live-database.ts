/**
 * The live database: a SQLite connection whose committed state is saved to the chunk store.
 *
 * Invariants:
 * - A save captures the database between transactions (never a half transaction) and writes only
 *   the chunks whose bytes changed, plus the new head, in one strict transaction whose commit
 *   re-checks, inside the store's lock, that every chunk the head names is stored or supplied.
 * - Saves run one at a time; a restore holds the same mutex, so no save interleaves with a swap.
 * - Every statement that may change the database file marks it dirty (`noteWrite`); autosave runs
 *   `autosaveMs` after the last one, retries later while a transaction is open, and retries a
 *   failed save with backoff, reporting each failure to `onSaveError` listeners and `saveError`.
 */
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { SaveErrorEvent, SaveResult } from '../../src/protocol';
import { sha256Hex } from '../../src/format/sha256';
import { SqliteConnection } from '../engine';
import { Mutex } from '../mutex';
import type { VaultStore } from '../store/vault-store';
import { stampAfter } from '../store/history-plan';
import { LIVE_HEAD, type Manifest } from '../store/schema';
import { sharedCompressor } from '../pool/compressor';
import { compressMissing, readImage } from './chunk-io';
import { loadFingerprint, manifestFor, splitImage, type Fingerprint } from './image';

/** First retry of a failed autosave; doubles per failure up to `MAX_RETRY_MS`. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

export class LiveDatabase {
  /** Held by saves and by restores (which replace the connection). */
  readonly mutex = new Mutex();
  private fingerprints: string[] = [];
  private keys: string[] = [];
  /** Bumped by every noted write; the save that captured generation g makes `savedGeneration` g. */
  private writeGeneration = 0;
  private savedGeneration = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failure: SaveErrorEvent | null = null;
  private readonly listeners = new Set<(event: SaveErrorEvent) => void>();
  private stopped = false;
  /**
   * The SHA-256 of the head's image, hashed over the bytes that were saved (never over fingerprints),
   * on a helper after the save committed: a `pages` backup of a saved database records the head
   * with it instead of copying and hashing the image again. Invariant: `manifest` is the head's
   * manifest object this hash belongs to; a save that changes the head replaces it.
   */
  private headHash: { readonly manifest: Manifest; readonly sha256: Promise<string | undefined>; readonly stop: AbortController } | undefined;
  savedAt: number | null;

  private constructor(
    readonly conn: SqliteConnection,
    private readonly store: VaultStore,
    private readonly autosaveMs: number,
    private readonly fingerprint: Fingerprint,
    savedAt: number | null,
    /** When a save happened (a head's `savedAt`, the `at` of history points): the service's clock. */
    private readonly now: () => number,
  ) {
    this.savedAt = savedAt;
  }

  /**
   * Opens the live database from its saved head, checking every chunk (a damaged one is `CORRUPT`
   * naming the chunk), or a new empty database when nothing was saved yet.
   */
  static async open(store: VaultStore, openConnection: (image?: Uint8Array) => SqliteConnection, autosaveMs: number, now: () => number = Date.now): Promise<LiveDatabase> {
    const head = store.head(LIVE_HEAD);
    const image = head ? await readImage(store, head.manifest) : undefined;
    const live = new LiveDatabase(openConnection(image), store, autosaveMs, await loadFingerprint(), head?.savedAt ?? null, now);
    if (head && image) {
      live.remember(image, head.manifest);
      live.hashHead(head.manifest, image);
    }
    return live;
  }

  /**
   * The key of the saved chunk at `index` when `view` has the same fingerprint, else undefined.
   * Lets a page-copy backup skip SHA-256 for the chunks that did not change since the last save.
   */
  readonly savedKey = (index: number, view: Uint8Array): string | undefined => {
    const key = this.keys[index];
    return key !== undefined && this.fingerprints[index] === this.fingerprint(view) ? key : undefined;
  };

  /**
   * The image SHA-256 of `manifest` when it is the head this database saved or opened (hashed over
   * those bytes); undefined when unknown or when the hash failed. May wait for the helper hashing it.
   */
  async headImageHash(manifest: Manifest): Promise<string | undefined> {
    if (manifest.sha256 !== undefined) return manifest.sha256;
    return this.headHash?.manifest === manifest ? this.headHash.sha256 : undefined;
  }

  /** True when committed changes wait for a save. */
  get isDirty(): boolean {
    return this.writeGeneration !== this.savedGeneration;
  }

  /** The last failed save, while the database has not been saved since; null otherwise. */
  get saveError(): SaveErrorEvent | null {
    return this.failure;
  }

  /** Calls `listener` on every failed save (autosave or not). @returns a function that unsubscribes. */
  onSaveError(listener: (event: SaveErrorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Call after a statement that changed the database file (every `exec`; a `query` whose
   * statements SQLite compiles to a write: see `SqliteConnection.query`); schedules the autosave.
   */
  noteWrite(): void {
    this.writeGeneration++;
    // After a failed save, writes do not bring the retry forward: the backoff holds.
    const backoff = this.failure ? this.failure.at + this.failure.retryInMs - Date.now() : 0;
    this.scheduleAutosave(Math.max(this.autosaveMs, backoff));
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
    return this.saveReported();
  }

  /**
   * Saves so that the head holds exactly the live database's bytes, and returns them; for code
   * that already holds the mutex (restores, which keep the head as the "undo" backup). Unlike
   * `saveNow` it does not trust the dirty flag: the exported image is compared chunk by chunk
   * with what was saved (fingerprints), so a change no write mark saw is saved too.
   * @throws BUSY while a transaction is open; QUOTA_EXCEEDED / STORAGE when the store refuses.
   */
  async saveExact(): Promise<Uint8Array> {
    if (this.conn.inTransaction()) throw new PagevaultError(ErrorCode.BUSY, 'A transaction is open: commit or roll it back before saving.', {});
    const image = this.conn.exportImage();
    const head = this.store.head(LIVE_HEAD)?.manifest;
    const views = splitImage(image);
    const same = head !== undefined && head.sizeBytes === image.byteLength && views.length === this.fingerprints.length && views.every((view, i) => this.fingerprints[i] === this.fingerprint(view));
    if (!same) await this.saveReported(image);
    return image;
  }

  private async saveReported(image?: Uint8Array): Promise<SaveResult> {
    try {
      const result = await this.saveUnreported(image);
      this.failure = null;
      return result;
    } catch (error) {
      if (!(error instanceof PagevaultError && error.code === ErrorCode.BUSY)) this.report(error);
      throw error;
    }
  }

  /** Saves the committed state (`exported`: an image the caller exported, saved whatever the dirty flag says). */
  private async saveUnreported(exported?: Uint8Array): Promise<SaveResult> {
    const started = performance.now();
    if (this.conn.inTransaction()) {
      throw new PagevaultError(ErrorCode.BUSY, 'A transaction is open: commit or roll it back before saving.', {});
    }
    const hadHead = this.store.head(LIVE_HEAD) !== undefined;
    if (!exported && !this.isDirty && hadHead) return { chunksWritten: 0, bytesWritten: 0, durationMs: performance.now() - started };
    // Dirty stays true until the commit (info() must not call a save in flight "saved"); a failed
    // save leaves its generation unsaved, so the next save or autosave tries again.
    const generation = this.writeGeneration;
    const image = exported ?? this.conn.exportImage();
    const pageSize = image.byteLength > 0 ? this.conn.pageSize : 0;
    const views = splitImage(image);
    const prints = views.map((view) => this.fingerprint(view));
    const keys = await Promise.all(views.map((view, i) => (prints[i] === this.fingerprints[i] && this.keys[i] !== undefined ? this.keys[i]! : sha256Hex(view))));
    const manifest = manifestFor(image, pageSize, keys);
    const previous = this.store.head(LIVE_HEAD)?.manifest;
    if (previous && sameImage(previous, manifest)) {
      this.fingerprints = prints;
      this.savedGeneration = generation;
      return { chunksWritten: 0, bytesWritten: 0, durationMs: performance.now() - started };
    }
    // "Already stored" is a hint: the commit re-checks inside the store's lock and asks `supply`
    // for any chunk collected since (a drop or a job's cleanup freed its last other holder).
    // Checked: a compressor bug must fail this save, not corrupt the only copy (restic's lesson).
    const fresh = await compressMissing(this.store, views, keys);
    const byKey = new Map(keys.map((key, i) => [key, views[i]!]));
    const supply = (missing: readonly string[]) =>
      compressMissing(
        this.store,
        missing.map((key) => byKey.get(key)!),
        missing,
      );
    // After the head it replaces (a clock that stepped back a little included): history points
    // are keyed by it, so each save's state stays a distinct point (see stampAfter).
    const savedAt = stampAfter(this.now(), this.store.head(LIVE_HEAD)?.savedAt);
    const { written, bytesWritten } = await this.store.commit({ chunks: fresh, heads: new Map([[LIVE_HEAD, { manifest, savedAt }]]) }, { supply });
    this.fingerprints = prints;
    this.keys = keys;
    this.savedAt = savedAt;
    this.savedGeneration = generation;
    // An image the caller exported stays the caller's; ours is handed to the helper (not copied).
    if (exported) this.forgetHeadHash();
    else this.hashHead(manifest, image);
    return { chunksWritten: written, bytesWritten, durationMs: performance.now() - started };
  }

  /** Opens `image` in a new connection of the same SQLite (for `adopt`). @throws CORRUPT, SQLITE */
  openImage(image: Uint8Array): SqliteConnection {
    return SqliteConnection.open(this.conn.engine, image);
  }

  /**
   * Makes `next` (already open on `image`) the live connection after `image` was committed as
   * the head `manifest`. Never throws: a restore opens `next` before it commits, so nothing can
   * fail between the commit and the swap (a failure there would let the next save write the old
   * image back over the restore).
   */
  adopt(next: SqliteConnection, image: Uint8Array, manifest: Manifest, savedAt: number): void {
    this.conn.adopt(next);
    this.remember(image, manifest);
    this.forgetHeadHash();
    this.savedAt = savedAt;
    this.savedGeneration = this.writeGeneration;
    this.failure = null;
  }

  /** Stops the autosave timer for good (close). */
  stop(): void {
    this.stopped = true;
    this.forgetHeadHash();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Starts hashing the head's image on a helper; `image` is transferred there (unusable here
   * afterwards). The hash of the head it replaces is stopped: with saves back to back, only the
   * last one's image is hashed through.
   */
  private hashHead(manifest: Manifest, image: Uint8Array): void {
    this.forgetHeadHash();
    const stop = new AbortController();
    const sha256 = sharedCompressor()
      .hashImage(image, stop.signal)
      .catch(() => undefined);
    this.headHash = { manifest, sha256, stop };
  }

  private forgetHeadHash(): void {
    this.headHash?.stop.abort();
    this.headHash = undefined;
  }

  private remember(image: Uint8Array, manifest: Manifest): void {
    this.fingerprints = splitImage(image).map((view) => this.fingerprint(view));
    this.keys = [...manifest.chunks];
  }

  private report(error: unknown): void {
    const wire = errorToWire(error);
    const attempts = (this.failure?.attempts ?? 0) + 1;
    const retryInMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
    this.failure = { code: wire.code, message: wire.message, at: Date.now(), attempts, retryInMs };
    for (const listener of this.listeners) {
      try {
        listener(this.failure);
      } catch {
        // A listener's failure is its own; saving goes on.
      }
    }
    if (this.isDirty) this.scheduleAutosave(retryInMs);
  }

  private scheduleAutosave(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save().catch((error: unknown) => {
        // BUSY: a transaction is open; try again soon. Other failures were reported (and a retry
        // with backoff scheduled) by saveNow.
        if (error instanceof PagevaultError && error.code === ErrorCode.BUSY) this.scheduleAutosave(Math.max(this.autosaveMs, 50));
      });
    }, delayMs);
  }
}

function sameImage(a: Manifest, b: Manifest): boolean {
  return a.sizeBytes === b.sizeBytes && a.pageSize === b.pageSize && a.chunks.length === b.chunks.length && a.chunks.every((key, i) => key === b.chunks[i]);
}
