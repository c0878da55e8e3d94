/**
 * Several "tabs" in one Node process: each a real `shareService(createService())` on fake-indexeddb,
 * sharing a fake Web Locks manager (Node 20 has none) and Node's BroadcastChannel.
 * `kill()` is a crash: the tab stops hearing and sending, and "the browser" releases every lock the
 * tab held (the vault's, its per-tab lock) and drops its queued requests.
 */
import 'fake-indexeddb/auto';
import type { LockRequester } from '../../worker/lock';
import { createService } from '../../worker/service';
import { shareService } from '../../worker/tabs/shared-service';
import { CHANNEL_PREFIX, type Channel } from '../../worker/tabs/wire';
import type { OpenOptions, WorkerApi } from '../../src/protocol';

type Callback = (lock: unknown) => unknown;
interface Waiter {
  readonly grant: () => void;
  readonly tab: number;
}

/** FIFO exclusive locks with `ifAvailable` and `signal`, like the browser's LockManager. */
export class FakeLocks {
  private readonly holders = new Map<string, { readonly token: symbol; readonly tab: number }>();
  private readonly queues = new Map<string, Waiter[]>();
  private tabs = 0;

  /** The locks of one tab (one worker): what `crashTab` releases. */
  forTab(): { readonly locks: LockRequester; readonly crash: () => void } {
    const tab = ++this.tabs;
    return {
      locks: { request: (name, options, callback) => this.request(name, options, callback as Callback, tab) },
      crash: () => this.crashTab(tab),
    };
  }

  request(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal | undefined }, callback: Callback, tab = 0): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(name) ?? [];
      this.queues.set(name, queue);
      const run = () => {
        const token = Symbol(name);
        this.holders.set(name, { token, tab });
        let held: Promise<unknown>;
        try {
          held = Promise.resolve(callback({ name, mode: 'exclusive' }));
        } catch (error) {
          held = Promise.reject(error);
        }
        held.then(resolve, reject).finally(() => this.release(name, token));
      };
      const free = !this.holders.has(name) && queue.length === 0;
      if (options.ifAvailable) {
        if (free) run();
        else Promise.resolve(callback(null)).then(resolve, reject);
        return;
      }
      if (free) {
        run();
        return;
      }
      const waiter: Waiter = { grant: run, tab };
      queue.push(waiter);
      options.signal?.addEventListener('abort', () => {
        const at = queue.indexOf(waiter);
        if (at >= 0) {
          queue.splice(at, 1);
          reject(options.signal?.reason);
        }
      });
    });
  }

  /** The browser drops the queued requests of a tab that died and releases the locks it held. */
  private crashTab(tab: number): void {
    for (const [name, queue] of this.queues) this.queues.set(name, queue.filter((waiter) => waiter.tab !== tab));
    for (const [name, holder] of [...this.holders]) {
      if (holder.tab !== tab) continue;
      this.holders.delete(name);
      this.grantNext(name);
    }
  }

  private release(name: string, token: symbol): void {
    if (this.holders.get(name)?.token !== token) return;
    this.holders.delete(name);
    this.grantNext(name);
  }

  private grantNext(name: string): void {
    const next = this.queues.get(name)?.shift();
    if (next) setTimeout(next.grant, 0);
  }
}

export const locks = new FakeLocks();

export interface Tab {
  readonly api: WorkerApi;
  /** A crash: no more messages in or out, its locks are released and its queued requests dropped. */
  kill(): void;
  /** The same (kept as a name for a follower's crash). */
  killFollower(): void;
}

/** A tab's worker for vault `name` (not opened yet). */
export function tab(name: string): Tab {
  const raw = new BroadcastChannel(CHANNEL_PREFIX + name);
  let dead = false;
  let handler: ((event: MessageEvent) => void) | null = null;
  const channel: Channel = {
    postMessage: (message) => {
      if (!dead) raw.postMessage(message);
    },
    get onmessage() {
      return handler;
    },
    set onmessage(h) {
      handler = h;
      raw.onmessage = h ? (event: unknown) => (dead ? undefined : h(event as MessageEvent)) : null;
    },
    close: () => raw.close(),
  };
  const own = locks.forTab();
  const api = shareService(createService({ locks: own.locks }), () => channel, own.locks);
  const kill = () => {
    dead = true;
    raw.close();
    own.crash();
  };
  return { api, kill, killFollower: kill };
}

/** Opens a tab on `name` (a long autosave, so only flushes and closes save). */
export async function openTab(name: string, options: Partial<OpenOptions> = {}): Promise<Tab> {
  const t = tab(name);
  const opened = await t.api.open({ name, autosaveMs: 3_600_000, ...options });
  if (!opened.ok) throw new Error(`open failed: ${opened.error.code} ${opened.error.message}`);
  return t;
}

/** Resolves with `pending`'s outcome, or 'HANG' when it has not settled within `ms`. */
export async function within<T>(pending: Promise<T>, ms: number): Promise<T | 'HANG'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'HANG'>((resolve) => (timer = setTimeout(() => resolve('HANG'), ms)));
  try {
    return await Promise.race([pending, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a tab's page sees of a call: OK, its error code, or HANG (from `within`). */
export const outcome = (r: { ok: boolean; error?: { code: string } } | 'HANG'): string | undefined => (r === 'HANG' ? 'HANG' : r.ok ? 'OK' : r.error?.code);
