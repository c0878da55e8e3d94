/**
 * BroadcastChannel for the simulated tabs (worker/tabs/ takes it through `shareService(service,
 * openChannel)`): a message reaches every other open member of the same name, as a structured
 * clone, each delivery a task of the receiving worker that the scheduler orders by seed. Messages
 * from one member to another arrive in the order they were posted (a browser keeps that order per
 * channel pair); deliveries to different members, and from different senders, interleave freely.
 *
 * A message already posted is still delivered after its sender dies (the browser queued it at the
 * receiver); a dead or closed member receives nothing more. Posting on a closed channel throws
 * InvalidStateError, as in a browser; a killed worker's leftover code posts into the void.
 */
import type { Channel, WireMessage } from '../../worker/tabs/wire';
import type { SimScheduler } from './scheduler';

class Member implements Channel {
  onmessage: ((event: MessageEvent) => void) | null = null;
  closed = false;
  dead = false;
  /** Messages posted to each receiver, not yet delivered (FIFO per pair). */
  readonly outbox = new Map<Member, WireMessage[]>();

  constructor(
    private readonly hub: SimChannels,
    readonly name: string,
    readonly epoch: number,
  ) {}

  postMessage(message: WireMessage): void {
    if (this.dead) return;
    if (this.closed) throw new DOMException('The channel is closed.', 'InvalidStateError');
    this.hub.broadcast(this, structuredClone(message));
  }

  close(): void {
    this.closed = true;
  }
}

export class SimChannels {
  private readonly members: Member[] = [];

  constructor(private readonly sched: SimScheduler) {}

  /** Opens the channel `name` for the worker of `epoch`. */
  open(name: string, epoch: number): Channel {
    const member = new Member(this, name, epoch);
    this.members.push(member);
    return member;
  }

  /** The worker of `epoch` died: its channels neither send nor receive. */
  kill(epoch: number): void {
    for (const m of this.members) if (m.epoch === epoch) m.dead = m.closed = true;
  }

  broadcast(from: Member, message: WireMessage): void {
    for (const to of this.members) {
      if (to === from || to.name !== from.name || to.closed) continue;
      const queue = from.outbox.get(to) ?? [];
      queue.push(message);
      from.outbox.set(to, queue);
      // One task per message; each delivers the oldest message of the pair, so the pair's order holds.
      this.sched.enter(to.epoch, () =>
        setImmediate(() => {
          const next = queue.shift();
          if (next === undefined || to.closed) return;
          to.onmessage?.({ data: next } as MessageEvent);
        }),
      );
    }
  }
}
