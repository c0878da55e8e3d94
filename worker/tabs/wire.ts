/**
 * The messages the workers of one vault exchange over the BroadcastChannel `pagevault:<name>`
 * (README "Several tabs"). Every worker of the origin that opened the vault hears every message;
 * `to` says which worker a message is for.
 */
import type { ChangeEvent, Progress, Result, SaveErrorEvent, WorkerApi } from '../../src/protocol';

export const CHANNEL_PREFIX = 'pagevault:';

/** A verb a follower forwards: every worker method but the ones each tab keeps for itself. */
export type ForwardedVerb = Exclude<keyof WorkerApi, 'open' | 'close' | 'onSaveError' | 'onChange'>;

/** How a forwarded call is to be run by the owner. */
export interface CallOptions {
  /** Acknowledge a write only once saved (`durability: 'commit'` in the calling tab). */
  readonly durable: boolean;
  /** The caller passed a progress listener (backupCreate): relay progress messages. */
  readonly progress: boolean;
}

export type WireMessage =
  /** A new worker asks who owns the vault. */
  | { readonly t: 'who'; readonly from: string }
  /** The owner says it serves (on taking the lock, after a failed close, and in answer to `who`). */
  | { readonly t: 'owner'; readonly from: string; readonly exclusive: boolean }
  /** The owner closed (lock released after every accepted call was answered). */
  | { readonly t: 'gone'; readonly from: string }
  | { readonly t: 'call'; readonly from: string; readonly to: string; readonly id: number; readonly verb: ForwardedVerb; readonly args: readonly unknown[]; readonly options: CallOptions }
  | { readonly t: 'reply'; readonly to: string; readonly id: number; readonly result: Result<unknown> }
  /** The owner refused the call without running it (it is closing): send it to the next owner. */
  | { readonly t: 'retry'; readonly to: string; readonly id: number }
  | { readonly t: 'progress'; readonly to: string; readonly id: number; readonly progress: Progress }
  | { readonly t: 'change'; readonly event: ChangeEvent }
  | { readonly t: 'save-error'; readonly event: SaveErrorEvent };

/** The part of BroadcastChannel the tab layer uses (Node 20 has one too; tests pass their own). */
export interface Channel {
  postMessage(message: WireMessage): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
}

/** A random id for this worker, unique among the origin's workers. */
export function workerId(): string {
  return crypto.randomUUID();
}

/**
 * `channel`, posting nothing once closed: a reply or a change notice that comes after this
 * worker closed its vault has no one left to reach, and a closed BroadcastChannel throws
 * InvalidStateError (which would reject the late call's answer, or go unhandled).
 */
export function closable(channel: Channel): Channel {
  let open = true;
  return {
    postMessage: (message) => {
      if (open) channel.postMessage(message);
    },
    get onmessage() {
      return channel.onmessage;
    },
    set onmessage(handler) {
      channel.onmessage = handler;
    },
    close: () => {
      open = false;
      channel.close();
    },
  };
}
