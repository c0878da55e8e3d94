/**
 * The backup catalog and its verbs: create (pages | vacuum), status, wait, cancel, list, history,
 * drop; restore lives in ./restore.ts. Each verb that writes runs as a job on the runner.
 *
 * Invariants (README "Reliability"):
 * - A backup is listed only once all its chunks are stored, re-checked, and its manifest committed.
 * - A failing or cancelled job leaves no chunk behind and never touches earlier backups.
 * - A restore changes the live database only after every check passed, in one transaction that
 *   also keeps the replaced state as an automatic backup (so every restore can be undone).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { sha256Hex } from '../../src/format/sha256';
import type {
  BackupInfo,
  BackupStatus,
  CancelStatus,
  CreateBackupOptions,
  JobRecord,
  ProgressListener,
  RestoreOptions,
  RestoreResult,
  TableCount,
} from '../../src/protocol';
import { checkBudget, pageCopy, vacuumCopy, type SandboxBudget, type SqlEngine, type TablePlan } from '../engine';
import type { VaultStore } from '../store/vault-store';
import type { Manifest } from '../store/schema';
import { checkId, oneOf, optionalBoolean, optionalString } from '../validate';
import { Care } from './care';
import { compressMissing, Pacer } from './chunk-io';
import { manifestFor, splitImage, yieldToEventLoop } from './image';
import type { Clock } from './clock';
import type { LiveDatabase } from './live-database';
import { capturePartial, checkSelection } from './partial';
import { PortableFiles } from './portable';
import { restoreBackup } from './restore';
import { JobRunner, newId, type JobContext } from './runner';
import { verifyManifest } from './verify';

/** Bytes copied per page-copy step: small enough to keep queries answered within a few ms. */
const STEP_BYTES = 4 * 1024 * 1024;
/** Wait between retries while the application holds a write transaction. */
const BUSY_RETRY_MS = 20;
/** Chunks staged per IndexedDB transaction. */
const STAGE_BATCH = 128;

export interface VaultParts {
  readonly name: string;
  readonly store: VaultStore;
  readonly live: LiveDatabase;
  /** SQLite (opaque; worker/engine/ is the only code that sees sql.js). */
  readonly sql: SqlEngine;
  /** Time for schedules; the system clock unless a test injects one. */
  readonly clock?: Clock;
}

/** What one backup job takes. */
interface BackupRequest {
  readonly backupId: string;
  readonly method: 'pages' | 'vacuum';
  readonly note: string | undefined;
  /** Verify by restore before the backup is committed and listed. */
  readonly verify: boolean;
  /** A partial backup of these tables. */
  readonly tables: readonly TablePlan[] | undefined;
  readonly scheduleId: string | undefined;
  /** Sandbox budget for a partial backup's filters. */
  readonly budget: Partial<SandboxBudget>;
}

/** An image with the facts a backup record needs. */
export interface CapturedImage {
  readonly image: Uint8Array;
  readonly tables: readonly TableCount[];
}

export class BackupJobs {
  readonly runner: JobRunner;
  /** Download, upload and inspect of portable files. */
  readonly portable: PortableFiles;
  /** Verification, retention and schedules. */
  readonly care: Care;
  /** Resolves when no restore is swapping the live database; `exec` waits on it. */
  private gate: Promise<void> = Promise.resolve();

  private constructor(readonly parts: VaultParts) {
    this.runner = new JobRunner(parts.store);
    this.portable = new PortableFiles(this);
    this.care = new Care(this);
  }

  /** Recovers interrupted jobs, then starts the schedules (a run missed while closed starts now). */
  static async start(parts: VaultParts): Promise<BackupJobs> {
    const jobs = new BackupJobs(parts);
    await jobs.runner.recover();
    await jobs.care.start();
    return jobs;
  }

  writeGate(): Promise<void> {
    return this.gate;
  }

  async stop(): Promise<void> {
    const schedulesStopped = this.care.stop();
    await this.runner.stop();
    await schedulesStopped;
  }

