/**
 * Review regression: inputs a time-travel call should refuse with INVALID_ARGUMENT.
 */
import 'fake-indexeddb/auto';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { createService } from '../../worker/service';
import { call, settle } from '../support/vault-harness';
import { MadeUpClock, openAt, rowNumbers, saveRow } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 9, 0);
const open: Service[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close({ force: true }).catch(() => undefined);
});
const fresh = (l: string) => `attack-inputs-${l}-${Math.random().toString(36).slice(2, 8)}`;

it('refuses an `at` outside the range a Date can hold (1e300, 8.64e15 + 1)', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(fresh('range'), clock, { keep: '1h' });
  open.push(service);
  await saveRow(service, clock, 1);
  const outcomes: Record<string, string> = {};
  for (const at of [1e300, 8.64e15 + 1, Number.MAX_SAFE_INTEGER]) {
    const r = await settle(call(service.backupRestore({ at })));
    outcomes[`restore ${at}`] = r.ok ? 'ok' : r.code;
    const d = await settle(call(service.download({ at })));
    outcomes[`download ${at}`] = d.ok ? 'ok' : d.code;
  }
  const l = await settle(call(service.historyList({ until: 1e300 })));
  outcomes['list until 1e300'] = l.ok ? 'ok' : l.code;
  for (const v of Object.values(outcomes)) expect(v).toBe('INVALID_ARGUMENT');
});

it('a restore { at, from } names a remote: an unknown one fails and never restores the local point', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(fresh('from'), clock, { keep: '1h' });
  open.push(service);
  const t1 = await saveRow(service, clock, 1);
  await saveRow(service, clock, 2);
  clock.advance(1000);
  // No remote called "nowhere" was added: the local history must not stand in for it.
  const r = await settle(call(service.backupRestore({ at: t1, from: 'nowhere' } as never)));
  expect(r.ok).toBe(false);
  expect(await rowNumbers(service)).toEqual([1, 2]);
});

it('history options: the checks that hold', async () => {
  const bad: unknown[] = [true, null, 0, 'x', {}, { keep: '0m' }, { keep: 59_999 }, { keep: '1h ' }, { keep: '367d' }, { keep: Number.NaN }, { keep: '1h', maxBytes: -1 }, { keep: '1h', maxBytes: 1.5 }, { keep: '1h', maxBytes: '5' }, { keep: '1h', maxBytes: Number.NaN }];
  const seen: string[] = [];
  for (const history of bad) {
    const service = createService({ clock: new MadeUpClock(T0) });
    const r = await settle(call(service.open({ name: fresh('opt'), history } as never)));
    seen.push(`${JSON.stringify(history)} -> ${r.ok ? 'ok' : r.code}`);
    if (r.ok) open.push(service);
  }
  expect(seen.every((s) => s.endsWith('INVALID_ARGUMENT'))).toBe(true);
});

it('moments: the checks that hold', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(fresh('at'), clock, { keep: '1h' });
  open.push(service);
  await saveRow(service, clock, 1);
  const seen: string[] = [];
  for (const at of [Number.NaN, -1, '2026-11-28T09:00:00Z', new Date(Number.NaN), null, Infinity, {}, [T0], BigInt(T0)] as unknown[]) {
    for (const [verb, run] of [
      ['restore', () => service.backupRestore({ at } as never)],
      ['create', () => service.backupCreate({ at } as never)],
      ['download', () => service.download({ at } as never)],
      ['list', () => service.historyList({ since: at } as never)],
    ] as const) {
      const r = await settle(call(run() as Promise<never>));
      seen.push(`${verb} ${String(at)} -> ${r.ok ? 'ok' : r.code}`);
    }
  }
  const bad = seen.filter((s) => !s.endsWith('INVALID_ARGUMENT'));
  expect(bad).toEqual([]);
});
