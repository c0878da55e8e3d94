/**
 * A fault-injecting IndexedDB for Node tests: fake-indexeddb with a counter on every operation
 * (request or commit) and a plan that fails or "crashes" at the Nth one.
 *
 * - `fail`: the Nth operation errors like a real browser's would (a request fires `error` and
 *   aborts its transaction; a commit aborts with the error), with a DOMException of the chosen
 *   name (`UnknownError`, `QuotaExceededError`, ...). The code under test sees it and goes on.
 * - `crash`: the worker dies just before the Nth operation, as with `worker.terminate()` or a
 *   closed tab: every transaction not yet committed is aborted (rolled back) and every connection
 *   is closed, so the abandoned code can never write again. The test then opens a new service on
 *   the same fake-indexeddb data, as the next page load would.
 *
 * It patches fake-indexeddb's prototypes (pinned version) once per test file; nothing in the
 * production code knows about it.
 */
import 'fake-indexeddb/auto';

export type OpKind = 'put' | 'get' | 'delete' | 'commit';

export interface FaultPlan {
  /** 1-based index, counted from `arm()`, of the operation that fails or crashes. */
  readonly at: number;
  readonly effect: 'fail' | 'crash';
  /** Only operations of these kinds count (default: all). */
  readonly kinds?: readonly OpKind[];
  /** DOMException name of a `fail` (default `UnknownError`). */
  readonly error?: string;
}

/** The internals of fake-indexeddb 6.x this proxy hooks into. */
interface FakeTransaction {
  readonly mode: IDBTransactionMode;
  readonly db: IDBDatabase;
  _state: string;
  _requests: { request: { readyState: string } }[];
  _abort(errName: string | null): void;
  _start(): void;
  _execRequestAsync(obj: { operation?: () => unknown; source?: unknown }): unknown;
}

const REQUEST_KINDS: Record<string, OpKind> = {
  put: 'put',
  add: 'put',
  delete: 'delete',
  clear: 'delete',
  get: 'get',
  getAll: 'get',
  getAllKeys: 'get',
  getKey: 'get',
  count: 'get',
};

export class FaultInjector {
  /** Operations counted since `arm()` (only the kinds the plan counts). */
  count = 0;
  /** Kinds of every counted operation, in order. */
  readonly log: OpKind[] = [];
  private plan: FaultPlan | undefined;
  private errorName = 'UnknownError';
  private firedFlag = false;
  private onCrash: (() => void) | undefined;
  /** Resolves when the armed plan crashed the worker. */
  crashed: Promise<void> = new Promise(() => undefined);
  private readonly transactions = new Set<FakeTransaction>();
  private readonly connections = new Set<IDBDatabase>();

  /** Starts counting from zero with `plan` (or only counting, without one). */
  arm(plan?: FaultPlan): void {
    this.count = 0;
    this.log.length = 0;
    this.plan = plan;
    this.errorName = plan?.error ?? 'UnknownError';
    this.firedFlag = false;
    this.crashed = new Promise((resolve) => (this.onCrash = resolve));
  }

  /** Stops counting and injecting. */
  disarm(): void {
    this.plan = undefined;
  }

  /** True once the armed plan's operation was reached. */
  get fired(): boolean {
    return this.firedFlag;
  }

  /** Decides what happens to one operation. */
  next(kind: OpKind): 'pass' | 'fail' | 'crash' {
    const plan = this.plan;
    if (!plan || (plan.kinds && !plan.kinds.includes(kind))) return 'pass';
    this.count++;
    this.log.push(kind);
    if (this.count !== plan.at) return 'pass';
    this.firedFlag = true;
    this.plan = undefined;
    return plan.effect;
  }

  /** The error a `fail` raises. */
  failure(): DOMException {
    return new DOMException(`Injected fault at operation ${this.count}`, this.errorName);
  }

  track(tx: FakeTransaction): void {
    this.transactions.add(tx);
    this.connections.add(tx.db);
  }

  /**
   * The worker dies: roll back every uncommitted write and close every connection. Reads are left
   * to finish (their results go nowhere that matters; the closed connection stops the next write),
   * unless `reads`: a harness that drops the dead worker's pending tasks (the simulation) must end
   * its reads too, or the connection's close waits for them forever.
   */
  kill(options: { reads?: boolean } = {}): void {
    for (const tx of this.transactions) {
      if ((tx.mode === 'readwrite' || options.reads === true) && tx._state !== 'finished' && tx._state !== 'committing') {
        try {
          tx._abort('AbortError');
        } catch {
          // finished meanwhile
        }
      }
    }
    for (const db of this.connections) db.close();
    this.transactions.clear();
    this.connections.clear();
    this.onCrash?.();
  }
}

let installed: FaultInjector | undefined;

/** Patches fake-indexeddb (once) and returns the injector that drives it. */
export function installFaults(): FaultInjector {
  if (installed) return installed;
  const faults = new FaultInjector();
  let pendingKind: OpKind | undefined;

  const storeProto = globalThis.IDBObjectStore.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const [method, kind] of Object.entries(REQUEST_KINDS)) {
    const original = storeProto[method];
    if (typeof original !== 'function') continue;
    storeProto[method] = function (this: unknown, ...args: unknown[]) {
      pendingKind = kind;
      try {
        return original.apply(this, args);
      } finally {
        pendingKind = undefined;
      }
    };
  }

  const txProto = globalThis.IDBTransaction.prototype as unknown as FakeTransaction;
  const exec = txProto._execRequestAsync;
  txProto._execRequestAsync = function (this: FakeTransaction, obj) {
    faults.track(this);
    const kind = pendingKind;
    pendingKind = undefined;
    if (kind && obj.source) {
      const decision = faults.next(kind);
      if (decision === 'crash') {
        faults.kill();
        throw new DOMException('The worker was terminated.', 'AbortError');
      }
      if (decision === 'fail') {
        const error = faults.failure();
        return exec.call(this, {
          ...obj,
          operation: () => {
            throw error;
          },
        });
      }
    }
    return exec.call(this, obj);
  };

  const start = txProto._start;
  txProto._start = function (this: FakeTransaction) {
    faults.track(this);
    // fake-indexeddb commits when it finds no request left to run: that is the commit point.
    const settled = this._requests.every((r) => r.request.readyState === 'done');
    const committing = this.mode === 'readwrite' && this._state !== 'finished' && settled;
    if (committing) {
      const decision = faults.next('commit');
      if (decision === 'crash') {
        faults.kill();
        return;
      }
      if (decision === 'fail') {
        this._abort(faults.failure().name);
        return;
      }
    }
    start.call(this);
  };

  installed = faults;
  return faults;
}
