/**
 * Review regression: a clock that stands still or steps back (no forward jump): saves and restores never
 * share an `at`, and every listed point restores its own rows, across a reopen too.
 */
import 'fake-indexeddb/auto';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { call } from '../support/vault-harness';
import { MINUTE, MadeUpClock, openAt, rowNumbers, saveRow } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 9, 0);
const open: Service[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close({ force: true }).catch(() => undefined);
});

it('frozen and backward clocks: one point per save, each restoring its rows', async () => {
  const clock = new MadeUpClock(T0);
  const name = `review-collide-${Math.random().toString(36).slice(2, 8)}`;
  let service = await openAt(name, clock, { keep: '24h' });
  open.push(service);
  const expected = new Map<number, number[]>();
  const rowsSoFar: number[] = [];
  for (let n = 1; n <= 4; n++) {
    const at = await saveRow(service, clock, n, 0); // the clock does not move
    rowsSoFar.push(n);
    expected.set(n, [...rowsSoFar]);
    void at;
  }
  clock.advance(-30 * MINUTE); // steps back
  for (let n = 5; n <= 6; n++) {
    await saveRow(service, clock, n, 0);
    rowsSoFar.push(n);
    expected.set(n, [...rowsSoFar]);
  }
  await service.close();
  open.pop();
  clock.advance(-MINUTE);
  service = await openAt(name, clock);
  open.push(service);
  await saveRow(service, clock, 7, 0);
  rowsSoFar.push(7);
  const list = await call(service.historyList({}));
  const ats = list.map((p) => p.at);
  expect(new Set(ats).size).toBe(ats.length);
  // Points oldest first: T0 (empty), then saves 1..7 (the last is current).
  expect(list.length).toBe(8);
  for (let i = 1; i < list.length - 1; i++) {
    await call(service.backupRestore({ at: list[i]!.at }));
    expect(await rowNumbers(service)).toEqual(expected.get(i));
  }
});
