/**
 * The owner's side of the channel: answers `who`, runs the calls other tabs forward and replies.
 *
 * Invariants:
 * - Every call addressed to this owner gets exactly one `reply` or `retry` while it serves.
 * - `retry` only for a call that did not run (the owner is closing, or the service said CLOSED,
 *   which it says only before running anything), so the follower may send it to the next owner.
 * - `gone` comes after every call this owner accepted was answered (`drain`): a call a follower
 *   sent here and got no answer for was never received, so it goes to the next owner.
 */
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { Progress, Result } from '../../src/protocol';
import type { LocalRunner } from './follower';
import type { Channel, WireMessage } from './wire';

export class OwnerServer {
  /** Set once the owner begins to close: calls from then on are refused with `retry`. */
  private refusing = false;
  /** Calls accepted and not answered yet, by `from` and id. */
  private readonly accepted = new Map<string, { readonly to: string; readonly id: number }>();
  private drained: (() => void) | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly self: string,
    private readonly exclusive: boolean,
    private readonly run: LocalRunner,
  ) {}

  /** Tells every tab that this worker serves now. */
  announce(): void {
    this.refusing = false;
    this.channel.postMessage({ t: 'owner', from: this.self, exclusive: this.exclusive });
  }

  /** From now on calls are sent back to be retried with the next owner. */
  refuse(): void {
    this.refusing = true;
  }

  /**
   * Waits (up to `ms`) until every accepted call was answered; a call still running then is answered
   * INTERRUPTED (it may or may not have run), so that `gone` can say "never got" of all the others.
   */
  async drain(ms: number): Promise<void> {
    if (this.accepted.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      this.drained = undefined;
    }
    for (const [key, { to, id }] of this.accepted) {
      this.accepted.delete(key);
      const cut = new PagevaultError(ErrorCode.INTERRUPTED, 'The owner tab closed the vault before this call ended; check what it did, then retry.', {});
      this.postReply(to, id, { ok: false, error: errorToWire(cut) });
    }
  }

  /** Tells every tab the owner is gone (after `drain`, once its close released the lock). */
  gone(): void {
    this.channel.postMessage({ t: 'gone', from: this.self });
  }

  /** Handles a message of the channel; returns true when it was one for the owner. */
  handle(message: WireMessage): boolean {
    if (message.t === 'who') {
      this.channel.postMessage({ t: 'owner', from: this.self, exclusive: this.exclusive });
      return true;
    }
    if (message.t !== 'call' || message.to !== this.self) return false;
    const { from, id } = message;
    if (this.refusing || this.exclusive) {
      this.channel.postMessage({ t: 'retry', to: from, id });
      return true;
    }
    const onProgress = message.options.progress
      ? (progress: Progress) => this.channel.postMessage({ t: 'progress', to: from, id, progress })
      : undefined;
    const key = `${from}:${id}`;
    this.accepted.set(key, { to: from, id });
    void this.run(message.verb, message.args, message.options, onProgress, from).then((result: Result<unknown>) => {
      if (!this.accepted.delete(key)) return; // answered INTERRUPTED by drain already
      if (!result.ok && result.error.code === ErrorCode.CLOSED) this.channel.postMessage({ t: 'retry', to: from, id });
      else this.postReply(from, id, result);
      if (this.accepted.size === 0) this.drained?.();
    });
    return true;
  }

  private postReply(to: string, id: number, result: Result<unknown>): void {
    try {
      this.channel.postMessage({ t: 'reply', to, id, result });
    } catch (error) {
      // A value that cannot be cloned must still answer the call.
      this.channel.postMessage({
        t: 'reply',
        to,
        id,
        result: { ok: false, error: { code: ErrorCode.INTERNAL, message: `The owner tab could not send the result: ${String(error)}`, details: {} } },
      });
    }
  }
}
