/**
 * The vault context: what every job needs (the vault's name, store, live database, SQLite engine,
 * clock), the job runner, the schedules, and the write gate. Job modules export functions over it;
 * it imports no job module, so the dependencies point one way: service -> jobs -> context.
 *
 * Invariants:
 * - `holdWrites` runs its body with no transaction open and `exec`/`query` waiting at the gate:
 *   the live database cannot change under a restore's swap. With `readsPass`, plain reads (see
 *   `SqliteConnection.queryIfReading`) are answered meanwhile: they change nothing.
 * - `stop` ends the schedules and the runner; a scheduled run in progress ends first.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { JobKind, ProgressListener, TableCount } from '../../src/protocol';
import type { SqlEngine } from '../engine';
import type { Manifest } from '../store/schema';
import type { VaultStore } from '../store/vault-store';
import { systemClock, type Clock } from './clock';
import { sleep, yieldToEventLoop } from './image';
import type { LiveDatabase } from './live-database';
import { JobRunner, type JobContext } from './runner';
import type { StoredSchedule } from './schedule-time';
import { Scheduler, SCHEDULES_META_KEY } from './schedules';

/** Wait between retries while the application holds a write transaction. */
export const BUSY_RETRY_MS = 20;

export interface VaultParts {
  readonly name: string;
  readonly store: VaultStore;
  readonly live: LiveDatabase;
  /** SQLite (opaque; worker/engine/ is the only code that sees sql.js). */
  readonly engine: SqlEngine;
  /** Time for schedules; the system clock unless a test injects one. */
  readonly clock?: Clock;
}

/** An image with the facts a backup record needs. */
export interface CapturedImage {
  readonly image: Uint8Array;
  readonly tables: readonly TableCount[];
}

/** One scheduled run (the backup job, then retention), given by the service so this file imports no job. */
export type ScheduledRun = (vault: VaultContext, schedule: StoredSchedule) => Promise<void>;

export function notFound(backupId: string): PagevaultError {
  return new PagevaultError(ErrorCode.NOT_FOUND, `No backup with id ${backupId}.`, { backupId });
}

export class VaultContext {
  readonly name: string;
  readonly store: VaultStore;
  readonly live: LiveDatabase;
  readonly engine: SqlEngine;
  readonly clock: Clock;
  readonly runner: JobRunner;
  private scheduler: Scheduler | undefined;
  private stopped = false;
  /** Resolves when no restore is swapping the live database; `exec` waits on it. */
  private gate: Promise<void> = Promise.resolve();
  /** True while a `holdWrites({ readsPass })` body runs. */
  private readsPass = false;

  private constructor(parts: VaultParts) {
    this.name = parts.name;
    this.store = parts.store;
    this.live = parts.live;
    this.engine = parts.engine;
    this.clock = parts.clock ?? systemClock;
    this.runner = new JobRunner(parts.store);
  }

  /** Recovers interrupted jobs, then starts the schedules (a run missed while closed starts now). */
  static async start(parts: VaultParts, runScheduled: ScheduledRun): Promise<VaultContext> {
    const vault = new VaultContext(parts);
    await vault.runner.recover();
    const { store } = vault;
    vault.scheduler = await Scheduler.start({
      clock: vault.clock,
      load: () => store.getMeta<StoredSchedule[]>(SCHEDULES_META_KEY),
      save: async (schedules) => {
        await store.commit({ meta: new Map([[SCHEDULES_META_KEY, schedules]]) });
      },
      run: (schedule) => runScheduled(vault, schedule),
    });
    if (vault.stopped) await vault.scheduler.stop();
    return vault;
  }

  /** The schedules (`vault.schedule.*`). */
  get schedules(): Scheduler {
    if (!this.scheduler) throw new PagevaultError(ErrorCode.INTERNAL, 'The schedules were used before they were started.', {});
    return this.scheduler;
  }

  /** Stops the schedules and the runner; resolves once a scheduled run in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    const schedulesStopped = this.scheduler?.stop() ?? Promise.resolve();
    await this.runner.stop();
    await schedulesStopped;
  }

  /**
   * Queues a job that reads backup `backupId`, holding it in use from now until the job ends: its
   * chunks stay, a drop is refused (BUSY) and a retention sweep leaves it, while the job waits in
   * the queue too. `run` gets the manifest held.
   * @returns once queued, the job's id and `done`: the job's outcome (wrapped, so awaiting this does not wait for the job).
   * `options.hold` takes something else than the backup (a restore by time holds a history point).
   * @throws NOT_FOUND when a drop got there first.
   */
  async enqueueHolding<T>(
    kind: JobKind,
    backupId: string,
    run: (ctx: JobContext, manifest: Manifest) => Promise<T>,
    options: { readonly hold?: () => Promise<{ readonly manifest: Manifest; readonly release: () => Promise<void> }>; readonly listener?: ProgressListener } = {},
  ): Promise<{ jobId: string; done: Promise<T> }> {
    const { listener } = options;
    const held = await (options.hold ? options.hold() : this.store.hold(backupId, { inUse: true }));
    try {
      const { jobId, done } = await this.runner.enqueue(kind, { backupId }, (ctx) => run(ctx, held.manifest), listener);
      return { jobId, done: done.finally(held.release) };
    } catch (error) {
      await held.release();
      throw error;
    }
  }

  writeGate(): Promise<void> {
    return this.gate;
  }

  /** Whether a plain read may be answered now, past a closed gate (see `holdWrites`). */
  readsMayPass(): boolean {
    return this.readsPass;
  }

  /**
   * Runs `body` once no transaction is open, while `exec` and `query` wait: the live database
   * cannot change under it. Calls already past the gate finish before `body` starts.
   * `readsPass`: plain reads are answered while `body` runs, for a body that changes the live
   * database only in synchronous steps (a swap), so a read sees the state before or after one.
   */
  async holdWrites<T>(signal: AbortSignal, body: () => Promise<T>, options: { readonly readsPass?: boolean } = {}): Promise<T> {
    const conn = this.live.conn;
    for (;;) {
      while (conn.inTransaction()) {
        signal.throwIfAborted();
        await sleep(BUSY_RETRY_MS);
      }
      let open!: () => void;
      this.gate = new Promise((resolve) => (open = resolve));
      this.readsPass = options.readsPass === true;
      try {
        await yieldToEventLoop();
        if (!conn.inTransaction()) return await body();
      } finally {
        this.readsPass = false;
        open();
      }
    }
  }
}