  /**
   * Starts a backup job and returns its id at once. `scheduleId` marks a scheduled run.
   * @throws INVALID_ARGUMENT (method, note, verify, a missing table or a bad filter), CLOSED
   */
  async create(options: CreateBackupOptions, onProgress?: ProgressListener, scheduleId?: string): Promise<{ backupId: string }> {
    const request: BackupRequest = {
      backupId: newId('bk'),
      method: oneOf(options.method, 'method', ['pages', 'vacuum'] as const, 'pages'),
      note: optionalString(options.note, 'note'),
      verify: optionalBoolean(options.verify, 'verify') ?? false,
      tables: options.tables === undefined ? undefined : await checkSelection(this, options.tables),
      scheduleId,
      budget: checkBudget(options.budget),
    };
    const fields = { backupId: request.backupId, ...(scheduleId === undefined ? {} : { scheduleId }) };
    await this.runner.enqueue('backup', fields, (ctx) => this.runBackup(ctx, request), onProgress);
    return { backupId: request.backupId };
  }

  /** Takes a backup now, as a job (used by create and by schedules). */
  private async runBackup(ctx: JobContext, request: BackupRequest): Promise<BackupInfo> {
    const { backupId, note, scheduleId } = request;
    const toVerify = request.verify ? 75 : 99;
    // The captured image is dropped once stored: verification reads the stored chunks back.
    const knownKey = request.method === 'pages' && !request.tables ? this.parts.live.savedKey : undefined;
    const { tables, manifest, storedBytes } = await this.capture(ctx, request).then(async (captured) => ({
      tables: captured.tables,
      ...(await this.storeImage(ctx, captured.image, { from: 50, to: toVerify }, knownKey)),
    }));
    let info: BackupInfo = {
      backupId,
      createdAt: Date.now(),
      // A partial backup is a freshly built, compact database.
      method: request.tables ? 'vacuum' : request.method,
      ...(note === undefined ? {} : { note }),
      sizeBytes: manifest.sizeBytes,
      storedBytes,
      pageSize: manifest.pageSize,
      pageCount: manifest.pageCount,
      sha256: manifest.sha256 ?? '',
      tables,
      ...(request.tables ? { partial: true } : {}),
      ...(request.tables?.some((t) => t.where !== undefined) ? { filters: Object.fromEntries(request.tables.flatMap((t) => (t.where === undefined ? [] : [[t.name, t.where]]))) } : {}),
      ...(scheduleId === undefined ? {} : { scheduleId }),
    };
    if (request.verify) {
      const report = await verifyManifest(this, manifest, info, ctx, { from: toVerify, to: 99 });
      if (!report.ok) throw new PagevaultError(ErrorCode.CORRUPT, `The new backup failed verification: ${report.reason}`, { backupId });
      info = { ...info, verifiedAt: Date.now() };
    }
    await this.parts.store.commit({ backups: new Map([[backupId, { info, manifest }]]), releaseStaging: [ctx.jobId] }, { signal: ctx.signal });
    return info;
  }

  /** The image a backup job stores: the selected tables, a page copy, or a compacted copy. */
  private capture(ctx: JobContext, request: BackupRequest): Promise<CapturedImage> {
    if (request.tables) return capturePartial(this, ctx, request.tables, request.budget);
    return request.method === 'pages' ? this.copyPages(ctx) : this.copyVacuum(ctx);
  }

  /**
   * Runs `body` once no transaction is open, while `exec` and `query` wait: the live database
   * cannot change under it. Calls already past the gate finish before `body` starts.
   */
  async holdWrites<T>(signal: AbortSignal, body: () => Promise<T>): Promise<T> {
    const conn = this.parts.live.conn;
    for (;;) {
      while (conn.inTransaction()) {
        signal.throwIfAborted();
        await sleep(BUSY_RETRY_MS);
      }
      let open!: () => void;
      this.gate = new Promise((resolve) => (open = resolve));
      try {
        await yieldToEventLoop();
        if (!conn.inTransaction()) return await body();
      } finally {
        open();
      }
    }
  }

