/**
 * Ties SQL transactions to the tab that began them (README "Several tabs"). Every tab's SQL runs
 * on the owner's one connection, so without this a tab's `BEGIN` would swallow the other tabs'
 * writes (its `ROLLBACK`, close or death would take them along) and their durable saves would meet
 * its open transaction.
 *
 * Invariants:
 * - One `exec`/`query` runs at a time (a durable write's save included), so what a call
 *   finds open after it ran was opened by that call's tab.
 * - While tab T holds a transaction, only T's calls run; the others wait (up to `waitMs`, then
 *   BUSY). T's calls are never queued behind them (that would deadlock on T's COMMIT).
 * - The owner asks for T's per-tab Web Lock while T holds a transaction: the lock is granted when
 *   T's worker closes or dies, and then T's transaction is rolled back.
 */
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { Result } from '../../src/protocol';
import type { LockRequester } from '../lock';
import { CHANNEL_PREFIX } from './wire';

/** The per-tab Web Lock a follower holds while its vault is open (its death releases it). */
export const tabLockName = (vault: string, tab: string): string => `${CHANNEL_PREFIX}${vault}:tab:${tab}`;

/** How long a tab's SQL waits for another tab's transaction to end before BUSY. */
export const TRANSACTION_WAIT_MS = 5_000;

interface Waiter {
  readonly caller: string;
  readonly admit: () => void;
}

export class TransactionGate {
  /** The tab whose transaction is open on the connection, if any. */
  private holder: string | undefined;
  private running = false;
  private readonly queue: Waiter[] = [];
  /** Stops watching the holder's tab lock. */
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly vault: string,
    private readonly self: string,
    /** Whether a transaction is open on the connection now. */
    private readonly probe: () => boolean,
    /** Rolls back the open transaction (run through this gate as the holder's own call). */
    private readonly rollback: () => Promise<unknown>,
    private readonly locks: LockRequester | undefined,
    private readonly waitMs: number = TRANSACTION_WAIT_MS,
  ) {}

  /**
   * Runs `body` for tab `caller` once no other call runs and no other tab holds a transaction;
   * afterwards notes whether `caller` left a transaction open.
   */
  async run<T>(caller: string, body: () => Promise<Result<T>>): Promise<Result<T>> {
    if (!(await this.enter(caller))) {
      return {
        ok: false,
        error: errorToWire(
          new PagevaultError(
            ErrorCode.BUSY,
            `Another tab has a transaction open on this vault (BEGIN without COMMIT) for over ${this.waitMs} ms; retry once it commits or rolls back.`,
            { waitMs: this.waitMs },
          ),
        ),
      };
    }
    try {
      return await body();
    } finally {
      this.running = false;
      this.next();
    }
  }

  /** True when `caller` holds the open transaction (a durable write is then acknowledged at COMMIT). */
  holds(caller: string): boolean {
    return this.holder === caller;
  }

  /** After a statement of `caller` ran: records whether its tab holds a transaction now. */
  note(caller: string): void {
    const open = this.probe();
    if (open && this.holder !== caller) {
      this.holder = caller;
      this.watch(caller);
    } else if (!open && this.holder !== undefined) {
      this.holder = undefined;
      this.unwatch?.();
      this.unwatch = undefined;
    }
  }

  /** The vault closes (its close rolls back any transaction): nothing is held, waiters go on (and meet CLOSED). */
  reset(): void {
    this.holder = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    this.next();
  }

  private enter(caller: string): Promise<boolean> {
    if (!this.running && this.admits(caller)) {
      this.running = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        caller,
        admit: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      let timer: ReturnType<typeof setTimeout>;
      // The bound is for another tab's transaction only: a call that waits for the one running now
      // (a save, say) waits on.
      const expire = () => {
        if (this.admits(caller)) {
          timer = setTimeout(expire, this.waitMs);
          return;
        }
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        resolve(false);
      };
      timer = setTimeout(expire, this.waitMs);
      this.queue.push(waiter);
    });
  }

  private admits(caller: string): boolean {
    return this.holder === undefined || this.holder === caller;
  }

  /** Starts the first waiter that may run now (the holder's own calls skip the others). */
  private next(): void {
    if (this.running) return;
    const at = this.queue.findIndex((waiter) => this.admits(waiter.caller));
    if (at < 0) return;
    const [waiter] = this.queue.splice(at, 1);
    this.running = true;
    waiter?.admit();
  }

  /** Asks for `tab`'s lock: granted when that tab is gone, then its transaction is rolled back. */
  private watch(tab: string): void {
    this.unwatch?.();
    this.unwatch = undefined;
    if (tab === this.self || !this.locks) return; // the owner's own tab dies with the owner
    const stop = new AbortController();
    this.unwatch = () => stop.abort();
    this.locks
      .request(tabLockName(this.vault, tab), { mode: 'exclusive', signal: stop.signal }, async () => {
        // The tab closed or died with its transaction open: nobody can commit it any more.
        if (this.holder !== tab || stop.signal.aborted) return;
        await this.run(tab, async () => {
          await this.rollback();
          this.note(tab);
          return { ok: true, value: undefined };
        });
      })
      .catch(() => undefined); // aborted: the transaction ended first
  }
}
