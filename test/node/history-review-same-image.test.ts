/**
 * Review regression: a restore whose image equals the head (restore "to now", or a backup equal to the head)
 * commits a new head with a later savedAt but keeps no point for the replaced head: the state in
 * force between the old savedAt and the restore must stay in history (it did not, once).
 */
import 'fake-indexeddb/auto';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { call, settle } from '../support/vault-harness';
import { MadeUpClock, openAt, rowNumbers, saveRow } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 9, 0);
const open: Service[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close({ force: true }).catch(() => undefined);
});
const fresh = (l: string) => `attack-same-${l}-${Math.random().toString(36).slice(2, 8)}`;

it('restore at "now" (state unchanged) keeps the state saved before it restorable at its own instant', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(fresh('now'), clock, { keep: '24h' });
  open.push(service);
  await saveRow(service, clock, 1); // state [1]
  const t2 = await saveRow(service, clock, 2); // state [1,2], head
  clock.advance(60_000);
  // "Put back the current state" (a future/now moment is accepted): image equals the head.
  await call(service.backupRestore({ at: clock.now() }));
  expect(await rowNumbers(service)).toEqual([1, 2]);
  // Between t2 and the restore the database held [1,2]: a restore at t2 + 1 must give [1,2].
  clock.advance(1000);
  await call(service.exec('DELETE FROM t'));
  await call(service.flush());
  clock.advance(1000);
  await call(service.backupRestore({ at: t2 + 1 }));
  const got = await rowNumbers(service);
  expect(got).toEqual([1, 2]);
});

it('restoring a backup equal to the head loses the interval the head covered', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(fresh('bk'), clock, { keep: '24h' });
  open.push(service);
  await saveRow(service, clock, 1);
  const t2 = await saveRow(service, clock, 2);
  const { backupId } = await call(service.backupCreate({}));
  for (;;) { const j = await call(service.backupHistory()); if (!j.some((x) => x.state === 'queued' || x.state === 'running')) break; await new Promise((r) => setTimeout(r, 5)); }
  clock.advance(60_000);
  await call(service.backupRestore({ backupId })); // same image as the head
  clock.advance(60_000);
  await call(service.exec('DELETE FROM t'));
  await call(service.flush());
  clock.advance(1000);
  expect((await settle(call(service.backupRestore({ at: t2 + 30_000 })))).ok).toBe(true);
  expect(await rowNumbers(service)).toEqual([1, 2]);
});

it('with a single save, restoring it to now removes the only earlier state', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(fresh('one'), clock, { keep: '24h' });
  open.push(service);
  const t1 = await saveRow(service, clock, 1);
  clock.advance(60_000);
  await call(service.backupRestore({ at: clock.now() }));
  const r = await settle(call(service.backupRestore({ at: t1 })));
  expect(r.ok).toBe(true);
  expect(await rowNumbers(service)).toEqual([1]);
});
