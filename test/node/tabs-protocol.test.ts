/**
 * The forwarding protocol between the workers of one vault (worker/tabs/, README "Several tabs"),
 * over Node's own BroadcastChannel, and what the owner adds to a call: change notifications from
 * the service's change tracker, and `durability: 'commit'`.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { ChangeEvent, Progress, Result } from '../../src/protocol';
import { Follower, type LocalRunner } from '../../worker/tabs/follower';
import { OwnerServer } from '../../worker/tabs/owner-server';
import { shareService } from '../../worker/tabs/shared-service';
import { CHANNEL_PREFIX, type Channel, type ForwardedVerb, type WireMessage } from '../../worker/tabs/wire';
import { createService } from '../../worker/service';
import { call } from '../support/vault-harness';

const open: Channel[] = [];
afterEach(() => {
  for (const channel of open.splice(0)) channel.close();
});

function channel(name: string): Channel {
  const made = new BroadcastChannel(CHANNEL_PREFIX + name) as unknown as Channel;
  open.push(made);
  return made;
}

/** An owner on its own channel whose runner is `run`; `stop()` makes it stop listening (a crash). */
function owner(name: string, id: string, run: LocalRunner) {
  const ch = channel(name);
  const server = new OwnerServer(ch, id, false, run);
  ch.onmessage = (event) => server.handle(event.data);
  return { server, stop: () => (ch.onmessage = null) };
}

function follower(name: string, id: string, lockedAfterMs = 0) {
  const ch = channel(name);
  const f = new Follower(ch, id, lockedAfterMs);
  ch.onmessage = (event) => f.handle(event.data);
  return f;
}

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const failed = (code: ErrorCode): Result<never> => ({ ok: false, error: errorToWire(new PagevaultError(code, 'x', { n: 1 })) });
const plain = { durable: false, progress: false };
const never = () => new Promise<Result<unknown>>(() => undefined);
const codeOf = (result: Result<unknown>) => (result.ok ? 'OK' : result.error.code);

describe('the forwarding protocol', () => {
  it('forwards a call to the owner and brings back its value, its error code and details, and its progress', async () => {
    const ran: string[] = [];
    owner('p1', 'A', async (verb, args, _options, onProgress) => {
      ran.push(verb);
      if (verb === 'backupStatus') return failed(ErrorCode.NOT_FOUND);
      onProgress?.({ backupId: 'b', jobId: 'j', phase: 'done', done: 1, total: 1, unit: 'pages', percent: 100 });
      return ok({ echoed: args });
    }).server.announce();
    const f = follower('p1', 'F');
    expect((await f.findOwner()).id).toBe('A');
    expect(await f.call('query', ['SELECT ?', [1]], plain)).toEqual(ok({ echoed: ['SELECT ?', [1]] }));
    const missing = await f.call('backupStatus', ['nope'], plain);
    expect(missing).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', details: { n: 1 } } });
    const progress: Progress[] = [];
    await f.call('backupCreate', [{}], { durable: false, progress: true }, (p) => progress.push(p));
    await new Promise((r) => setTimeout(r, 20));
    expect(progress.map((p) => p.phase)).toEqual(['done']);
    expect(ran).toEqual(['query', 'backupStatus', 'backupCreate']);
  });

  it('rejects a write the dead owner never answered with INTERRUPTED, and asks a read again of the next owner', async () => {
    const first = owner('p2', 'A', never);
    const f = follower('p2', 'F');
    first.server.announce();
    await f.findOwner();
    const write = f.call('exec', ['INSERT ...'], plain);
    const read = f.call('info', [], plain);
    await new Promise((r) => setTimeout(r, 20));
    first.stop(); // crashed: it will never answer
    owner('p2', 'B', async (verb) => ok(`B ran ${verb}`)).server.announce();
    expect(codeOf(await write)).toBe('INTERRUPTED');
    expect(await read).toEqual(ok('B ran info'));
  });

  it('sends a call the closing owner refused to the next owner, which runs it once', async () => {
    const runs: string[] = [];
    const closing = owner('p3', 'A', async () => {
      runs.push('A');
      return ok('A');
    });
    closing.server.announce();
    const f = follower('p3', 'F');
    await f.findOwner();
    closing.server.refuse();
    const pending = f.call('exec', ['INSERT ...'], plain);
    await new Promise((r) => setTimeout(r, 20));
    closing.server.gone();
    owner('p3', 'B', async () => {
      runs.push('B');
      return ok('B');
    }).server.announce();
    expect(await pending).toEqual(ok('B'));
    expect(runs).toEqual(['B']);
  });

  it('holds calls while an exclusive owner has the vault, and sends them to the next owner that shares', async () => {
    const f = follower('p5', 'F', 1_000); // the tab's lockTimeoutMs
    const ch = channel('p5');
    const exclusive = new OwnerServer(ch, 'X', true, async () => ok('X'));
    ch.onmessage = (event) => exclusive.handle(event.data);
    exclusive.announce();
    expect((await f.findOwner()).exclusive).toBe(true);
    const pending = f.call('exec', ['INSERT ...'], plain);
    await new Promise((r) => setTimeout(r, 20));
    exclusive.gone();
    owner('p5', 'B', async () => ok('B')).server.announce();
    expect(await pending).toEqual(ok('B'));
  });

  it('answers LOCKED a call that waited longer than its lockTimeoutMs while an exclusive owner keeps the vault', async () => {
    const f = follower('p6', 'F', 50);
    const ch = channel('p6');
    const exclusive = new OwnerServer(ch, 'X', true, async () => ok('X'));
    ch.onmessage = (event) => exclusive.handle(event.data);
    exclusive.announce();
    expect((await f.findOwner()).exclusive).toBe(true);
    expect(codeOf(await f.call('exec', ['INSERT ...'], plain))).toBe('LOCKED');
  });

  it("sends a call the closed owner never got to the next owner: 'gone' comes after every accepted call was answered", async () => {
    const runs: string[] = [];
    const closing = owner('p7', 'A', async () => {
      await new Promise((r) => setTimeout(r, 30));
      runs.push('A');
      return ok('A');
    });
    closing.server.announce();
    const f = follower('p7', 'F');
    await f.findOwner();
    const accepted = f.call('exec', ['INSERT 1'], plain);
    await new Promise((r) => setTimeout(r, 10)); // A runs it
    closing.stop(); // A hears nothing more, as after it closed its channel
    const lost = f.call('exec', ['INSERT 2'], plain); // A never gets it
    await closing.server.drain(1_000);
    closing.server.gone();
    expect(await accepted).toEqual(ok('A'));
    owner('p7', 'B', async () => {
      runs.push('B');
      return ok('B');
    }).server.announce();
    expect(await lost).toEqual(ok('B'));
    expect(runs).toEqual(['A', 'B']);
  });

  it('runs the calls still waiting in this worker once it takes the lock itself; CLOSED when the vault closes', async () => {
    const f = follower('p4', 'F');
    const waiting = f.call('exec', ['INSERT ...'], plain); // no owner yet: it waits
    const ran: ForwardedVerb[] = [];
    f.takeOver(async (verb) => {
      ran.push(verb);
      return ok('here');
    });
    expect(await waiting).toEqual(ok('here'));
    expect(ran).toEqual(['exec']);
    const g = follower('p4b', 'G');
    const closed = g.call('query', ['SELECT 1'], plain);
    g.close();
    expect(codeOf(await closed)).toBe('CLOSED');
  });
});

