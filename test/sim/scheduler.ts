/**
 * A seeded scheduler for the simulation: while installed, every macrotask the code under test
 * schedules (setTimeout, setImmediate, setInterval; fake-indexeddb's request and commit completions
 * go through setImmediate) is queued here instead of on Node's loop, and the driver decides, with
 * a seeded PRNG, which runnable one resumes next. Time is virtual: it only moves when nothing is
 * runnable, to the earliest due timer. Date.now, performance.now, Math.random, crypto.getRandomValues,
 * crypto.randomUUID follow the seed; crypto.subtle.digest (SHA-256) is computed synchronously.
 *
 * Invariants:
 * - The same seed and the same driver calls give the same order of every task (the trace).
 * - Only code running inside `enter()` (tracked with AsyncLocalStorage) is scheduled here; vitest's
 *   own timers pass through to Node untouched.
 * - A killed epoch (a worker that died) never runs a timer again: its queued timers are dropped
 *   and new ones are ignored, as the event loop of a terminated worker would. IndexedDB's own
 *   completions keep running (the storage outlives the worker).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { prng } from '../../bench/generate';

/** Which simulated worker (or the driver) a piece of code runs for. */
export interface SimContext {
  readonly epoch: number;
}

interface Task {
  readonly id: number;
  readonly due: number;
  readonly kind: 'timeout' | 'immediate';
  readonly epoch: number;
  readonly run: () => void;
  readonly repeatMs?: number;
  /** Where it was scheduled (SIM_DEBUG only). */
  readonly origin?: string | undefined;
}

const als = new AsyncLocalStorage<SimContext>();
const realSetImmediate = globalThis.setImmediate;
const realSetTimeout = globalThis.setTimeout;
const realTick = (): Promise<void> => new Promise((resolve) => realSetImmediate(resolve));
const realSleep = (ms: number): Promise<void> => new Promise((resolve) => realSetTimeout(resolve, ms));

/** The epoch of the code running now, undefined outside the simulation. */
export function currentEpoch(): number | undefined {
  return als.getStore()?.epoch;
}

/** Thrown by `drive` when the tasks run out (a hang) or the budget is spent (a livelock). */
export class SimStall extends Error {}

export class SimScheduler {
  /** Virtual epoch milliseconds. */
  now = Date.UTC(2026, 0, 1);
  /** Tasks run so far; with `traceHash`, what a replay must reproduce. */
  steps = 0;
  private hash = 0x811c9dc5;
  private readonly queue: Task[] = [];
  private nextId = 1;
  private readonly dead = new Set<number>();
  /** Workers whose close() resolved, when; and how many timers each ran more than 10 s after. */
  private readonly closedAt = new Map<number, number>();
  private readonly lateTimers = new Map<number, number>();
  private readonly random: () => number;
  private readonly idRandom: () => number;
  private readonly workRandom: () => number;
  private restore: (() => void) | undefined;

  constructor(seed: number) {
    this.random = prng(seed);
    this.idRandom = prng(seed ^ 0x5bd1e995);
    this.workRandom = prng(seed ^ 0x27d4eb2d);
  }

  /** A hash of every task run (kind, due time, id): equal for two runs of one seed. */
  get traceHash(): string {
    return (this.hash >>> 0).toString(16).padStart(8, '0');
  }

  /** Mixes a value into the trace (the driver adds what it issued and what came back). */
  note(value: string): void {
    for (let i = 0; i < value.length; i++) this.hash = Math.imul(this.hash ^ value.charCodeAt(i), 0x01000193);
  }

  /** A number in [0, 1) from the workload's stream (separate from the interleaving stream). */
  choice(): number {
    return this.workRandom();
  }

  /** Runs `body` as code of `epoch`: its timers are scheduled here. */
  enter<T>(epoch: number, body: () => T): T {
    return als.run({ epoch }, body);
  }

