/**
 * Time travel over a made-up clock: every save's state stays restorable; a restore at a moment
 * gives exactly the rows saved by then; history survives a reopen; restores are points too.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import type { Service } from '../../worker/service';
import { DB_PREFIX, LIVE_HEAD } from '../../worker/store/schema';
import { call, jobsIdle, orphanChunks, readDisk, settle } from '../support/vault-harness';
import { HOUR, MINUTE, MadeUpClock, openAt, range, rowNumbers, saveRow } from './history-support';

const T0 = Date.UTC(2026, 10, 28, 9, 0);
let counter = 0;
const open: Service[] = [];
const fresh = (label: string) => `history-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
async function start(label: string, clock: MadeUpClock, history: Parameters<typeof openAt>[2] = { keep: '24h' }) {
  const name = fresh(label);
  const service = await openAt(name, clock, history);
  open.push(service);
  return { name, service };
}
afterEach(async () => {
  for (const service of open.splice(0)) await service.close({ force: true }).catch(() => undefined);
});

describe('restores by time', () => {
  it('gives exactly the rows saved by each instant between saves, and the state at an exact save time', async () => {
    const clock = new MadeUpClock(T0);
    const { service } = await start('between', clock);
    const savedAt = [];
    for (let n = 1; n <= 6; n++) savedAt.push(await saveRow(service, clock, n));
    // Restores happen later (within the hour every save is kept): each is a save of its own.
    clock.advance(10 * MINUTE);
    for (const i of [2, 0, 5, 3]) {
      clock.advance(1_000);
      await call(service.backupRestore({ at: savedAt[i]! + 4_999 }));
      expect(await rowNumbers(service)).toEqual(range(1, i + 1));
      clock.advance(1_000);
      await call(service.backupRestore({ at: new Date(savedAt[i]!) }));
      expect(await rowNumbers(service)).toEqual(range(1, i + 1));
    }
  });

  it('a restore is itself a point: the state just before it, and its undo backup, bring the rows back', async () => {
    const clock = new MadeUpClock(T0);
    const { service } = await start('undo', clock);
    const first = await saveRow(service, clock, 1);
    for (let n = 2; n <= 4; n++) await saveRow(service, clock, n);
    const beforeRestore = clock.advance(30_000);
    clock.advance(1);
    const result = await call(service.backupRestore({ at: first }));
    expect(await rowNumbers(service)).toEqual([1]);
    // Writes after the restore are history too.
    await saveRow(service, clock, 10);
    expect(await rowNumbers(service)).toEqual([1, 10]);
    clock.advance(1_000);
    const again = await call(service.backupRestore({ at: beforeRestore }));
    expect(await rowNumbers(service)).toEqual([1, 2, 3, 4]);
    // The usual undo too: each restore kept the state it replaced as a backup.
    clock.advance(1_000);
    await call(service.backupRestore({ backupId: again.previousBackupId! }));
    expect(await rowNumbers(service)).toEqual([1, 10]);
    clock.advance(1_000);
    await call(service.backupRestore({ backupId: result.previousBackupId! }));
    expect(await rowNumbers(service)).toEqual([1, 2, 3, 4]);
  });

  it('restores into another name, leaving the live database as it is', async () => {
    const clock = new MadeUpClock(T0);
    const { service, name } = await start('into', clock);
    await saveRow(service, clock, 1);
    const second = await saveRow(service, clock, 2);
    await saveRow(service, clock, 3);
    const target = `${name}-copy`;
    await call(service.backupRestore({ at: second + 1, into: target }));
    expect(await rowNumbers(service)).toEqual([1, 2, 3]);
    const copy = await openAt(target, clock);
    open.push(copy);
    expect(await rowNumbers(copy)).toEqual([1, 2]);
  });

  it('answers NOT_FOUND before the first save and INVALID_ARGUMENT for a bad moment', async () => {
    const clock = new MadeUpClock(T0);
    const { service } = await start('errors', clock);
    await saveRow(service, clock, 1);
    expect(await settle(call(service.backupRestore({ at: T0 - 1 })))).toMatchObject({ code: 'NOT_FOUND' });
    for (const at of ['yesterday', Number.NaN, -5, new Date(Number.NaN)]) {
      expect(await settle(call(service.backupRestore({ at: at as number })))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(await settle(call(service.backupRestore({ at: T0, tables: ['t'] } as never)))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await settle(call(service.historyList({ since: 'soon' as never })))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await settle(call(service.download({ at: T0 - 1 })))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await settle(call(service.backupCreate({ at: T0 - 1 })))).toMatchObject({ code: 'NOT_FOUND' });
    for (const history of [{ keep: 'forever' }, { keep: 10 }, { keep: '2h', maxBytes: -1 }, 'on']) {
      expect(await settle(openAt(fresh('bad-policy'), clock, history as never))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});

describe('the history list', () => {
  it('lists every save as a point, the current state last, within since..until', async () => {
    const clock = new MadeUpClock(T0);
    const { service } = await start('list', clock);
    const times = [];
    for (let n = 1; n <= 4; n++) times.push(await saveRow(service, clock, n));
    const all = await call(service.historyList({}));
    expect(all.map((p) => p.at)).toEqual([T0, ...times]);
    expect(all.at(-1)).toMatchObject({ at: times[3], current: true });
    expect(all.slice(0, -1).every((p) => p.current === undefined)).toBe(true);
    expect(all[1]!.changes).toBeGreaterThan(0);
    expect(all[2]!.sizeBytes).toBe(all[2]!.pageCount * 4096);
    const some = await call(service.historyList({ since: times[1]!, until: new Date(times[2]!) }));
    expect(some.map((p) => p.at)).toEqual([times[1], times[2]]);
  });

  it('keeps nothing while history is off (the default), and removes every point when turned off', async () => {
    const clock = new MadeUpClock(T0);
    const name = fresh('off');
    const service = await openAt(name, clock);
    await saveRow(service, clock, 1);
    await saveRow(service, clock, 2);
    expect((await call(service.historyList({}))).map((p) => p.current)).toEqual([true]);
    await service.close();
    const on = await openAt(name, clock, { keep: '1h' });
    for (let n = 3; n <= 5; n++) await saveRow(on, clock, n);
    expect(await call(on.historyList({}))).toHaveLength(4);
    const before = (await readDisk(name)).chunkKeys.length;
    await on.close();
    const off = await openAt(name, clock, false);
    open.push(off);
    expect(await call(off.historyList({}))).toHaveLength(1);
    const disk = await readDisk(name);
    expect(disk.points.size).toBe(0);
    expect(disk.chunkKeys.length).toBeLessThan(before);
    expect(orphanChunks(disk)).toEqual([]);
    expect(await rowNumbers(off)).toEqual(range(1, 5));
  });
});

describe('history on disk', () => {
  it('survives a reopen (policy included): restores at instants between saves still give their rows', async () => {
    const clock = new MadeUpClock(T0);
    const { service, name } = await start('reopen', clock, { keep: '6h' });
    const times = [];
    for (let n = 1; n <= 3; n++) times.push(await saveRow(service, clock, n));
    await service.close();
    const again = await openAt(name, clock);
    open.push(again);
    times.push(await saveRow(again, clock, 4));
    expect((await call(again.historyList({}))).map((p) => p.at)).toEqual([T0, ...times]);
    await call(again.backupRestore({ at: times[1]! + 1 }));
    expect(await rowNumbers(again)).toEqual([1, 2]);
    expect(orphanChunks(await readDisk(name))).toEqual([]);
  });

  it('a point becomes a regular backup (its manifest, no chunk written) and a file; both outlive the point', async () => {
    const clock = new MadeUpClock(T0);
    const { service, name } = await start('backup', clock, { keep: '1h' });
    const first = await saveRow(service, clock, 1);
    await saveRow(service, clock, 2);
    const { backupId } = await call(service.backupCreate({ at: first + 10 }));
    const info = await call(service.backupWait(backupId));
    expect(info.storedBytes).toBe(0);
    expect(info.tables).toEqual([{ name: 't', rows: 1 }]);
    const file = await call(service.download({ at: first + 10 }));
    expect(file.filename).toMatch(/-at-.*\.sqlite$/);
    expect(new TextDecoder().decode(new Uint8Array(await file.blob.arrayBuffer()).subarray(0, 15))).toBe('SQLite format 3');
    // Out of the window: the point goes, the backup keeps the chunks it shares.
    clock.advance(2 * HOUR);
    await saveRow(service, clock, 3);
    expect((await call(service.historyList({}))).some((p) => p.at === first)).toBe(false);
    await call(service.backupRestore({ backupId }));
    expect(await rowNumbers(service)).toEqual([1]);
    await jobsIdle(service);
    expect(orphanChunks(await readDisk(name))).toEqual([]);
  });

  it('a dropped backup and a retention sweep leave the points they share chunks with', async () => {
    const clock = new MadeUpClock(T0);
    const { service, name } = await start('drop', clock);
    const first = await saveRow(service, clock, 1);
    const backups = [];
    for (let i = 0; i < 3; i++) {
      const { backupId } = await call(service.backupCreate({}));
      backups.push((await call(service.backupWait(backupId))).backupId);
    }
    await saveRow(service, clock, 2);
    await call(service.backupDrop(backups[0]!));
    await call(service.retentionSet({ keepLast: 1 }));
    const swept = await call(service.retentionApply({}));
    expect(swept.removed.map((r) => r.backupId)).toEqual([backups[1]]);
    expect(orphanChunks(await readDisk(name))).toEqual([]);
    await call(service.backupRestore({ at: first }));
    expect(await rowNumbers(service)).toEqual([1]);
  });

  it('a store written by the previous version (1, no points) opens with its data, and keeps history from then on', async () => {
    const clock = new MadeUpClock(T0);
    const { service, name } = await start('v1-source', clock, false);
    await saveRow(service, clock, 1);
    await service.close();
    const source = await readDisk(name);
    const chunks = await (async () => {
      const db = await openDB(DB_PREFIX + name);
      try {
        return await Promise.all(source.chunkKeys.map(async (key) => [key, await db.get('chunks', key)] as const));
      } finally {
        db.close();
      }
    })();
    const old = fresh('v1');
    const v1 = await openDB(DB_PREFIX + old, 1, {
      upgrade(db) {
        for (const store of ['chunks', 'heads', 'backups', 'jobs', 'staging', 'meta']) db.createObjectStore(store);
      },
    });
    for (const [key, value] of chunks) await v1.put('chunks', value, key);
    await v1.put('heads', source.heads.get(LIVE_HEAD), LIVE_HEAD);
    v1.close();
    const upgraded = await openAt(old, clock, { keep: '1h' });
    open.push(upgraded);
    expect(await rowNumbers(upgraded)).toEqual([1]);
    const second = await saveRow(upgraded, clock, 2);
    await saveRow(upgraded, clock, 3);
    await call(upgraded.backupRestore({ at: second }));
    expect(await rowNumbers(upgraded)).toEqual([1, 2]);
  });
});
