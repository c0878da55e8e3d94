/**
 * A worker that does not own the vault forwards each call to the owner and waits for its answer.
 *
 * Invariants (README "Several tabs"):
 * - Every call is answered exactly once: by the owner's reply, or rejected with `INTERRUPTED`
 *   (retryable) when the owner it was sent to ended before replying (another owner announced itself,
 *   or this worker took the lock itself), with `INTERRUPTED` for a write already sent when this
 *   vault closes (it may have run) and `CLOSED` for the rest, or with `LOCKED` when it waited
 *   `lockedAfterMs` while an exclusive owner kept the vault.
 * - A call the owner refused without running it (`retry`), one sent to an owner that then said
 *   `gone` without answering it (an owner answers every call it accepted before `gone`: it never
 *   got this one), or one made while no owner is known, waits for the next owner: it is never run
 *   twice and never dropped.
 * - A new owner first gets this tab's `replay` calls (the remotes it added), then the waiting calls.
 */
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { Progress, Result } from '../../src/protocol';
import type { CallOptions, Channel, ForwardedVerb, WireMessage } from './wire';

interface Pending {
  readonly verb: ForwardedVerb;
  readonly args: readonly unknown[];
  readonly options: CallOptions;
  readonly resolve: (result: Result<unknown>) => void;
  /** The owner the call was sent to; undefined while it waits for one. */
  sentTo: string | undefined;
  /** A call this tab replays to a new owner (the others wait until it is answered). */
  readonly replay?: boolean;
  /** Answers LOCKED while an exclusive owner keeps the vault too long. */
  timer?: ReturnType<typeof setTimeout> | undefined;
}

/** A call a tab makes again at each new owner (`remoteAdd`: the owner's remotes live in its memory). */
export interface Replayed {
  readonly verb: ForwardedVerb;
  readonly args: readonly unknown[];
}

/** Runs a call in this worker (once it owns the vault). */
export type LocalRunner = (
  verb: ForwardedVerb,
  args: readonly unknown[],
  options: CallOptions,
  onProgress?: (progress: Progress) => void,
  /** The tab the call comes from (its worker id); the owner's own tab when absent. */
  caller?: string,
) => Promise<Result<unknown>>;

/**
 * Verbs that change nothing: one the dead owner may have run is simply asked again of the next
 * owner instead of rejected (`query` is not among them: its SQL may write).
 */
const READS: ReadonlySet<ForwardedVerb> = new Set([
  'info',
  'storage',
  'download',
  'backupStatus',
  'backupWait',
  'backupList',
  'backupHistory',
  'backupDownload',
  'backupInspect',
  'retentionGet',
  'scheduleList',
  'historyList',
  'remoteList',
]);

const failure = (code: ErrorCode, message: string): Result<never> => ({ ok: false, error: errorToWire(new PagevaultError(code, message, {})) });

export class Follower {
  private owner: string | undefined;
  /** An exclusive owner that keeps the vault now (it serves no other tab). */
  private exclusiveOwner: string | undefined;
  /** The last owner that served this tab (a different one gets the replayed calls first). */
  private served: string | undefined;
  /** Replayed calls not answered yet: the other calls wait for them. */
  private replaying = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Progress listeners of backups started from this tab, by call id (kept after the reply: the job goes on). */
  private readonly progress = new Map<number, (progress: Progress) => void>();
  private readonly ownerWaiters = new Set<(owner: { id: string; exclusive: boolean }) => void>();

  constructor(
    private readonly channel: Channel,
    private readonly self: string,
    /** How long a call waits while an exclusive owner keeps the vault before it answers LOCKED (the tab's lockTimeoutMs). */
    private readonly lockedAfterMs = 0,
    /** The calls to make again at each new owner before any other. */
    private readonly replay: () => readonly Replayed[] = () => [],
  ) {}

  /** The owner known now, if any. */
  get ownerId(): string | undefined {
    return this.owner;
  }

  /** Asks who owns the vault; resolves with the first owner that says so. */
  findOwner(): Promise<{ id: string; exclusive: boolean }> {
    const found = new Promise<{ id: string; exclusive: boolean }>((resolve) => this.ownerWaiters.add(resolve));
    this.channel.postMessage({ t: 'who', from: this.self });
    return found;
  }

  /** Forwards one call to the owner (or holds it until there is one). */
  call(verb: ForwardedVerb, args: readonly unknown[], options: CallOptions, onProgress?: (progress: Progress) => void): Promise<Result<unknown>> {
    const id = this.nextId++;
    if (onProgress) this.progress.set(id, onProgress);
    return new Promise((resolve) => {
      const entry: Pending = { verb, args, options, resolve, sentTo: undefined };
      this.pending.set(id, entry);
      this.send(id, entry);
      if (entry.sentTo === undefined && this.exclusiveOwner !== undefined) this.lockedLater(id, entry);
    });
  }

