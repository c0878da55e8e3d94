/**
 * Web Locks for the simulated tabs (worker/lock.ts takes them through `createService({ locks })`):
 * exclusive locks only, granted in request order (FIFO), each grant a task the scheduler orders
 * by seed. A lock is released when its holder's callback promise settles (close) or when its
 * holder's worker is killed (the browser releases a crashed tab's locks); a killed worker's
 * queued requests go away with it.
 *
 * Invariant: at most one holder per name at any time (`holder` is what the checks read).
 * `AbortSignal.timeout` runs on Node's own timers, outside virtual time: a queued request of the
 * simulation never times out (the tab layer's hour-long lock wait would only queue it again).
 */
import type { LockRequester } from '../../worker/lock';
import type { SimScheduler } from './scheduler';

interface Request {
  readonly epoch: number;
  readonly callback: (lock: Lock | null) => Promise<void> | undefined;
  readonly settle: (error?: unknown) => void;
}

interface Held {
  readonly epoch: number;
  readonly token: object;
}

export class SimLocks {
  private readonly held = new Map<string, Held>();
  private readonly queues = new Map<string, Request[]>();
  private readonly dead = new Set<number>();
  /** Grants so far (each a new owner). */
  grants = 0;

  constructor(private readonly sched: SimScheduler) {}

  /** The epoch holding `name`, if any. */
  holder(name: string): number | undefined {
    return this.held.get(name)?.epoch;
  }

  /** The Web Locks of the worker of `epoch`. */
  forWorker(epoch: number): LockRequester {
    return {
      request: (name, options, callback) => {
        if (options.mode === 'shared') throw new Error('the simulation models exclusive locks only');
        return new Promise<unknown>((resolve, reject) => {
          const request: Request = { epoch, callback, settle: (error) => (error === undefined ? resolve(undefined) : reject(error)) };
          // Answered in a task of its own, as the browser does, never synchronously.
          this.later(epoch, () => {
            if (this.dead.has(epoch)) return;
            const free = !this.held.has(name) && (this.queues.get(name)?.length ?? 0) === 0;
            if (options.ifAvailable === true && !free) {
              void Promise.resolve(callback(null)).then(() => request.settle(), (e: unknown) => request.settle(e ?? new Error('rejected')));
              return;
            }
            const queue = this.queues.get(name) ?? [];
            queue.push(request);
            this.queues.set(name, queue);
            options.signal?.addEventListener('abort', () => {
              const i = queue.indexOf(request);
              if (i < 0) return;
              queue.splice(i, 1);
              request.settle(new DOMException('The lock request was aborted.', 'AbortError'));
            });
            this.grantNext(name);
          });
        });
      },
    };
  }

  /** The worker of `epoch` died: its locks are released, its queued requests dropped. */
  kill(epoch: number): void {
    this.dead.add(epoch);
    for (const [name, queue] of this.queues) {
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.epoch === epoch) queue.splice(i, 1);
      if (this.held.get(name)?.epoch === epoch) this.release(name, this.held.get(name)!.token);
    }
    for (const [name, h] of this.held) if (h.epoch === epoch) this.release(name, h.token);
  }

  private release(name: string, token: object): void {
    if (this.held.get(name)?.token !== token) return;
    this.held.delete(name);
    this.grantNext(name);
  }

  /** Grants `name` to the first live request in its queue, in a task of that worker. */
  private grantNext(name: string): void {
    if (this.held.has(name)) return;
    const queue = this.queues.get(name) ?? [];
    const next = queue.shift();
    if (!next) return;
    const token = {};
    this.held.set(name, { epoch: next.epoch, token });
    this.grants++;
    this.later(next.epoch, () => {
      if (this.dead.has(next.epoch)) return this.release(name, token);
      let kept: Promise<void> | undefined;
      try {
        kept = next.callback({ name, mode: 'exclusive' } as Lock);
      } catch (error) {
        this.release(name, token);
        next.settle(error);
        return;
      }
      void Promise.resolve(kept).then(
        () => {
          this.release(name, token);
          next.settle();
        },
        (error: unknown) => {
          this.release(name, token);
          next.settle(error ?? new Error('rejected'));
        },
      );
    });
  }

  private later(epoch: number, body: () => void): void {
    this.sched.enter(epoch, () => setImmediate(body));
  }
}