describe('the owner worker (one service in Node: no Web Locks, so it always owns)', () => {
  it('tells onChange listeners which tables a committed transaction changed, and everything after a schema change', async () => {
    const api = shareService(createService(), channel);
    await call(api.open({ name: `tabs-change-${crypto.randomUUID()}`, autosaveMs: 3_600_000 }));
    const seen: ChangeEvent[] = [];
    await call(api.onChange((event) => seen.push(event)));
    await call(api.exec('CREATE TABLE a (x); CREATE TABLE b (x)'));
    expect(seen.pop()).toEqual({ kind: 'data', tables: [], all: true });
    await call(api.exec('BEGIN; INSERT INTO a VALUES (1)'));
    await call(api.query('INSERT INTO b VALUES (1) RETURNING x'));
    expect(seen).toEqual([]);
    await call(api.exec('COMMIT'));
    expect(seen.pop()).toEqual({ kind: 'data', tables: ['a', 'b'], all: false });
    await call(api.query('SELECT * FROM a'));
    expect(seen).toEqual([]);
    await call(api.exec('DELETE FROM b'));
    expect(seen.pop()).toMatchObject({ kind: 'data', all: true });
    await call(api.close());
  });

  it("acknowledges a write with durability 'commit' only once it is saved; refuses an unknown durability", async () => {
    const name = `tabs-durable-${crypto.randomUUID()}`;
    const bad = await shareService(createService(), channel).open({ name, durability: 'sometimes' as 'commit' });
    expect(codeOf(bad)).toBe('INVALID_ARGUMENT');
    const api = shareService(createService(), channel);
    await call(api.open({ name, autosaveMs: 3_600_000, durability: 'commit' }));
    await call(api.exec('CREATE TABLE t (x)'));
    await call(api.exec('INSERT INTO t VALUES (1)'));
    expect((await call(api.info())).dirty).toBe(false);
    await call(api.exec('BEGIN; INSERT INTO t VALUES (2)'));
    expect((await call(api.info())).dirty).toBe(true);
    await call(api.close({ force: true }));
  });
});

/**
 * Two races of a tab closing its vault, found by the simulation with several tabs (test/sim/README.md):
 * a write already forwarded to the owner when its tab closes may have run there, so it is answered
 * INTERRUPTED, not CLOSED (which says "not served"); and an owner that closed its channel posts
 * nothing more (a closed BroadcastChannel throws), so a call that ends after the close neither
 * rejects with a raw error nor leaves an unhandled rejection.
 */
describe('a tab closing while its calls are out', () => {
  it('answers INTERRUPTED for a write the owner got but did not answer yet, CLOSED for what it never sent or only read', async () => {
    const ownerChannel = channel('close-race');
    const server = new OwnerServer(ownerChannel, 'A', false, () => new Promise<Result<unknown>>(() => undefined)); // runs, answers later
    ownerChannel.onmessage = (event) => server.handle(event.data as WireMessage);
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
    let answer: () => void = () => undefined;
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
