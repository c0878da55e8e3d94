/**
 * The backup catalog and its verbs: create (pages | vacuum | partial), status, wait, cancel, list,
 * history, drop; restore lives in ./restore.ts. Each verb that writes runs as a job on the runner.
 *
 * Invariants (README "Reliability"):
 * - A backup is listed only once all its chunks are stored, re-checked, and its manifest committed.
 * - A `pages` backup of a saved database records the head (./head-backup.ts); the stepped page
 *   copy runs only when the head cannot be that database.
 * - A failing or cancelled job leaves no chunk behind and never touches earlier backups.
 * - A restore changes the live database only after every check passed, in one transaction that
 *   also keeps the replaced state as an automatic backup (so every restore can be undone).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { BackupInfo, BackupSource, BackupStatus, CancelStatus, CreateBackupOptions, JobRecord, ProgressListener, TableCount } from '../../src/protocol';
import { checkBudget, type SandboxBudget, type TablePlan } from '../engine';
import { checkId, oneOf, optionalBoolean, optionalString } from '../validate';
import { copyPages, copyVacuum } from './capture';
import type { Manifest } from '../store/schema';
import { notFound, type CapturedImage, type VaultContext } from './context';
import { captureHead } from './head-backup';
import { capturePartial, checkSelection } from './partial';
import { newId, type JobContext } from './runner';
import { storeImage } from './store-image';
import { verifyManifest } from './verify';

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

/**
 * Starts a backup job and returns its id at once. `scheduleId` marks a scheduled run.
 * @throws INVALID_ARGUMENT (method, note, verify, a missing table or a bad filter), CLOSED
 */
export async function createBackup(
  vault: VaultContext,
  options: CreateBackupOptions,
  onProgress?: ProgressListener,
  scheduleId?: string,
): Promise<{ backupId: string }> {
  const request: BackupRequest = {
    backupId: newId('bk'),
    method: oneOf(options.method, 'method', ['pages', 'vacuum'] as const, 'pages'),
    note: optionalString(options.note, 'note'),
    verify: optionalBoolean(options.verify, 'verify') ?? false,
    tables: options.tables === undefined ? undefined : await checkSelection(vault, options.tables),
    scheduleId,
    budget: checkBudget(options.budget),
  };
  const fields = { backupId: request.backupId, ...(scheduleId === undefined ? {} : { scheduleId }) };
  await vault.runner.enqueue('backup', fields, (ctx) => runBackup(vault, ctx, request), onProgress);
  return { backupId: request.backupId };
}

/** Takes a backup now, as a job (used by create and by schedules). */
async function runBackup(vault: VaultContext, ctx: JobContext, request: BackupRequest): Promise<BackupInfo> {
  const head = request.method === 'pages' && !request.tables ? await captureHead(vault, ctx) : undefined;
  try {
    const stored = head ? { source: 'head' as const, tables: head.tables, manifest: head.manifest, storedBytes: 0 } : await captureAndStore(vault, ctx, request);
    return await record(vault, ctx, request, stored);
  } finally {
    await head?.release();
  }
}

/** What a backup records: its manifest, table counts, stored bytes, and how its bytes were obtained. */
interface Stored {
  readonly source: BackupSource;
  readonly tables: readonly TableCount[];
  readonly manifest: Manifest;
  readonly storedBytes: number;
}

/** Captures an image (page copy, vacuum, partial) and stores its chunks, staged under the job. */
async function captureAndStore(vault: VaultContext, ctx: JobContext, request: BackupRequest): Promise<Stored> {
  // The captured image is dropped once stored: verification reads the stored chunks back.
  const knownKey = request.method === 'pages' && !request.tables ? vault.live.savedKey : undefined;
  const source: BackupSource = request.tables ? 'partial' : request.method === 'pages' ? 'page-copy' : 'vacuum';
  const captured = await capture(vault, ctx, request);
  return { source, tables: captured.tables, ...(await storeImage(vault, ctx, captured.image, { from: 50, to: verifyFrom(request) }, knownKey)) };
}

function verifyFrom(request: BackupRequest): number {
  return request.verify ? 75 : 99;
}

