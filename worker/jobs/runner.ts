/**
 * The job queue: backup, restore, verify, upload and retention run as jobs, one at a time, in the
 * order they were asked for, each with a stored record that becomes the history.
 *
 * Invariants:
 * - A job record is stored before its work starts and after it ends (succeeded, failed,
 *   cancelled); a record found `running` or `queued` when the worker starts was interrupted.
 * - Cancel is cooperative: the job's `signal` is checked between steps. A cancelled or failed
 *   job's staged chunks are removed; a failure to remove them is reported as `cleanupError`.
 * - `progressPercent` never decreases during a job and is 100 on success.
 * - Progress listeners are called at most every 100 ms (and once at the end).
 */
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { JobError, JobKind, JobRecord, Progress, ProgressListener, ProgressPhase, ProgressUnit } from '../../src/protocol';
import type { VaultStore } from '../store/vault-store';
import type { StoredJob } from '../store/schema';

const PROGRESS_INTERVAL_MS = 100;

/** What a running job can see and do. */
export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Reports progress; `percent` is derived and never goes backwards. */
  progress(phase: ProgressPhase, done: number, total: number, unit: ProgressUnit, weight?: { from: number; to: number }): void;
  /** Adds to the bytes this job stored. */
  addStored(bytes: number): void;
  /** Adds to the bytes this job sent to a remote (a push: `bytesSent` in the history). */
  addSent(bytes: number): void;
}

interface Active {
  record: StoredJob;
  readonly controller: AbortController;
  readonly done: Promise<unknown>;
  listener: ProgressListener | undefined;
  lastEmit: number;
}