  /** Page copy through the backup API, yielding between steps so the page is served. */
  async copyPages(ctx: JobContext): Promise<CapturedImage> {
    const conn = this.parts.live.conn;
    const pagesPerStep = Math.max(16, Math.floor(STEP_BYTES / conn.pageSize));
    const copy = pageCopy(conn, pagesPerStep);
    try {
      for (;;) {
        ctx.signal.throwIfAborted();
        const outcome = copy.step();
        ctx.progress('copy', copy.pagesDone, copy.pagesTotal, 'pages', { from: 0, to: 50 });
        if (outcome === 'done') break;
        if (outcome === 'busy') await sleep(BUSY_RETRY_MS);
        else await yieldToEventLoop();
      }
      return copy.result();
    } finally {
      copy.close();
    }
  }

  /** `VACUUM INTO` a scratch file; waits while the application holds a write transaction. */
  private async copyVacuum(ctx: JobContext): Promise<CapturedImage> {
    const conn = this.parts.live.conn;
    while (conn.inTransaction()) {
      ctx.signal.throwIfAborted();
      await sleep(BUSY_RETRY_MS);
    }
    ctx.progress('vacuum', 0, conn.pageCount, 'pages', { from: 0, to: 50 });
    const result = vacuumCopy(conn);
    ctx.progress('vacuum', 1, 1, 'pages', { from: 0, to: 50 });
    return result;
  }

  /**
   * Hashes an image into chunks, stages the ones the store lacks (compressed, re-checked),
   * and returns its manifest. The caller commits the manifest with `releaseStaging`.
   * `knownKey` may name a chunk without hashing it (a page copy reuses the saved head's keys for
   * chunks whose fingerprint is unchanged); the image SHA-256 is always computed over the bytes.
   */
  async storeImage(
    ctx: JobContext,
    image: Uint8Array,
    weight: { from: number; to: number },
    knownKey?: (index: number, view: Uint8Array) => string | undefined,
  ): Promise<{ manifest: Manifest; storedBytes: number }> {
    const pageSize = image.byteLength > 0 ? new DataView(image.buffer, image.byteOffset + 16, 2).getUint16(0) : 0;
    const views = splitImage(image);
    let fingerprinted = false;
    const keys = await Promise.all(
      views.map((view, i) => {
        const known = knownKey?.(i, view);
        if (known === undefined) return sha256Hex(view);
        fingerprinted = true;
        return known;
      }),
    );
    // An earlier backup's image hash stands for these bytes only when every key was computed from
    // them by SHA-256; a key a fingerprint vouched for is not proof enough (issue #12.8).
    const sha256 = (fingerprinted ? undefined : this.parts.store.knownImageHash(keys)) ?? (await sha256Hex(image));
    const manifest = manifestFor(image, pageSize === 1 ? 65536 : pageSize, keys, sha256);
    const pacer = new Pacer();
    let storedBytes = 0;
    for (let start = 0; start < views.length; start += STAGE_BATCH) {
      ctx.signal.throwIfAborted();
      const batchViews = views.slice(start, start + STAGE_BATCH);
      const batchKeys = keys.slice(start, start + STAGE_BATCH);
      const fresh = await compressMissing(this.parts.store, batchViews, batchKeys, { signal: ctx.signal });
      let staged = await this.parts.store.stage(ctx.jobId, batchKeys, fresh);
      if (staged.missing.length > 0) {
        // A save collected chunks we counted on after we looked: supply them now.
        const missing = new Set(staged.missing);
        const indexes = batchKeys.flatMap((key, i) => (missing.has(key) ? [i] : []));
        const extra = await compressMissing(this.parts.store, indexes.map((i) => batchViews[i]!), indexes.map((i) => batchKeys[i]!), { signal: ctx.signal });
        const again = await this.parts.store.stage(ctx.jobId, staged.missing, extra);
        staged = { bytesWritten: staged.bytesWritten + again.bytesWritten, missing: again.missing };
        if (again.missing.length > 0) throw new PagevaultError(ErrorCode.INTERNAL, 'Chunks vanished while being staged.', {});
      }
      storedBytes += staged.bytesWritten;
      ctx.addStored(staged.bytesWritten);
      ctx.progress('store', Math.min(start + STAGE_BATCH, views.length), views.length, 'chunks', weight);
      await pacer.maybeYield();
    }
    return { manifest, storedBytes };
  }

