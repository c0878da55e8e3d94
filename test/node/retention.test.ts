import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { BackupInfo } from '../../src/protocol';
import { checkPolicy, planRetention, type RetentionCandidate } from '../../worker/jobs/retention';
import { VaultStore } from '../../worker/store/vault-store';
import { LIVE_HEAD } from '../../worker/store/schema';
import { addRows, call, jobsIdle, openService, orphanChunks, readDisk } from '../support/vault-harness';

/** A full page-copy backup made at a UTC time like '2026-03-15T18:00'. */
function made(at: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { backupId: at, createdAt: Date.parse(`${at}:00Z`), method: 'pages', tables: [], chunks: [], ...extra };
}

// 30 backups over two years, newest first. 2026-03-15 is a Sunday: ISO week 2026-W11 runs
// Monday 03-09 to Sunday 03-15, W10 03-02..03-08, W09 02-23..03-01, W08 02-16..02-22.
const THIRTY: RetentionCandidate[] = [
  made('2026-03-15T18:00'),
  made('2026-03-15T12:00'),
  made('2026-03-15T06:00'),
  made('2026-03-14T12:00'),
  made('2026-03-13T12:00'),
  made('2026-03-12T12:00'),
  made('2026-03-12T01:00'),
  made('2026-03-10T12:00'),
  made('2026-03-09T12:00'),
  made('2026-03-08T12:00'),
  made('2026-03-05T12:00'),
  made('2026-03-02T12:00'),
  made('2026-03-01T12:00'),
  made('2026-02-25T12:00'),
  made('2026-02-20T12:00'),
  made('2026-02-14T12:00'),
  made('2026-02-07T12:00'),
  made('2026-02-01T12:00'),
  made('2026-01-28T12:00'),
  made('2026-01-20T12:00', { verifiedAt: 1, verifyFailed: 'chunk 3 is damaged' }), // failed: does not count as verified
  made('2026-01-10T12:00', { method: 'auto', auto: 'before-restore' }), // the latest restore's undo
  made('2026-01-01T12:00'),
  made('2025-12-31T12:00'),
  made('2025-12-20T12:00'),
  made('2025-11-15T12:00'),
  made('2025-10-01T12:00'),
  made('2025-09-01T12:00', { method: 'auto', auto: 'before-restore' }), // an older restore's undo: the other of the last 2 automatic backups
  made('2025-06-01T12:00', { verifiedAt: 1 }), // the newest verified full backup
  made('2025-01-01T12:00', { verifiedAt: 1 }),
  made('2024-12-31T12:00'), // used by a running job
];

