/**
 * Two races of a tab closing its vault, found by the simulation with several tabs (test/sim/,
 * issue 17): a write already forwarded to the owner when its tab closes may have run there, so it
 * is answered INTERRUPTED, not CLOSED (which says "not served"); and an owner that closed its
 * channel posts nothing more (a closed BroadcastChannel throws), so a call or a backup job that
 * ends after the close neither rejects with a raw error nor leaves an unhandled rejection.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Result } from '../../src/protocol';
import { Follower } from '../../worker/tabs/follower';
import { OwnerServer } from '../../worker/tabs/owner-server';
import { shareService } from '../../worker/tabs/shared-service';
import { CHANNEL_PREFIX, type Channel, type WireMessage } from '../../worker/tabs/wire';
import { createService } from '../../worker/service';

const open: Channel[] = [];
afterEach(() => {
  for (const channel of open.splice(0)) channel.close();
});

function channel(name: string): Channel {
  const made = new BroadcastChannel(CHANNEL_PREFIX + name) as unknown as Channel;
  open.push(made);
  return made;
}

const codeOf = (result: Result<unknown>) => (result.ok ? 'OK' : result.error.code);
const plain = { durable: false, progress: false };

describe('a tab closing while its calls are out', () => {
  it('answers INTERRUPTED for a write the owner got but did not answer yet, CLOSED for what it never sent or only read', async () => {
    const owner = channel('close-race');
    const server = new OwnerServer(owner, 'A', false, () => new Promise<Result<unknown>>(() => undefined)); // runs, answers later
    owner.onmessage = (event) => server.handle(event.data as WireMessage);
    server.announce();
    const ch = channel('close-race');
    const f = new Follower(ch, 'F');
    ch.onmessage = (event) => f.handle(event.data as WireMessage);
    await f.findOwner();
    const write = f.call('exec', ['INSERT INTO t VALUES (1)'], plain);
    const read = f.call('backupList', [], plain);
    await new Promise((r) => setTimeout(r, 20)); // both reached the owner
    f.close();
    expect(codeOf(await write)).toBe('INTERRUPTED');
    expect(codeOf(await read)).toBe('CLOSED');
    const unsent = new Follower(channel('close-race-none'), 'G'); // no owner: nothing is sent
    const waiting = unsent.call('exec', ['INSERT INTO t VALUES (2)'], plain);
    unsent.close();
    expect(codeOf(await waiting)).toBe('CLOSED');
  });

  it('posts nothing on its closed channel when a call of the owner ends after its close', async () => {
    let closed = false;
    // As a BroadcastChannel: posting on a closed one throws InvalidStateError.
    const stub: Channel = {
      onmessage: null,
      postMessage: () => {
        if (closed) throw new DOMException('closed', 'InvalidStateError');
      },
      close: () => {
        closed = true;
      },
    };
    const real = createService();
    let answer = () => undefined as void;
    const late = new Promise<void>((resolve) => (answer = resolve));
    // A create whose answer comes after the vault closed, as the simulation saw one (seed 1).
    const service = { ...real, backupCreate: async (...args: Parameters<typeof real.backupCreate>) => {
      const created = await real.backupCreate(...args);
      await late;
      return created;
    } };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const api = shareService(service, () => stub);
      expect(codeOf(await api.open({ name: `close-race-${crypto.randomUUID()}`, autosaveMs: 3_600_000 }))).toBe('OK');
      expect(codeOf(await api.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)'))).toBe('OK');
      const created = api.backupCreate({});
      expect(codeOf(await api.close())).toBe('OK');
      expect(closed).toBe(true);
      answer();
      // Answered with a Result (the page sees a code), not a raw InvalidStateError.
      expect((await Promise.allSettled([created]))[0]!.status).toBe('fulfilled');
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