  async status(backupId: unknown): Promise<BackupStatus> {
    const id = checkId(backupId, 'backupId');
    const job = await this.jobFor(id);
    const progress = job.progress;
    const pages = progress?.unit === 'pages' ? progress : undefined;
    const backup = this.parts.store.backup(id);
    return {
      backupId: id,
      jobId: job.jobId,
      state: job.state,
      progressPercent: job.state === 'succeeded' ? 100 : (progress?.percent ?? 0),
      pagesDone: job.state === 'succeeded' ? (backup?.info.pageCount ?? pages?.done ?? 0) : (pages?.done ?? 0),
      pagesTotal: backup?.info.pageCount ?? pages?.total ?? 0,
      bytesStored: backup?.info.storedBytes ?? job.bytesStored ?? 0,
      startedAt: job.startedAt,
      ...(job.endedAt === undefined ? {} : { endedAt: job.endedAt }),
      ...(job.error === undefined ? {} : { error: job.error }),
      ...(job.cleanupError === undefined ? {} : { cleanupError: job.cleanupError }),
    };
  }

  /** Resolves with the backup's info when it succeeds; throws the job's error code otherwise. */
  async wait(backupId: unknown): Promise<BackupInfo> {
    const id = checkId(backupId, 'backupId');
    const job = await this.jobFor(id);
    await this.runner.pending(job.jobId)?.catch(() => undefined);
    const final = await this.jobFor(id);
    const backup = this.parts.store.backup(id);
    if (final.state === 'succeeded' && backup) return backup.info;
    if (final.state === 'succeeded') throw new PagevaultError(ErrorCode.NOT_FOUND, `Backup ${id} was dropped.`, { backupId: id });
    const code = final.error?.code ?? ErrorCode.INTERNAL;
    throw new PagevaultError(code in ErrorCode ? code : ErrorCode.INTERNAL, final.error?.message ?? `Backup ${id} ended ${final.state}.`, {
      ...final.error?.details,
      backupId: id,
      state: final.state,
    });
  }

  async cancel(backupId: unknown): Promise<{ status: CancelStatus }> {
    const id = checkId(backupId, 'backupId');
    const job = await this.jobFor(id);
    return { status: await this.runner.cancel(job.jobId) };
  }

  list(): BackupInfo[] {
    return this.parts.store.listBackups().map((b) => b.info);
  }

  history(): Promise<JobRecord[]> {
    return this.runner.history();
  }

  /** Removes a backup and every chunk nothing else references. */
  async drop(backupId: unknown): Promise<void> {
    const id = checkId(backupId, 'backupId');
    if (!this.parts.store.backup(id)) throw notFound(id);
    if (this.runner.uses(id)) throw new PagevaultError(ErrorCode.BUSY, `Backup ${id} is in use by a running job.`, { backupId: id });
    await this.parts.store.commit({ backups: new Map([[id, null]]) });
  }

  /**
   * Restores a backup over the live database (or `into` another name, or only some `tables`)
   * once every check passed. See ./restore.ts.
   * @throws NOT_FOUND, CORRUPT (damaged chunk or failed integrity_check), LOCKED (target open elsewhere), BUSY.
   */
  restore(options: RestoreOptions): Promise<RestoreResult> {
    return restoreBackup(this, options);
  }

  /** The backup job record behind `backupId`. @throws NOT_FOUND */
  private async jobFor(backupId: string) {
    const jobs = await this.runner.history();
    const job = jobs.find((j) => j.backupId === backupId && j.kind === 'backup');
    if (!job) {
      if (this.parts.store.backup(backupId)) {
        // Backups made without a backup job (automatic ones) have a synthetic finished status.
        const info = this.parts.store.backup(backupId)!.info;
        return { jobId: '', kind: 'backup' as const, state: 'succeeded' as const, startedAt: info.createdAt, endedAt: info.createdAt, queuedAt: info.createdAt };
      }
      throw notFound(backupId);
    }
    return (await this.runner.get(job.jobId)) ?? { ...job, queuedAt: job.startedAt };
  }
}

export function notFound(backupId: string): PagevaultError {
  return new PagevaultError(ErrorCode.NOT_FOUND, `No backup with id ${backupId}.`, { backupId });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