describe('retention planning (restic-style keep rules)', () => {
  it('keeps exactly the expected 18 of 30 backups, with every protection honoured', () => {
    // Shuffled input: the planner must not depend on the order it is given.
    const shuffled = [...THIRTY].sort((a, b) => (a.backupId.slice(-7) < b.backupId.slice(-7) ? -1 : 1));
    const plan = planRetention(shuffled, { keepLast: 2, keepDaily: 5, keepWeekly: 4, keepMonthly: 6 }, { inUse: new Set(['2024-12-31T12:00']) });
    const kept = Object.fromEntries(plan.kept.map((d) => [d.backupId, d.reason]));
    expect(Object.keys(kept)).toEqual([
      '2026-03-15T18:00', // last 2, and daily/weekly/monthly
      '2026-03-15T12:00', // last 2
      '2026-03-14T12:00', // daily
      '2026-03-13T12:00', // daily
      '2026-03-12T12:00', // daily (the newest of that day)
      '2026-03-10T12:00', // daily (the fifth day with a backup)
      '2026-03-08T12:00', // weekly 2026-W10
      '2026-03-01T12:00', // weekly 2026-W09
      '2026-02-25T12:00', // monthly 2026-02
      '2026-02-20T12:00', // weekly 2026-W08
      '2026-01-28T12:00', // monthly 2026-01
      '2026-01-10T12:00', // latest restore's undo
      '2025-12-31T12:00', // monthly 2025-12
      '2025-11-15T12:00', // monthly 2025-11
      '2025-10-01T12:00', // monthly 2025-10
      '2025-09-01T12:00', // the last 2 automatic backups (its own group)
      '2025-06-01T12:00', // newest verified
      '2024-12-31T12:00', // in use
    ]);
    expect(plan.removed.map((d) => d.backupId)).toEqual([
      '2026-03-15T06:00',
      '2026-03-12T01:00',
      '2026-03-09T12:00',
      '2026-03-05T12:00',
      '2026-03-02T12:00',
      '2026-02-14T12:00',
      '2026-02-07T12:00',
      '2026-02-01T12:00',
      '2026-01-20T12:00',
      '2026-01-01T12:00',
      '2025-12-20T12:00',
      '2025-01-01T12:00',
    ]);
    expect(kept['2026-03-15T12:00']).toBe('one of the last 2 full backups');
    expect(kept['2026-03-08T12:00']).toBe('newest of weekly 2026-W10 (full backups)');
    expect(kept['2026-01-28T12:00']).toBe('newest of monthly 2026-01 (full backups)');
    expect(kept['2026-01-10T12:00']).toBe('one of the last 2 automatic backups');
    expect(kept['2025-06-01T12:00']).toBe('the newest verified full backup');
    expect(kept['2024-12-31T12:00']).toBe('in use by a running job');
    expect(plan.removed.every((d) => d.reason === 'not selected by any keep rule')).toBe(true);
  });

  it('buckets weeks by ISO week: 2020-12-31 and 2021-01-03 are both in 2020-W53', () => {
    const plan = planRetention([made('2020-12-31T12:00'), made('2021-01-03T12:00'), made('2021-01-04T12:00')], { keepWeekly: 2 });
    expect(plan.kept.map((d) => d.reason)).toEqual(['newest of weekly 2021-W01 (full backups)', 'newest of weekly 2020-W53 (full backups)']);
    expect(plan.removed.map((d) => d.backupId)).toEqual(['2020-12-31T12:00']);
  });

  it('counts for maxBytes only the bytes removal frees: chunks shared with kept backups or the live database cost nothing', () => {
    const chunkBytes = new Map([
      ['a', 100],
      ['b', 50],
      ['c', 30],
      ['live', 1_000],
    ]);
    const liveKeys = new Set(['live']);
    // o1 and o2 share chunk a: removing o1 alone frees nothing; both must go to free a.
    const shared = [made('2026-01-04T00:00', { chunks: ['c', 'live'] }), made('2026-01-03T00:00', { chunks: ['b'] }), made('2026-01-02T00:00', { chunks: ['a', 'live'] }), made('2026-01-01T00:00', { chunks: ['a'] })];
    // Bounded: a + b + c = 180 (the live chunk never counts).
    expect(planRetention(shared, { maxBytes: 180 }, { chunkBytes, liveKeys }).removed).toEqual([]);
    const cap = planRetention(shared, { maxBytes: 130 }, { chunkBytes, liveKeys });
    expect(cap.removed).toEqual([
      { backupId: '2026-01-02T00:00', reason: 'over maxBytes (130 bytes)' },
      { backupId: '2026-01-01T00:00', reason: 'over maxBytes (130 bytes)' },
    ]);
    // Oldest first, strictly: a small old backup goes before a big newer one, even when removing
    // only the big one would have been enough.
    const small = [made('2026-01-03T00:00', { chunks: ['c'] }), made('2026-01-02T00:00', { chunks: ['a'] }), made('2026-01-01T00:00', { chunks: ['b'] })];
    expect(planRetention(small, { maxBytes: 90 }, { chunkBytes, liveKeys }).removed.map((d) => d.backupId)).toEqual(['2026-01-02T00:00', '2026-01-01T00:00']);
    // A backup whose chunks a protected one holds frees nothing: it is not removed for maxBytes.
    const pinned = [made('2026-01-02T00:00', { chunks: ['a'], verifiedAt: 1 }), made('2026-01-01T00:00', { chunks: ['a'] })];
    const unreachable = planRetention(pinned, { maxBytes: 10 }, { chunkBytes, liveKeys });
    expect(unreachable.removed).toEqual([]);
    expect(unreachable.kept.map((d) => d.backupId)).toEqual(['2026-01-02T00:00', '2026-01-01T00:00']);
  });

  it('applies the keep rules to each group: full, partial per table set (and filters), uploads, automatic', () => {
    const partial = (at: string, tables: string[], filters?: Record<string, string>) =>
      made(at, { method: 'vacuum', partial: true, tables: tables.map((name) => ({ name, rows: 1 })), ...(filters ? { filters } : {}) });
    const backups = [
      partial('2026-01-03T20:00', ['orders', 'people']),
      partial('2026-01-03T19:00', ['People', 'Orders']), // the same set, other case and order
      partial('2026-01-03T18:00', ['orders', 'people'], { orders: 'year = 2025' }),
      partial('2026-01-03T17:00', ['orders']),
      partial('2026-01-03T16:00', ['orders']),
      made('2026-01-03T15:00', { method: 'upload' }),
      made('2026-01-03T14:00', { method: 'upload' }),
      made('2026-01-03T13:00', { method: 'auto', auto: 'before-restore' }),
      made('2026-01-03T12:00', { method: 'auto', auto: 'before-restore' }),
      made('2026-01-03T11:00', { method: 'auto', auto: 'before-restore' }),
      made('2026-01-02T00:00', { method: 'vacuum' }),
      made('2026-01-01T00:00'),
    ];
    const plan = planRetention(backups, { keepLast: 1 });
    expect(plan.kept).toEqual([
      { backupId: '2026-01-03T20:00', reason: 'one of the last 1 partial backups of orders, people' },
      { backupId: '2026-01-03T18:00', reason: 'one of the last 1 partial backups of orders, people (orders WHERE year = 2025)' },
      { backupId: '2026-01-03T17:00', reason: 'one of the last 1 partial backups of orders' },
      { backupId: '2026-01-03T15:00', reason: 'one of the last 1 uploads' },
      { backupId: '2026-01-03T13:00', reason: 'one of the last 1 automatic backups' },
      { backupId: '2026-01-02T00:00', reason: 'one of the last 1 full backups' },
    ]);
    expect(plan.removed.map((d) => d.backupId)).toEqual(['2026-01-03T19:00', '2026-01-03T16:00', '2026-01-03T14:00', '2026-01-03T12:00', '2026-01-03T11:00', '2026-01-01T00:00']);
  });

  it('never removes a protected backup, even when keepLast is 0', () => {
    const backups = [
      made('2026-01-04T00:00', { method: 'auto', auto: 'before-restore' }),
      made('2026-01-03T00:00', { partial: true, verifiedAt: 1 }),
      made('2026-01-02T00:00'),
      made('2026-01-01T00:00', { verifiedAt: 1 }),
    ];
    const plan = planRetention(backups, { keepLast: 0 });
    // A verified partial backup is not "the newest verified": the verified full one stays.
    expect(plan.kept).toEqual([
      { backupId: '2026-01-04T00:00', reason: 'made by the latest restore (undoes it)' },
      { backupId: '2026-01-01T00:00', reason: 'the newest verified full backup' },
    ]);
    expect(plan.removed.map((d) => d.backupId)).toEqual(['2026-01-03T00:00', '2026-01-02T00:00']);
  });

  it('accepts only known rules with non-negative integers (INVALID_ARGUMENT otherwise)', () => {
    expect(checkPolicy({ keepLast: 3, maxBytes: 1e9, keepDaily: undefined })).toEqual({ keepLast: 3, maxBytes: 1e9 });
    for (const bad of [null, [], 'keepLast', { keepDays: 3 }, { keepLast: -1 }, { keepLast: 1.5 }, { keepWeekly: '2' }]) {
      expect(() => checkPolicy(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

/** Waits for a backup job and returns its info. */
async function backupOf(service: Awaited<ReturnType<typeof openService>>, options: Parameters<typeof service.backupCreate>[0]): Promise<BackupInfo> {
  const { backupId } = await call(service.backupCreate(options));
  return call(service.backupWait(backupId));
}

describe('retention through the worker service', () => {
  it('keeps nightly full backups beside daily partial exports, and the newest verified full one', async () => {
    let service = await openService('retention-groups');
    await addRows(service, 50, 1);
    await call(service.exec("CREATE TABLE note (body TEXT); INSERT INTO note VALUES ('n')"));
    await call(service.flush());
    const full = await backupOf(service, {});
    const items = await backupOf(service, { tables: ['item'] });
    const notes = await backupOf(service, { tables: ['note'] });
    const filtered = await backupOf(service, { tables: { item: 'seed = 1' } });
    expect(filtered).toMatchObject({ partial: true, filters: { item: 'seed = 1' } });

    // Copies with made-up dates (the planner only reads what a backup is and when it was made),
    // written behind the closed vault's back, then the vault is opened again.
    await call(service.close());
    const store = await VaultStore.open('retention-groups');
    const at = (day: number, hour: number) => Date.UTC(2026, 0, day, hour);
    const copies = new Map<string, { from: BackupInfo; createdAt: number; extra?: Partial<BackupInfo> }>([
      ['full-1', { from: full, createdAt: at(1, 2), extra: { verifiedAt: at(1, 3) } }],
      ['full-2', { from: full, createdAt: at(2, 2) }],
      ['full-3', { from: full, createdAt: at(3, 2) }],
      ...[1, 2, 3, 4, 5, 6, 7].map((d) => [`item-${d}`, { from: items, createdAt: at(d, 18), ...(d === 7 ? { extra: { verifiedAt: at(7, 19) } } : {}) }] as const),
      ...[5, 6, 7].map((d) => [`note-${d}`, { from: notes, createdAt: at(d, 19) }] as const),
      ...[6, 7].map((d) => [`filtered-${d}`, { from: filtered, createdAt: at(d, 20) }] as const),
      ['upload-2', { from: full, createdAt: at(2, 12), extra: { method: 'upload' } }],
      ['upload-4', { from: full, createdAt: at(4, 12), extra: { method: 'upload' } }],
      ...[1, 3, 5].map((d) => [`auto-${d}`, { from: full, createdAt: at(d, 12), extra: { method: 'auto', auto: 'before-restore' } }] as const),
    ]);
    const records = new Map<string, ReturnType<typeof store.backup> | null>([...[full, items, notes, filtered].map((b) => [b.backupId, null] as const)]);
    for (const [id, copy] of copies) {
      const record = store.backup(copy.from.backupId)!;
      records.set(id, { manifest: record.manifest, info: { ...record.info, ...copy.extra, backupId: id, createdAt: copy.createdAt } });
    }
    await store.commit({ backups: records as Map<string, NonNullable<ReturnType<typeof store.backup>> | null> });
    store.close();
    service = await openService('retention-groups');

    await call(service.retentionSet({ keepLast: 1, keepDaily: 2 }));
    const dry = await call(service.retentionApply({ dryRun: true }));
    const applied = await call(service.retentionApply({}));
    expect(applied).toEqual(dry);
    const kept = ['filtered-7', 'note-7', 'item-7', 'filtered-6', 'note-6', 'item-6', 'auto-5', 'upload-4', 'auto-3', 'full-3', 'upload-2', 'full-2', 'full-1'];
    expect(applied.kept.map((d) => d.backupId)).toEqual(kept);
    expect(applied.removed.map((d) => d.backupId)).toEqual(['note-5', 'item-5', 'item-4', 'item-3', 'item-2', 'item-1', 'auto-1']);
    expect(applied.kept.find((d) => d.backupId === 'full-1')!.reason).toBe('the newest verified full backup');
    expect((await call(service.backupList())).map((b) => b.backupId)).toEqual(kept);
    await call(service.close());
  });

  it('maxBytes bounds the bytes removing backups frees: chunks shared with the live database or kept backups do not count', async () => {
    const service = await openService('retention-bytes');
    // Three generations of the data, each backed up right after a save: each backup adds ~0
    // bytes when made (its chunks are the live database's), and holds them alone once the live
    // database moved on.
    const ids: string[] = [];
    for (const seed of [1, 2, 3]) {
      await call(service.exec('DROP TABLE IF EXISTS item'));
      await addRows(service, 400, seed);
      await call(service.flush());
      ids.push((await backupOf(service, {})).backupId);
    }
    await call(service.exec('DROP TABLE IF EXISTS item'));
    await addRows(service, 400, 4);
    await call(service.flush());
    const [oldest, middle, newest] = ids as [string, string, string];
    /** Stored bytes of the chunks the listed backups reference and the live database does not. */
    const backupBytes = async (backupIds: readonly string[]) => {
      // A second connection reads what is stored now (the service's own store is not exposed).
      const store = await VaultStore.open('retention-bytes');
      try {
        const live = new Set(store.head(LIVE_HEAD)!.manifest.chunks);
        return await store.storedBytes(backupIds.flatMap((id) => store.backup(id)!.manifest.chunks).filter((key) => !live.has(key)));
      } finally {
        store.close();
      }
    };
    const all = await backupBytes(ids);
    const twoNewest = await backupBytes([middle, newest]);
    expect(twoNewest).toBeLessThan(all);
    expect(twoNewest).toBeGreaterThan(100_000); // each generation holds ~120 kB of incompressible text

    // Just under everything: the oldest goes, and only it.
    await call(service.retentionSet({ maxBytes: all - 1 }));
    expect((await call(service.retentionApply({ dryRun: true }))).removed.map((d) => d.backupId)).toEqual([oldest]);
    // Exactly the two newest: the same; one byte less: the middle one goes too.
    await call(service.retentionSet({ maxBytes: twoNewest }));
    const dry = await call(service.retentionApply({ dryRun: true }));
    expect(dry.removed.map((d) => d.backupId)).toEqual([oldest]);
    await call(service.retentionSet({ maxBytes: twoNewest - 1 }));
    expect((await call(service.retentionApply({ dryRun: true }))).removed.map((d) => d.backupId)).toEqual([middle, oldest]);

    // Applied: what the store holds for backups beyond the live database now fits the bound.
    await call(service.retentionSet({ maxBytes: twoNewest }));
    const before = await readDisk('retention-bytes');
    const applied = await call(service.retentionApply({}));
    expect(applied).toEqual(dry);
    await jobsIdle(service);
    const after = await readDisk('retention-bytes');
    expect([...after.backups.keys()].sort()).toEqual([middle, newest].sort());
    expect(await backupBytes([middle, newest])).toBeLessThanOrEqual(twoNewest);
    expect(after.chunkKeys.length).toBeLessThan(before.chunkKeys.length);
    expect(orphanChunks(after)).toEqual([]);
    await call(service.close());
  });
});
