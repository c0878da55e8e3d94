/**
 * Review regression: download({ at }) / restore({ at }) called while a save's commit thins the point they
 * resolved: the moment must be resolved inside the store's lock, with the hold.
 */
import 'fake-indexeddb/auto';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { call, settle } from '../support/vault-harness';
import { HOUR, MINUTE, MadeUpClock, openAt } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 9, 0);
const open: Service[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close({ force: true }).catch(() => undefined);
});

it('a download by time racing the save that thins its point is never NOT_FOUND while an older point exists', async () => {
  const clock = new MadeUpClock(T0);
  const service = await openAt(`attack-race-${Math.random().toString(36).slice(2, 8)}`, clock, { keep: '24h' });
  open.push(service);
  await call(service.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, data BLOB)'));
  await call(service.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) INSERT INTO big (id, data) SELECT x, randomblob(10000) FROM c'));
  // A at 09:01 (own slot), P at 09:11, Q at 09:12 (same 5-minute slot): once over an hour old, P goes.
  clock.at = T0 + MINUTE; await call(service.exec('INSERT INTO big (data) VALUES (1)')); await call(service.flush());
  clock.at = T0 + 11 * MINUTE; await call(service.exec('INSERT INTO big (data) VALUES (2)')); await call(service.flush());
  const p = clock.now();
  clock.at = T0 + 12 * MINUTE; await call(service.exec('INSERT INTO big (data) VALUES (3)')); await call(service.flush());
  clock.at = T0 + 13 * MINUTE; await call(service.exec('INSERT INTO big (data) VALUES (4)')); await call(service.flush());
  // The save that thins P, with many fresh chunks so its commit takes a while.
  clock.at = T0 + 2 * HOUR;
  await call(service.exec('UPDATE big SET data = randomblob(10000)'));
  const outcomes: string[] = [];
  let saving = true;
  const flush = call(service.flush()).finally(() => (saving = false));
  const tries: Promise<void>[] = [];
  while (saving) {
    tries.push(settle(call(service.download({ at: p }))).then((r) => void outcomes.push(r.ok ? 'ok' : r.code)));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await flush;
  await Promise.all(tries);
  const listed = (await call(service.historyList({}))).map((x) => x.at);
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  expect(listed.includes(p)).toBe(false);
  expect(counts['NOT_FOUND'] ?? 0).toBe(0);
});
