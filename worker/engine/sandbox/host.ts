/**
 * The sandbox: where SQLite works on bytes and SQL that did not come from the live database
 * (uploads, dumps, restores and verifications, filters), with a time and a memory budget per call.
 *
 * Invariants:
 * - In a browser, the work runs in a separate module worker with its own sql.js instance, started
 *   lazily, kept while warm (stopped after IDLE_MS without calls) and sent images by transfer.
 *   Nothing it runs can reach the live connection or change a setting of it (`hard_heap_limit`
 *   is global to an sql.js instance: the sandbox's is its own).
 * - A call over its time budget terminates the sandbox worker and rejects with LIMIT_EXCEEDED;
 *   the next call starts a fresh one. The database worker stays free to answer queries meanwhile.
 * - Where no worker can start (Node, tests, a Content-Security-Policy that forbids it), the same
 *   code runs in-process behind the same interface. sql.js exports neither
 *   `sqlite3_progress_handler` nor `sqlite3_interrupt`, so in-process the time budget is checked
 *   between statements and steps only, and the heap is not capped (it is the live instance's).
 * - Calls run one at a time, in call order; a call's budget starts when it starts.
 */
import { ErrorCode, PagevaultError, errorFromWire } from '../../../src/errors';
import { Mutex } from '../../mutex';
import { sqlJsOf, type SqlEngine } from '../sqlite';
import type { SandboxBudget, SandboxCall, SandboxRequest, SandboxResponse, SandboxResults } from './protocol';
import { spawnSandbox } from './spawn';
import { runCall } from './work';

/** Default budget of one call; see the README's "Sandbox" section for how to change it. */
export const DEFAULT_BUDGET: SandboxBudget = { timeMs: 60_000, memoryBytes: 512 * 1024 * 1024 };
/** A warm sandbox worker is stopped after this long without calls. */
const IDLE_MS = 30_000;
/** How long an in-process call runs before it yields to the event loop. */
const SLICE_MS = 25;

interface Running {
  readonly worker: Worker;
  settle?: ((response: SandboxResponse | PagevaultError) => void) | undefined;
}

export class Sandbox {
  private running: Running | undefined;
  private starting: Promise<Running | undefined> | undefined;
  private inProcess = typeof Worker === 'undefined';
  private idle: ReturnType<typeof setTimeout> | undefined;
  private readonly queue = new Mutex();
  private nextId = 1;

  constructor(private readonly engine: SqlEngine) {}

  /**
   * Runs `call` in the sandbox within `budget`. Buffers in `transfer` are moved, not copied.
   * @throws LIMIT_EXCEEDED over budget; whatever the work throws (typed).
   */
  run<K extends SandboxCall['op']>(call: SandboxCall & { op: K }, budget: SandboxBudget, transfer: ArrayBuffer[] = []): Promise<SandboxResults[K]> {
    return this.queue.run(async () => {
      if (this.idle !== undefined) clearTimeout(this.idle);
      try {
        const running = this.inProcess ? undefined : await this.start();
        const value = running ? await this.inWorker(running, call, budget, transfer) : await this.here(call, budget);
        return value as SandboxResults[K];
      } finally {
        if (this.running) this.idle = setTimeout(() => this.stop(), IDLE_MS);
      }
    });
  }

  /** Stops the sandbox worker (a later call starts a new one). */
  stop(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = undefined;
    this.running?.worker.terminate();
    this.running = undefined;
  }

  private async here(call: SandboxCall, budget: SandboxBudget): Promise<unknown> {
    let slice = performance.now();
    const pause = async () => {
      if (performance.now() - slice < SLICE_MS) return;
      await new Promise((resolve) => setTimeout(resolve, 0));
      slice = performance.now();
    };
    return (await runCall(sqlJsOf(this.engine), call, { budget, isolated: false }, pause)).value;
  }

  /** The warm worker, or a new one once it said it is ready; undefined when none can start. */
  private start(): Promise<Running | undefined> {
    if (this.running) return Promise.resolve(this.running);
    this.starting ??= new Promise<Running | undefined>((resolve) => {
      let worker: Worker;
      try {
        worker = spawnSandbox();
      } catch {
        resolve(undefined);
        return;
      }
      const running: Running = { worker };
      const fail = () => {
        worker.terminate();
        if (this.running !== running) {
          resolve(undefined); // never became ready: work runs in-process from now on
          return;
        }
        this.running = undefined;
        running.settle?.(new PagevaultError(ErrorCode.LIMIT_EXCEEDED, 'The sandbox stopped while working (it ran out of memory or crashed).', {}));
      };
      worker.onerror = fail;
      worker.onmessageerror = fail;
      worker.onmessage = (event: MessageEvent<SandboxResponse>) => {
        if ('ready' in event.data) {
          this.running = running;
          resolve(running);
          return;
        }
        running.settle?.(event.data);
      };
    }).then((running) => {
      this.starting = undefined;
      if (!running) this.inProcess = true;
      return running;
    });
    return this.starting;
  }

  private inWorker(running: Running, call: SandboxCall, budget: SandboxBudget, transfer: ArrayBuffer[]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A statement that never ends cannot be interrupted inside sql.js: end the worker.
        this.stop();
        running.settle = undefined;
        reject(new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The work ran longer than its budget of ${budget.timeMs} ms and was stopped.`, { timeoutMs: budget.timeMs }));
      }, budget.timeMs);
      running.settle = (response) => {
        clearTimeout(timer);
        running.settle = undefined;
        if (response instanceof PagevaultError) reject(response);
        else if ('ready' in response || response.id !== id) reject(new PagevaultError(ErrorCode.INTERNAL, 'The sandbox answered out of turn.', {}));
        else if (response.ok) resolve(response.value);
        else reject(errorFromWire(response.error));
      };
      const request: SandboxRequest = { id, wasmUrl: this.engine.wasmUrl, budget, call };
      running.worker.postMessage(request, transfer);
    });
  }
}

const sandboxes = new WeakMap<SqlEngine, Sandbox>();

/** The sandbox of an engine (one per database worker). */
export function sandboxOf(engine: SqlEngine): Sandbox {
  let sandbox = sandboxes.get(engine);
  if (!sandbox) {
    sandbox = new Sandbox(engine);
    sandboxes.set(engine, sandbox);
  }
  return sandbox;
}
