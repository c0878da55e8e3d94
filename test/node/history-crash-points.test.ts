/**
 * Crash points of history, as for saves (faults-crash-points.test.ts): every IndexedDB operation of
 * a save that adds a point and thins or budgets others away, of a restore by time, and of turning
 * history off, failed and crashed in turn. After each, the vault (live database, backups AND
 * history points, each read back through the checked path) is the state before or after, no chunk
 * is left that nothing references, and a retry succeeds.
 */
import 'fake-indexeddb/auto';
import { afterAll, describe, expect, it } from 'vitest';
import { readImage } from '../../worker/jobs/chunk-io';
import type { Service } from '../../worker/service';
import { VaultStore } from '../../worker/store/vault-store';
import { installFaults } from '../support/faulty-idb';
import { call, diskSnapshot, jobsIdle, orphanChunks, readDisk, settle, sqlJs, summarize } from '../support/vault-harness';
import { HOUR, MINUTE, MadeUpClock, openAt } from './history-support';

const faults = installFaults();
const T0 = Date.UTC(2026, 10, 28, 6, 0);
let counter = 0;
let points = 0;

interface Case {
  readonly name: string;
  /** Builds the history the operation starts from. */
  setup(service: Service, clock: MadeUpClock): Promise<void>;
  run(service: Service, clock: MadeUpClock): Promise<unknown>;
  /** What the next open asks for (the policy, or off). */
  readonly reopenWith?: false;
}

async function addBlob(service: Service, clock: MadeUpClock, ms = MINUTE): Promise<void> {
  clock.advance(ms);
  await call(service.exec('INSERT INTO b (data) VALUES (randomblob(70000))'));
  await call(service.flush());
}

const CASES: readonly Case[] = [
  {
    name: 'a save that adds a point and drops the oldest by the byte budget',
    setup: async (service, clock) => {
      for (let i = 0; i < 3; i++) await addBlob(service, clock);
    },
    run: (service, clock) => addBlob(service, clock),
  },
  {
    name: 'a save that thins points out of the window',
    setup: async (service, clock) => {
      for (let i = 0; i < 3; i++) await addBlob(service, clock);
    },
    run: (service, clock) => addBlob(service, clock, 3 * HOUR),
  },
  {
    name: 'a restore by time',
    setup: async (service, clock) => {
      for (let i = 0; i < 3; i++) await addBlob(service, clock);
    },
    run: (service, clock) => call(service.backupRestore({ at: clock.now() - 2 * MINUTE + 1 })),
  },
];

/** The vault as one comparable string: live, backups, and every history point's rows. */
async function snapshot(name: string): Promise<string> {
  const base = await diskSnapshot(name);
  const SQL = await sqlJs();
  const store = await VaultStore.open(name);
  try {
    const kept: string[] = [];
    for (const point of store.listPoints()) kept.push(`${point.at - T0}:${summarize(await readImage(store, point.manifest), SQL)}`);
    return `${base}; points [${kept.join(' ')}]`;
  } finally {
    store.close();
  }
}

async function prepare(item: Case): Promise<{ name: string; clock: MadeUpClock; service: Service; before: string }> {
  const name = `history-crash-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const clock = new MadeUpClock(T0);
  // The budget holds about two states' own chunks: each save pushes the oldest point out.
  const service = await openAt(name, clock, { keep: '1h', maxBytes: 200_000 });
  await call(service.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)'));
  await item.setup(service, clock);
  return { name, clock, service, before: await snapshot(name) };
}

describe('history: every IndexedDB operation failed or crashed in turn', () => {
  for (const item of CASES) {
    it(`${item.name}: the vault (points included) is the old or the new state`, async () => {
      const ref = await prepare(item);
      faults.arm({ at: Number.POSITIVE_INFINITY, effect: 'fail' });
      await item.run(ref.service, ref.clock);
      const operations = faults.count;
      faults.disarm();
      faults.kill();
      const after = await snapshot(ref.name);
      expect(after).not.toBe(ref.before);
      for (const effect of ['fail', 'crash'] as const) {
        for (let at = 1; at <= operations; at++) {
          const where = `${item.name}, ${effect} at operation ${at}`;
          const prepared = await prepare(item);
          faults.arm({ at, effect });
          const pending = settle(item.run(prepared.service, prepared.clock));
          const ended = await Promise.race([pending, faults.crashed.then(() => 'crashed' as const)]);
          faults.disarm();
          expect(faults.fired, where).toBe(true);
          points++;
          if (ended !== 'crashed' && !ended.ok) expect(['STORAGE', 'QUOTA_EXCEEDED'], `${where}: ${ended.message}`).toContain(ended.code);
          if (effect === 'fail') await jobsIdle(prepared.service);
          faults.kill();
          const disk = await readDisk(prepared.name);
          // Before recovery too, every stored chunk is named by a head, a point, a backup or a staging record.
          expect(orphanChunks(disk), `${where}: chunks nothing references`).toEqual([]);
          expect([prepared.before, after], `${where}: old or new state`).toContain(await snapshot(prepared.name));
          // The next page load: recovery, then the same operation again.
          const reopened = await openAt(prepared.name, prepared.clock);
          expect(orphanChunks(await readDisk(prepared.name)), `${where}: orphans after recovery`).toEqual([]);
          const retry = await settle(item.run(reopened, prepared.clock));
          expect(retry.ok ? 'OK' : `${retry.code}: ${retry.message}`, `${where}: retry`).toBe('OK');
          faults.kill();
          expect(orphanChunks(await readDisk(prepared.name)), `${where}: orphans after retry`).toEqual([]);
        }
      }
    });
  }
});

describe('history yields to the live database', () => {
  it('a save refused for quota drops the oldest half of the points and is saved', async () => {
    const { name, clock, service } = await prepare(CASES[0]!);
    const kept = await call(service.historyList({}));
    expect(kept.length).toBeGreaterThan(2);
    faults.arm({ at: 1, effect: 'fail', kinds: ['commit'], error: 'QuotaExceededError' });
    const saved = await settle(addBlob(service, clock));
    faults.disarm();
    expect(faults.fired).toBe(true);
    expect(saved).toEqual({ ok: true });
    const after = (await call(service.historyList({}))).map((p) => p.at);
    // The oldest half went; the rest, the state just replaced and the new one stay.
    expect(after).toEqual([...kept.slice(Math.ceil((kept.length - 1) / 2)).map((p) => p.at), clock.now()]);
    await service.close();
    expect(orphanChunks(await readDisk(name))).toEqual([]);
    const again = await openAt(name, clock);
    expect(await call(again.query('SELECT count(*) AS n FROM b'))).toEqual([{ n: 4 }]);
    await again.close();
  });
});

afterAll(() => {
  console.log(`history crash points: ${points}`);
});