/** Verifies (when asked) and commits the backup's record. */
async function record(vault: VaultContext, ctx: JobContext, request: BackupRequest, stored: Stored): Promise<BackupInfo> {
  const { backupId, note, scheduleId } = request;
  const { manifest, storedBytes, tables, source } = stored;
  let info: BackupInfo = {
    backupId,
    createdAt: Date.now(),
    // A partial backup is a freshly built, compact database.
    method: request.tables ? 'vacuum' : request.method,
    source,
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
    const report = await verifyManifest(vault, manifest, info, ctx, { from: verifyFrom(request), to: 99 });
    if (!report.ok) throw new PagevaultError(ErrorCode.CORRUPT, `The new backup failed verification: ${report.reason}`, { backupId });
    info = { ...info, verifiedAt: Date.now() };
  }
  await vault.store.commit({ backups: new Map([[backupId, { info, manifest }]]), releaseStaging: [ctx.jobId] }, { signal: ctx.signal });
  return info;
}

/** The image a backup job stores: the selected tables, a page copy, or a compacted copy. */
function capture(vault: VaultContext, ctx: JobContext, request: BackupRequest): Promise<CapturedImage> {
  if (request.tables) return capturePartial(vault, ctx, request.tables, request.budget);
  return request.method === 'pages' ? copyPages(vault, ctx) : copyVacuum(vault, ctx);
}

export async function backupStatus(vault: VaultContext, backupId: unknown): Promise<BackupStatus> {
  const id = checkId(backupId, 'backupId');
  const job = await jobFor(vault, id);
  const progress = job.progress;
  const pages = progress?.unit === 'pages' ? progress : undefined;
  const backup = vault.store.backup(id);
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
export async function waitBackup(vault: VaultContext, backupId: unknown): Promise<BackupInfo> {
  const id = checkId(backupId, 'backupId');
  const job = await jobFor(vault, id);
  await vault.runner.pending(job.jobId)?.catch(() => undefined);
  const final = await jobFor(vault, id);
  const backup = vault.store.backup(id);
  if (final.state === 'succeeded' && backup) return backup.info;
  if (final.state === 'succeeded') throw new PagevaultError(ErrorCode.NOT_FOUND, `Backup ${id} was dropped.`, { backupId: id });
  const code = final.error?.code ?? ErrorCode.INTERNAL;
  throw new PagevaultError(code in ErrorCode ? code : ErrorCode.INTERNAL, final.error?.message ?? `Backup ${id} ended ${final.state}.`, {
    ...final.error?.details,
    backupId: id,
    state: final.state,
  });
}

export async function cancelBackup(vault: VaultContext, backupId: unknown): Promise<{ status: CancelStatus }> {
  const id = checkId(backupId, 'backupId');
  const job = await jobFor(vault, id);
  return { status: await vault.runner.cancel(job.jobId) };
}

export function listBackups(vault: VaultContext): BackupInfo[] {
  return vault.store.listBackups().map((b) => b.info);
}

export function jobHistory(vault: VaultContext): Promise<JobRecord[]> {
  return vault.runner.history();
}

/** Removes a backup and every chunk nothing else references. @throws NOT_FOUND, BUSY */
export async function dropBackup(vault: VaultContext, backupId: unknown): Promise<void> {
  const id = checkId(backupId, 'backupId');
  if (!vault.store.backup(id)) throw notFound(id);
  if (vault.runner.uses(id)) throw new PagevaultError(ErrorCode.BUSY, `Backup ${id} is in use by a running job.`, { backupId: id });
  await vault.store.commit({ backups: new Map([[id, null]]) });
}

/** The backup job record behind `backupId`. @throws NOT_FOUND */
async function jobFor(vault: VaultContext, backupId: string) {
  const jobs = await vault.runner.history();
  const job = jobs.find((j) => j.backupId === backupId && j.kind === 'backup');
  if (!job) {
    if (vault.store.backup(backupId)) {
      // Backups made without a backup job (automatic ones) have a synthetic finished status.
      const info = vault.store.backup(backupId)!.info;
      return { jobId: '', kind: 'backup' as const, state: 'succeeded' as const, startedAt: info.createdAt, endedAt: info.createdAt, queuedAt: info.createdAt };
    }
    throw notFound(backupId);
  }
  return (await vault.runner.get(job.jobId)) ?? { ...job, queuedAt: job.startedAt };
}