export function newId(prefix: string): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${random[0]!.toString(36)}${random[1]!.toString(36)}`;
}

/** Turns a thrown value into the job error shape; AbortError becomes CANCELLED. */
export function jobError(error: unknown): JobError {
  if (error instanceof DOMException && error.name === 'AbortError') return { code: ErrorCode.CANCELLED, message: 'The job was cancelled.' };
  const wire = errorToWire(error);
  return { code: wire.code, message: wire.message, ...(Object.keys(wire.details).length > 0 ? { details: wire.details } : {}) };
}

export class JobRunner {
  private readonly active = new Map<string, Active>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly store: VaultStore) {}

  /**
   * Marks jobs left `running` or `queued` by a worker that ended as `interrupted` (or `succeeded`,
   * for a backup or upload whose backup was committed), and removes what they staged. Call once,
   * before any new job.
   */
  async recover(): Promise<number> {
    const now = Date.now();
    const jobs = await this.store.listJobs();
    const stale = jobs.filter((j) => j.state === 'running' || j.state === 'queued');
    const staging = this.store.stagingRecords().map((s) => s.jobId);
    if (stale.length === 0 && staging.length === 0) return 0;
    // A backup or upload whose backup is listed committed its result before the worker ended.
    const committed = (j: StoredJob) => (j.kind === 'backup' || j.kind === 'upload') && j.backupId !== undefined && this.store.backup(j.backupId) !== undefined;
    await this.store.commit({
      jobs: stale.map((j): StoredJob =>
        committed(j)
          ? { ...j, state: 'succeeded', endedAt: now }
          : { ...j, state: 'interrupted', endedAt: now, error: { code: ErrorCode.INTERRUPTED, message: 'The worker ended (tab closed or reloaded) while this job ran.' } },
      ),
      releaseStaging: staging,
    });
    return stale.length;
  }

  /**
   * Queues a job. Returns its record at once; `run` starts when every earlier job has ended.
   * `finish` commits the job's result together with its final record (one transaction).
   */
  async enqueue<T>(
    kind: JobKind,
    fields: { backupId?: string; scheduleId?: string },
    run: (ctx: JobContext) => Promise<T>,
    listener?: ProgressListener,
  ): Promise<{ jobId: string; done: Promise<T> }> {
    if (this.stopped) throw new PagevaultError(ErrorCode.CLOSED, 'The vault is closing.', {});
    const jobId = newId(kind);
    const now = Date.now();
    const record: StoredJob = { jobId, kind, state: 'queued', startedAt: now, queuedAt: now, ...fields };
    const controller = new AbortController();
    let resolveDone!: (value: T) => void;
    let rejectDone!: (error: unknown) => void;
    const done = new Promise<T>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(() => undefined); // observed through wait(); never an unhandled rejection
    const active: Active = { record, controller, done, listener, lastEmit: 0 };
    // Known before the first await: a drop or retention that asks `uses()` from here on sees it.
    this.active.set(jobId, active);
    try {
      await this.store.putJob(record);
    } catch (error) {
      this.active.delete(jobId);
      throw error;
    }
    this.chain = this.chain.then(() => this.execute(active, run).then(resolveDone, rejectDone));
    return { jobId, done };
  }

  /** The current record of a job this worker runs or ran, or the stored one. */
  async get(jobId: string): Promise<StoredJob | undefined> {
    return this.active.get(jobId)?.record ?? (await this.store.getJob(jobId));
  }

  /** The promise of a job still known to this worker. */
  pending(jobId: string): Promise<unknown> | undefined {
    return this.active.get(jobId)?.done;
  }

  /**
   * Cancels a queued or running job and waits until it has stopped.
   * @returns `cancelled` when the job ended without its result (a cancelled backup is never
   *   listed), `completed` when its result was already being committed and landed, `not running`
   *   when it had ended before.
   */
  async cancel(jobId: string): Promise<'cancelled' | 'completed' | 'not running'> {
    const active = this.active.get(jobId);
    if (!active || (active.record.state !== 'queued' && active.record.state !== 'running')) return 'not running';
    active.controller.abort();
    if (active.record.state === 'queued') {
      active.record = { ...active.record, state: 'cancelled', endedAt: Date.now(), error: jobError(active.controller.signal.reason) };
      await this.store.putJob(active.record);
      return 'cancelled';
    }
    // The store checks the signal inside its lock before a job's commit opens its transaction:
    // once this settles, the outcome is final.
    await active.done.catch(() => undefined);
    const final: StoredJob = active.record; // reassigned by execute() while we waited
    return final.state === 'succeeded' ? 'completed' : 'cancelled';
  }

  /** Every job, newest first. */
  async history(): Promise<JobRecord[]> {
    const stored = new Map((await this.store.listJobs()).map((j) => [j.jobId, j]));
    for (const [id, a] of this.active) stored.set(id, a.record);
    return [...stored.values()].sort((a, b) => b.queuedAt - a.queuedAt || (b.jobId < a.jobId ? -1 : 1)).map(publicRecord);
  }

  /** True while a job of this kind using `backupId` is queued or running. */
  uses(backupId: string): boolean {
    return [...this.active.values()].some((a) => (a.record.state === 'queued' || a.record.state === 'running') && a.record.backupId === backupId);
  }

  /** Cancels everything and waits for the running job to stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.active.values()) if (a.record.state === 'queued' || a.record.state === 'running') a.controller.abort();
    await this.chain.catch(() => undefined);
  }

  private async execute<T>(active: Active, run: (ctx: JobContext) => Promise<T>): Promise<T> {
    if (active.record.state === 'cancelled') throw new PagevaultError(ErrorCode.CANCELLED, 'The job was cancelled before it started.', { jobId: active.record.jobId });
    const jobId = active.record.jobId;
    let percent = 0;
    active.record = { ...active.record, state: 'running', startedAt: Date.now() };
    const ctx: JobContext = {
      jobId,
      signal: active.controller.signal,
      progress: (phase, done, total, unit, weight = { from: 0, to: 100 }) => {
        const fraction = total > 0 ? Math.min(1, done / total) : 1;
        percent = Math.max(percent, Math.min(99, Math.floor(weight.from + (weight.to - weight.from) * fraction)));
        active.record = { ...active.record, progress: { phase, done, total, unit, percent } };
        this.emit(active, false);
      },
      addStored: (bytes) => {
        active.record = { ...active.record, bytesStored: (active.record.bytesStored ?? 0) + bytes };
      },
      addSent: (bytes) => {
        active.record = { ...active.record, bytesSent: (active.record.bytesSent ?? 0) + bytes };
      },
    };
    let value: T;
    try {
      await this.store.putJob(active.record);
      value = await run(ctx);
    } catch (error) {
      const cancelled = active.controller.signal.aborted;
      let cleanupError: JobError | undefined;
      try {
        if (this.store.stagingRecords().some((s) => s.jobId === jobId)) await this.store.commit({ releaseStaging: [jobId] });
      } catch (cleanup) {
        cleanupError = jobError(cleanup);
      }
      active.record = {
        ...active.record,
        state: cancelled ? 'cancelled' : 'failed',
        endedAt: Date.now(),
        error: cancelled ? { code: ErrorCode.CANCELLED, message: 'The job was cancelled.' } : jobError(error),
        ...(cleanupError ? { cleanupError } : {}),
      };
      await this.store.putJob(active.record).catch(() => undefined);
      throw cancelled ? new PagevaultError(ErrorCode.CANCELLED, 'The job was cancelled.', { jobId }) : error;
    }
    const last = active.record.progress;
    active.record = { ...active.record, state: 'succeeded', endedAt: Date.now(), progress: { phase: 'done', done: last?.total ?? 1, total: last?.total ?? 1, unit: last?.unit ?? 'pages', percent: 100 } };
    this.emit(active, true);
    // The job's result is committed: failing to store its final record must not report it failed
    // (a retry would then make a second backup). The stored record stays `running`; `recover` settles it.
    await this.store.putJob(active.record).catch(() => undefined);
    return value;
  }

  private emit(active: Active, final: boolean): void {
    const now = performance.now();
    if (!active.listener || !active.record.progress || (!final && now - active.lastEmit < PROGRESS_INTERVAL_MS)) return;
    active.lastEmit = now;
    const progress: Progress = { backupId: active.record.backupId ?? '', jobId: active.record.jobId, ...active.record.progress };
    try {
      Promise.resolve(active.listener(progress)).catch(() => (active.listener = undefined));
    } catch {
      active.listener = undefined; // a listener that throws (or whose page went away) is dropped
    }
  }
}

/** The public shape of a stored job. */
function publicRecord(job: StoredJob): JobRecord {
  const { progress: _progress, bytesStored: _bytes, queuedAt: _queued, ...rest } = job;
  return rest;
}