  /** Handles a message of the channel; returns true when it was one for this follower. */
  handle(message: WireMessage): boolean {
    switch (message.t) {
      case 'owner':
        if (message.from === this.self) return false;
        // An exclusive owner serves no one else: calls wait for the next owner that shares, LOCKED
        // after lockedAfterMs.
        this.exclusiveOwner = message.exclusive ? message.from : undefined;
        if (!message.exclusive && message.from !== this.served && this.owner !== message.from) this.startReplay(message.from);
        this.ownerChanged(message.exclusive ? undefined : message.from);
        if (message.exclusive) for (const [id, entry] of this.pending) if (entry.sentTo === undefined) this.lockedLater(id, entry);
        for (const waiter of this.ownerWaiters) waiter({ id: message.from, exclusive: message.exclusive });
        this.ownerWaiters.clear();
        return true;
      case 'gone':
        if (message.from === this.exclusiveOwner) this.exclusiveOwner = undefined;
        if (message.from === this.owner) this.owner = undefined;
        // The owner answered every call it accepted before saying so: what it did not answer, it never got.
        for (const [id, entry] of this.pending) if (entry.sentTo === message.from) this.unsent(id, entry);
        return true;
      case 'reply': {
        if (message.to !== this.self) return false;
        const entry = this.pending.get(message.id);
        if (!entry) return true; // already rejected as INTERRUPTED: the owner answered too late
        this.pending.delete(message.id);
        clearTimeout(entry.timer);
        this.served = entry.sentTo;
        if (entry.replay) this.replayed();
        if (entry.verb !== 'backupCreate' || !message.result.ok) this.progress.delete(message.id);
        entry.resolve(message.result);
        return true;
      }
      case 'retry': {
        if (message.to !== this.self) return false;
        const entry = this.pending.get(message.id);
        if (entry && entry.sentTo === this.owner) {
          // The owner that refused it is closing: the call waits for the next one.
          this.owner = undefined;
          this.unsent(message.id, entry);
        }
        return true;
      }
      case 'progress': {
        if (message.to !== this.self) return false;
        const listener = this.progress.get(message.id);
        if (listener) Promise.resolve(listener(message.progress)).catch(() => undefined);
        if (message.progress.phase === 'done') this.progress.delete(message.id);
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * This worker took the lock: the previous owner is gone. Calls it did not answer are rejected
   * with INTERRUPTED; calls never sent run in `run`, the new owner's local runner.
   */
  takeOver(run: LocalRunner): void {
    this.ownerChanged(undefined);
    // What is left was never run, or only reads: run it here.
    const waiting = [...this.pending.entries()];
    this.pending.clear();
    this.replaying = 0;
    for (const [id, entry] of waiting) {
      clearTimeout(entry.timer);
      if (entry.replay) continue; // the new owner replays this tab's calls itself
      const onProgress = this.progress.get(id);
      void run(entry.verb, entry.args, entry.options, onProgress).then(entry.resolve);
    }
    this.progress.clear();
  }

  /**
   * Rejects everything still waiting with CLOSED (this tab's vault closed), or with `result`; a
   * write already sent to the owner with INTERRUPTED instead, since it may have run there (CLOSED
   * says a call was not served).
   */
  close(result: Result<never> = failure(ErrorCode.CLOSED, 'The vault was closed before the owner tab answered.')): void {
    const cut = failure(ErrorCode.INTERRUPTED, 'This tab closed the vault before the owner tab answered; check what the call did, then retry.');
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.resolve(entry.sentTo !== undefined && !READS.has(entry.verb) ? cut : result);
    }
    this.pending.clear();
    this.progress.clear();
    this.ownerWaiters.clear();
  }

  private ownerChanged(owner: string | undefined): void {
    this.owner = owner;
    for (const [id, entry] of this.pending) {
      if (entry.sentTo !== undefined && entry.sentTo !== owner && READS.has(entry.verb)) {
        entry.sentTo = undefined;
        if (owner !== undefined) this.send(id, entry);
      } else if (entry.sentTo !== undefined && entry.sentTo !== owner) {
        // Sent to an owner that ended before answering: it may or may not have run.
        this.pending.delete(id);
        this.progress.delete(id);
        clearTimeout(entry.timer);
        if (entry.replay) this.replayed();
        entry.resolve(
          failure(ErrorCode.INTERRUPTED, `The tab that owned the vault ended before it answered (${entry.verb}); check what it did, then retry.`),
        );
      } else if (entry.sentTo === undefined && owner !== undefined) this.send(id, entry);
    }
  }

  /** Sends this tab's replayed calls to `owner`, a new one; the other calls wait for their answers. */
  private startReplay(owner: string): void {
    for (const { verb, args } of this.replay()) {
      const id = this.nextId++;
      const entry: Pending = { verb, args, options: { durable: false, progress: false }, resolve: () => undefined, sentTo: owner, replay: true };
      this.pending.set(id, entry);
      this.replaying++;
      this.channel.postMessage({ t: 'call', from: this.self, to: owner, id, verb, args, options: entry.options });
    }
  }

  /** `entry` did not run where it was sent: it waits for the next owner (a replayed call is made there anew). */
  private unsent(id: number, entry: Pending): void {
    entry.sentTo = undefined;
    if (!entry.replay) return;
    this.pending.delete(id);
    this.replaying = Math.max(0, this.replaying - 1);
  }

  /** A replayed call was answered: once all were, the waiting calls go. */
  private replayed(): void {
    this.replaying = Math.max(0, this.replaying - 1);
    if (this.replaying === 0) for (const [id, entry] of this.pending) if (entry.sentTo === undefined) this.send(id, entry);
  }

  /** `entry` waits while an exclusive owner keeps the vault: LOCKED after lockedAfterMs, as an exclusive open. */
  private lockedLater(id: number, entry: Pending): void {
    if (entry.timer !== undefined) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.pending.get(id) !== entry || entry.sentTo !== undefined || this.exclusiveOwner === undefined) return;
      this.pending.delete(id);
      this.progress.delete(id);
      entry.resolve(failure(ErrorCode.LOCKED, 'Another tab opened this vault exclusively; retry once it closes it there.'));
    }, this.lockedAfterMs);
  }

  private send(id: number, entry: Pending): void {
    if (this.owner === undefined || (this.replaying > 0 && !entry.replay)) return;
    entry.sentTo = this.owner;
    this.channel.postMessage({ t: 'call', from: this.self, to: this.owner, id, verb: entry.verb, args: entry.args, options: entry.options });
  }
}
