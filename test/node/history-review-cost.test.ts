/**
 * Review regressions: with a byte budget, the first save after a reopen must not read every chunk
 * only history holds to learn its size (records carry the sizes); and the budget holds after a
 * commit that carries no time (a drop that leaves chunks to history alone).
 */
import 'fake-indexeddb/auto';
import { afterEach, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { call } from '../support/vault-harness';
import { MINUTE, MadeUpClock, openAt } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 9, 0);
const open: Service[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close({ force: true }).catch(() => undefined);
});
const fresh = (l: string) => `review-cost-${l}-${Math.random().toString(36).slice(2, 8)}`;

/** Counts reads of the chunks object store while `body` runs. */
async function chunkReads(body: () => Promise<void>): Promise<number> {
  const get = IDBObjectStore.prototype.get;
  let reads = 0;
  IDBObjectStore.prototype.get = function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
    if (this.name === 'chunks') reads++;
    return get.call(this, key);
  };
  try {
    await body();
  } finally {
    IDBObjectStore.prototype.get = get;
  }
  return reads;
}

it('the first budgeted save after a reopen reads no chunk', { timeout: 120_000 }, async () => {
  const clock = new MadeUpClock(T0);
  const name = fresh('reopen');
  let service = await openAt(name, clock, { keep: '24h', maxBytes: 500_000_000 });
  await call(service.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)'));
  await call(service.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) INSERT INTO blob (id, data) SELECT x, randomblob(10000) FROM c'));
  for (let i = 0; i < 8; i++) {
    clock.advance(MINUTE);
    await call(service.exec('UPDATE blob SET data = randomblob(10000)'));
    await call(service.flush());
  }
  const before = (await call(service.storage())).historyBytes;
  expect(before).toBeGreaterThan(8 * 150_000);
  await service.close();
  service = await openAt(name, clock);
  open.push(service);
  clock.advance(MINUTE);
  await call(service.exec('INSERT INTO blob (data) VALUES (1)'));
  expect(await chunkReads(async () => void (await call(service.flush())))).toBe(0);
  expect((await call(service.storage())).historyBytes).toBeGreaterThanOrEqual(before);
});

it('a dropped backup does not leave historyBytes above maxBytes', async () => {
  const clock = new MadeUpClock(T0);
  const maxBytes = 100_000;
  const service = await openAt(fresh('budget'), clock, { keep: '24h', maxBytes });
  open.push(service);
  await call(service.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)'));
  await call(service.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30) INSERT INTO blob (id, data) SELECT x, randomblob(10000) FROM c'));
  clock.advance(MINUTE);
  await call(service.flush());
  const { backupId } = await call(service.backupCreate({}));
  await call(service.backupWait(backupId));
  // Every blob rewritten: the previous state's ~300 KB of chunks are named by a point and the backup.
  await call(service.exec('UPDATE blob SET data = randomblob(10000)'));
  clock.advance(MINUTE);
  await call(service.flush());
  const pointsBefore = (await call(service.historyList({}))).length;
  expect((await call(service.storage())).historyBytes).toBeLessThanOrEqual(maxBytes);
  await call(service.backupDrop(backupId));
  expect((await call(service.storage())).historyBytes).toBeLessThanOrEqual(maxBytes);
  expect((await call(service.historyList({}))).length).toBeLessThan(pointsBefore);
});