  /** The worker of `epoch` died: its timers never fire. */
  kill(epoch: number): void {
    this.dead.add(epoch);
    this.closedAt.delete(epoch);
    this.lateTimers.delete(epoch);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const task = this.queue[i]!;
      if (task.epoch === epoch && task.kind === 'timeout') this.queue.splice(i, 1);
    }
  }

  install(): void {
    const g = globalThis as unknown as Record<string, unknown>;
    const saved = {
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      setImmediate: g.setImmediate,
      clearImmediate: g.clearImmediate,
      setInterval: g.setInterval,
      clearInterval: g.clearInterval,
      dateNow: Date.now,
      perfNow: performance.now,
      getRandomValues: crypto.getRandomValues,
      randomUUID: crypto.randomUUID,
      digest: crypto.subtle.digest,
      mathRandom: Math.random,
    };
    const passthrough = <F extends (...args: never[]) => unknown>(real: unknown, sim: F): F =>
      ((...args: Parameters<F>) => {
        if (als.getStore()) return sim(...args);
        if (process.env['SIM_DEBUG']) console.log('PASSTHROUGH', new Error().stack?.split('\n').slice(2, 8).join(' <- '));
        return (real as F)(...args);
      }) as F;
    const add = (kind: Task['kind'], fn: (...a: unknown[]) => void, ms: number, args: unknown[], repeat: boolean) => {
      const ctx = als.getStore()!;
      const id = this.nextId++;
      if (kind === 'timeout' && this.dead.has(ctx.epoch)) return { simTimer: id };
      const delay = Math.max(0, Number(ms) || 0);
      const task: Task = {
        id,
        due: this.now + delay,
        kind,
        epoch: ctx.epoch,
        run: () => als.run(ctx, () => fn(...args)),
        ...(repeat ? { repeatMs: Math.max(1, delay) } : {}),
        ...(process.env['SIM_DEBUG'] ? { origin: new Error().stack?.split('\n').slice(3, 9).join(' <- ') } : {}),
      };
      this.queue.push(task);
      return { simTimer: id, ref: () => undefined, unref: () => undefined, hasRef: () => false, [Symbol.toPrimitive]: () => id };
    };
    const cancel = (handle: unknown) => {
      const id = (handle as { simTimer?: number } | undefined)?.simTimer;
      if (id === undefined) return false;
      const i = this.queue.findIndex((t) => t.id === id);
      if (i >= 0) this.queue.splice(i, 1);
      return true;
    };
    g.setTimeout = passthrough(saved.setTimeout, (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => add('timeout', fn, ms ?? 0, args, false));
    g.setInterval = passthrough(saved.setInterval, (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => add('timeout', fn, ms ?? 0, args, true));
    g.setImmediate = passthrough(saved.setImmediate, (fn: (...a: unknown[]) => void, ...args: unknown[]) => add('immediate', fn, 0, args, false));
    for (const name of ['clearTimeout', 'clearInterval', 'clearImmediate'] as const) {
      const real = saved[name] as (h: unknown) => void;
      g[name] = (handle: unknown) => {
        if (!cancel(handle)) real(handle);
      };
    }
    Date.now = () => (als.getStore() ? this.now : saved.dateNow());
    performance.now = () => (als.getStore() ? this.now - Date.UTC(2026, 0, 1) : saved.perfNow.call(performance));
    crypto.getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
      if (!als.getStore() || !array) return saved.getRandomValues.call(crypto, array as never) as T;
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(this.idRandom() * 256);
      return array;
    }) as typeof crypto.getRandomValues;
    // Math.random too (retry jitter, lease and mark ids of the remote code): a lease's name decides
    // where it lists, so an unseeded one would change the trace.
    Math.random = () => (als.getStore() ? this.idRandom() : saved.mathRandom());
    crypto.randomUUID = (() => {
      if (!als.getStore()) return saved.randomUUID.call(crypto);
      const hex = Array.from({ length: 32 }, () => Math.floor(this.idRandom() * 16).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    }) as typeof crypto.randomUUID;
    crypto.subtle.digest = ((algorithm: AlgorithmIdentifier, data: BufferSource) => {
      const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
      if (!als.getStore() || name.toUpperCase() !== 'SHA-256') return saved.digest.call(crypto.subtle, algorithm, data);
      const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
      // Node's hash is synchronous (WebCrypto's digest resolves from a thread pool, in any order).
      const out = createHash('sha256').update(bytes).digest();
      return Promise.resolve(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    }) as typeof crypto.subtle.digest;
    this.restore = () => {
      Object.assign(g, {
        setTimeout: saved.setTimeout,
        clearTimeout: saved.clearTimeout,
        setImmediate: saved.setImmediate,
        clearImmediate: saved.clearImmediate,
        setInterval: saved.setInterval,
        clearInterval: saved.clearInterval,
      });
      Date.now = saved.dateNow;
      performance.now = saved.perfNow;
      crypto.getRandomValues = saved.getRandomValues;
      crypto.randomUUID = saved.randomUUID;
      crypto.subtle.digest = saved.digest;
      Math.random = saved.mathRandom;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
    this.queue.length = 0;
  }

  /** The queue, for a stall report: kind, epoch and due time (virtual ms from now) of each task. */
  describeQueue(epoch?: number): string {
    return this.queue.filter((t) => epoch === undefined || t.epoch === epoch).map((t) => `${t.kind}/e${t.epoch}/+${t.due - this.now}${t.repeatMs ? '/repeat' : ''}${t.origin ? ` (${t.origin})` : ''}`).join('\n');
  }

  /** The worker of `epoch` was closed: from now on its timers are counted. */
  closed(epoch: number): void {
    this.closedAt.set(epoch, this.now);
  }

  /** Closed workers that kept running timers (3 or more, over 10 virtual seconds after close). */
  spinning(): number[] {
    return [...this.lateTimers].filter(([, n]) => n >= 3).map(([epoch]) => epoch);
  }

  /** True when a task is queued (runnable now or later). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Runs one task: a random runnable one, or (none runnable) the earliest due timer after moving
   * the clock to it. Then lets its microtasks drain. Returns false when nothing is queued.
   */
  async step(): Promise<boolean> {
    if (this.queue.length === 0) {
      // Nothing of ours is queued: let what resolves outside the simulation finish before declaring a
      // hang. Compiling WebAssembly (hash-wasm's SHA-256 for a read that checks an image hash) resolves
      // on Node's own loop after an unknown number of turns; a real hang stays empty all the same.
      for (let i = 0; i < 200 && this.queue.length === 0; i++) await (i < 100 ? realTick() : realSleep(1));
      return this.queue.length > 0;
    }
    let runnable = this.queue.filter((t) => t.due <= this.now);
    if (runnable.length === 0) {
      this.now = Math.min(...this.queue.map((t) => t.due));
      runnable = this.queue.filter((t) => t.due <= this.now);
    }
    const task = runnable[Math.floor(this.random() * runnable.length)]!;
    this.queue.splice(this.queue.indexOf(task), 1);
    if (task.repeatMs !== undefined) this.queue.push({ ...task, due: this.now + task.repeatMs });
    this.steps++;
    const closedAt = task.kind === 'timeout' ? this.closedAt.get(task.epoch) : undefined;
    if (closedAt !== undefined && this.now - closedAt > 10_000) this.lateTimers.set(task.epoch, (this.lateTimers.get(task.epoch) ?? 0) + 1);
    this.note(`${task.kind}@${this.now - Date.UTC(2026, 0, 1)}`);
    task.run();
    await realTick();
    return true;
  }

  /** Runs tasks until `until()` is true. @throws SimStall when the tasks run out or `budget` is spent */
  async runUntil(until: () => boolean, budget = 40_000): Promise<void> {
    for (let n = 0; !until(); n++) {
      if (n >= budget) throw new SimStall(`no progress after ${budget} tasks (livelock?)`);
      if (!(await this.step()) && !until()) throw new SimStall('nothing left to run, yet the awaited call never settled (hang)');
    }
  }

  /** Drives the tasks until `pending` settles and returns its value (or throws its error). */
  async settle<T>(pending: Promise<T>, budget?: number): Promise<T> {
    let done = false;
    const watched = pending.finally(() => (done = true));
    watched.catch(() => undefined);
    await this.runUntil(() => done, budget);
    return watched;
  }

  /** Runs up to `n` tasks (fewer when the queue empties). */
  async run(n: number): Promise<void> {
    for (let i = 0; i < n && this.queue.length > 0; i++) await this.step();
  }
}
