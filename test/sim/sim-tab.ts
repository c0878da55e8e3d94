/**
 * One simulated tab: a worker (one epoch of the scheduler) running the real worker/tabs/ layer
 * over the real service, with the simulated channel and Web Locks, as worker/index.ts composes it.
 * The service underneath is watched: what ran on it (each row insert, each successful save) is
 * told to `ServiceWatch`, which the model of several tabs keeps (./tabs-model.ts).
 */
import type { Result, WorkerApi } from '../../src/protocol';
import { createService } from '../../worker/service';
import { shareService } from '../../worker/tabs/shared-service';
import type { Outcome } from './adapter';
import type { SimChannels } from './sim-channel';
import type { SimLocks } from './sim-locks';
import type { SimScheduler } from './scheduler';

/** What the watched service tells the model, always from inside the worker that ran it. */
export interface ServiceWatch {
  /** Row `id` was inserted by the service of `epoch` (the statement ran and answered ok). */
  inserted(epoch: number, id: number): void;
  /** A save of `epoch` succeeded (flush or close); it covers the rows `before` returned when it began. */
  saved(epoch: number, covered: readonly number[]): void;
  /** Rows inserted by `epoch` so far (what a save beginning now covers). */
  insertedBy(epoch: number): readonly number[];
  /** A call answered ok by the service of `epoch` (to check it held the lock). */
  served(epoch: number, verb: string): void;
}

export type TabState = 'opening' | 'open' | 'closing' | 'closed' | 'dead';

/** The row id an insert statement of the workload writes, if `args` are one. */
function insertedId(args: readonly unknown[]): number | undefined {
  const [sql, params] = args as [unknown, unknown];
  return typeof sql === 'string' && sql.startsWith('INSERT INTO item') && Array.isArray(params) ? Number(params[0]) : undefined;
}

/** Wraps the service so that what runs on it is told to `watch`. */
function watched(service: WorkerApi, epoch: number, watch: ServiceWatch): WorkerApi {
  const api = service as unknown as Record<string, (...args: unknown[]) => Promise<Result<unknown>>>;
  const wrapped: Record<string, unknown> = { ...api };
  for (const verb of ['exec', 'query']) {
    wrapped[verb] = async (...args: unknown[]) => {
      const r = await api[verb]!(...args);
      if (r.ok) {
        watch.served(epoch, verb);
        const id = insertedId(args);
        if (id !== undefined) watch.inserted(epoch, id);
      }
      return r;
    };
  }
  for (const verb of ['flush', 'close']) {
    wrapped[verb] = async (...args: unknown[]) => {
      const covered = watch.insertedBy(epoch);
      const r = await api[verb]!(...args);
      if (r.ok) {
        if (verb === 'flush') watch.served(epoch, verb);
        watch.saved(epoch, covered);
      }
      return r;
    };
  }
  return wrapped as unknown as WorkerApi;
}

export class SimTab {
  readonly api: WorkerApi;
  state: TabState = 'opening';

  constructor(
    private readonly sched: SimScheduler,
    readonly slot: number,
    readonly epoch: number,
    readonly durable: boolean,
    channels: SimChannels,
    locks: SimLocks,
    watch: ServiceWatch,
  ) {
    this.api = sched.enter(epoch, () =>
      shareService(
        watched(createService({ locks: locks.forWorker(epoch) }), epoch, watch),
        (name) => channels.open(`pagevault:${name}`, epoch),
      ),
    );
  }

  get label(): string {
    return `tab${this.slot}/e${this.epoch}`;
  }

  /** Calls `verb` as this tab's page would (through Comlink: the worker answers a Result). */
  call<T>(body: (api: WorkerApi) => Promise<Result<T>>): Promise<Outcome<T>> {
    return this.sched.enter(this.epoch, () =>
      body(this.api).then(
        (r): Outcome<T> => (r.ok ? { ok: true, value: r.value } : { ok: false, code: r.error.code }),
        (error: unknown): Outcome<T> => ({ ok: false, code: `THROWN ${String(error)}` }),
      ),
    );
  }
}
