/**
 * The owner's side of the channel: answers `who`, runs the calls other tabs forward and replies.
 *
 * Invariants:
 * - Every call addressed to this owner gets exactly one `reply` or `retry` while it serves.
 * - `retry` only for a call that did not run (the owner is closing, or the service said CLOSED,
 *   which it says only before running anything), so the follower may send it to the next owner.
 */
import { ErrorCode } from '../../src/errors';
import type { Progress, Result } from '../../src/protocol';
import type { LocalRunner } from './follower';
import type { Channel, WireMessage } from './wire';

export class OwnerServer {
  /** Set once the owner begins to close: calls from then on are refused with `retry`. */
  private refusing = false;

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

  /** Tells every tab the owner is gone (after its close released the lock). */
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
    void this.run(message.verb, message.args, message.options, onProgress).then((result: Result<unknown>) => {
      if (!result.ok && result.error.code === ErrorCode.CLOSED) this.channel.postMessage({ t: 'retry', to: from, id });
      else this.postReply(from, id, result);
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
