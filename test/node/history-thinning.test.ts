/**
 * History thinning and the byte budget: which points a long run of saves leaves, and that what
 * only history holds never exceeds `maxBytes` (the chunks it frees are deleted in the same commit).
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { COARSE_SLOT_MS, MEDIUM_SLOT_MS, thinned } from '../../worker/store/history-plan';
import type { PointRecord } from '../../worker/store/schema';
import { call, orphanChunks, readDisk } from '../support/vault-harness';
import { HOUR, MINUTE, MadeUpClock, openAt, rowNumbers } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 0, 0);
const open: Service[] = [];
let counter = 0;
const fresh = (label: string) => `history-thin-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
afterEach(async () => {
  for (const service of open.splice(0)) await service.close({ force: true }).catch(() => undefined);
});

const point = (at: number): PointRecord => ({ at, manifest: { pageSize: 4096, pageCount: 0, sizeBytes: 0, chunkSize: 65536, chunks: [] } });

describe('the thinning tiers', () => {
  it('keeps every point of the last hour, the newest per 5 minutes up to 6 h, the newest per hour up to the window', () => {
    const now = T0 + 10 * HOUR;
    const points = Array.from({ length: 10 * 60 }, (_, i) => point(T0 + i * MINUTE + 1));
    const removed = thinned(points, now, 8 * HOUR);
    const kept = points.filter((p) => !removed.has(p.at)).map((p) => p.at);
    const age = (at: number) => now - at;
    expect(kept.filter((at) => age(at) <= HOUR)).toHaveLength(60);
    const medium = kept.filter((at) => age(at) > HOUR && age(at) <= 6 * HOUR);
    expect(new Set(medium.map((at) => Math.floor(at / MEDIUM_SLOT_MS))).size).toBe(medium.length);
    expect(medium.length).toBeGreaterThanOrEqual(59);
    const coarse = kept.filter((at) => age(at) > 6 * HOUR);
    expect(new Set(coarse.map((at) => Math.floor(at / COARSE_SLOT_MS))).size).toBe(coarse.length);
    expect(coarse.length).toBeGreaterThanOrEqual(2);
    expect(kept.every((at) => age(at) <= 8 * HOUR)).toBe(true);
    // Stable: thinning what it kept again, at the same time, removes nothing more.
    expect(thinned(points.filter((p) => !removed.has(p.at)), now, 8 * HOUR).size).toBe(0);
  });

  it('a vault saving every minute for 8 hours keeps the tiers, and every kept point restores its rows', async () => {
    const clock = new MadeUpClock(T0);
    const name = fresh('tiers');
    const service = await openAt(name, clock, { keep: '7h' });
    open.push(service);
    await call(service.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)'));
    for (let n = 1; n <= 8 * 60; n++) {
      clock.advance(MINUTE);
      await call(service.exec('INSERT INTO t (n, body) VALUES (?, ?)', [n, `row ${n}`]));
      await call(service.flush());
    }
    const now = clock.now();
    const list = await call(service.historyList({}));
    const ages = list.map((p) => now - p.at);
    expect(ages.every((a) => a <= 7 * HOUR)).toBe(true);
    expect(ages.filter((a) => a <= HOUR)).toHaveLength(61);
    const medium = list.filter((p) => now - p.at > HOUR && now - p.at <= 6 * HOUR);
    expect(new Set(medium.map((p) => Math.floor(p.at / MEDIUM_SLOT_MS))).size).toBe(medium.length);
    expect(list.length).toBeLessThan(61 + 61 + 3);
    // The oldest kept point holds the rows saved by its time.
    const oldest = list[0]!;
    clock.advance(1_000);
    await call(service.backupRestore({ at: oldest.at + 30_000 }));
    expect((await rowNumbers(service)).length).toBe((oldest.at - T0) / MINUTE);
    expect(orphanChunks(await readDisk(name))).toEqual([]);
  });
});

describe('the byte budget', () => {
  it('holds after every save: the oldest points go first, never the current state', async () => {
    const clock = new MadeUpClock(T0);
    const name = fresh('budget');
    const maxBytes = 400_000;
    const service = await openAt(name, clock, { keep: '24h', maxBytes });
    open.push(service);
    // ~1 MB of incompressible rows; each save rewrites one 100 KB slice.
    await call(service.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)'));
    await call(service.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) INSERT INTO blob (id, data) SELECT x, randomblob(10000) FROM c'));
    await call(service.flush());
    const saves = (await call(service.historyList({}))).map((p) => p.at);
    let sawHistory = false;
    for (let step = 0; step < 12; step++) {
      clock.advance(MINUTE);
      await call(service.exec('UPDATE blob SET data = randomblob(10000) WHERE id > ? AND id <= ?', [(step % 10) * 10, (step % 10) * 10 + 10]));
      await call(service.flush());
      saves.push(clock.now());
      const report = await call(service.storage());
      expect(report.historyBytes).toBeLessThanOrEqual(maxBytes);
      if (report.historyBytes > 0) sawHistory = true;
      const list = await call(service.historyList({}));
      expect(list.at(-1)!.current).toBe(true);
      // Oldest first: what is left is the newest run of saves.
      expect(list.map((p) => p.at)).toEqual(saves.slice(-list.length));
      if (step > 6) expect(list.length).toBeLessThan(saves.length);
    }
    expect(sawHistory).toBe(true);
    expect(orphanChunks(await readDisk(name))).toEqual([]);
  });

  it('storage() reports what history costs: 0 when off, the bytes only history holds when on', async () => {
    const clock = new MadeUpClock(T0);
    const off = await openAt(fresh('cost-off'), clock);
    open.push(off);
    const on = await openAt(fresh('cost-on'), clock, { keep: '1h' });
    open.push(on);
    for (const service of [off, on]) {
      await call(service.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)'));
      for (let i = 0; i < 3; i++) {
        clock.advance(MINUTE);
        await call(service.exec('INSERT INTO blob (data) VALUES (randomblob(100000))'));
        await call(service.flush());
      }
    }
    expect((await call(off.storage())).historyBytes).toBe(0);
    const report = await call(on.storage());
    // The first states' chunks that the live database no longer names (the last page of each grew).
    expect(report.historyBytes).toBeGreaterThan(0);
    expect(report.historyBytes).toBeLessThan(report.liveBytes);
  });
});
