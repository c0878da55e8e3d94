import { describe, expect, it } from 'vitest';
import { checkPolicy, planRetention, type RetentionCandidate } from '../../worker/jobs/retention';

/** A backup made at a UTC time like '2026-03-15T18:00'. */
function made(at: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return { backupId: at, createdAt: Date.parse(`${at}:00Z`), storedBytes: 100, ...extra };
}

// 30 backups over two years, newest first. 2026-03-15 is a Sunday: ISO week 2026-W11 runs
// Monday 03-09 to Sunday 03-15, W10 03-02..03-08, W09 02-23..03-01, W08 02-16..02-22.
const THIRTY: RetentionCandidate[] = [
  made('2026-03-15T18:00'),
  made('2026-03-15T12:00'),
  made('2026-03-15T06:00'),
  made('2026-03-14T12:00'),
  made('2026-03-13T12:00', { base: '2026-02-07T12:00' }), // an incremental on a chain of two
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
  made('2026-02-07T12:00', { base: '2026-02-01T12:00' }),
  made('2026-02-01T12:00'),
  made('2026-01-28T12:00'),
  made('2026-01-20T12:00', { verifiedAt: 1, verifyFailed: 'chunk 3 is damaged' }), // failed: does not count as verified
  made('2026-01-10T12:00', { auto: 'before-restore' }), // the latest restore's undo
  made('2026-01-01T12:00'),
  made('2025-12-31T12:00'),
  made('2025-12-20T12:00'),
  made('2025-11-15T12:00'),
  made('2025-10-01T12:00'),
  made('2025-09-01T12:00', { auto: 'before-restore' }), // an older restore's undo
  made('2025-06-01T12:00', { verifiedAt: 1 }), // the newest verified backup
  made('2025-01-01T12:00', { verifiedAt: 1 }),
  made('2024-12-31T12:00'), // used by a running job
];

describe('retention planning (restic-style keep rules)', () => {
  it('keeps exactly the expected 19 of 30 backups, with every protection honoured', () => {
    // Shuffled input: the planner must not depend on the order it is given.
    const shuffled = [...THIRTY].sort((a, b) => (a.backupId.slice(-7) < b.backupId.slice(-7) ? -1 : 1));
    const plan = planRetention(shuffled, { keepLast: 2, keepDaily: 5, keepWeekly: 4, keepMonthly: 6 }, new Set(['2024-12-31T12:00']));
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
      '2026-02-07T12:00', // base of 03-13
      '2026-02-01T12:00', // base of 02-07
      '2026-01-28T12:00', // monthly 2026-01
      '2026-01-10T12:00', // latest restore's undo
      '2025-12-31T12:00', // monthly 2025-12
      '2025-11-15T12:00', // monthly 2025-11
      '2025-10-01T12:00', // monthly 2025-10
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
      '2026-01-20T12:00',
      '2026-01-01T12:00',
      '2025-12-20T12:00',
      '2025-09-01T12:00',
      '2025-01-01T12:00',
    ]);
    expect(kept['2026-03-15T12:00']).toBe('one of the last 2');
    expect(kept['2026-03-08T12:00']).toBe('newest of weekly 2026-W10');
    expect(kept['2026-01-28T12:00']).toBe('newest of monthly 2026-01');
    expect(kept['2026-02-01T12:00']).toBe('the base of a kept incremental backup');
    expect(kept['2026-01-10T12:00']).toBe('made by the latest restore (undoes it)');
    expect(kept['2025-06-01T12:00']).toBe('the newest verified backup');
    expect(kept['2024-12-31T12:00']).toBe('in use by a running job');
    expect(plan.removed.every((d) => d.reason === 'not selected by any keep rule')).toBe(true);
  });

  it('buckets weeks by ISO week: 2020-12-31 and 2021-01-03 are both in 2020-W53', () => {
    const plan = planRetention([made('2020-12-31T12:00'), made('2021-01-03T12:00'), made('2021-01-04T12:00')], { keepWeekly: 2 });
    expect(plan.kept.map((d) => d.reason)).toEqual(['newest of weekly 2021-W01', 'newest of weekly 2020-W53']);
    expect(plan.removed.map((d) => d.backupId)).toEqual(['2020-12-31T12:00']);
  });

  it('drops the oldest unprotected backups until maxBytes fits, and keeps everything without a keep rule', () => {
    const backups = [
      made('2026-01-05T00:00', { storedBytes: 400 }),
      made('2026-01-04T00:00', { storedBytes: 300 }),
      made('2026-01-03T00:00', { storedBytes: 200, verifiedAt: 1 }),
      made('2026-01-02T00:00', { storedBytes: 200 }),
      made('2026-01-01T00:00', { storedBytes: 100 }),
    ];
    expect(planRetention(backups, {}).removed).toEqual([]);
    const plan = planRetention(backups, { maxBytes: 800 });
    // 1200 bytes: 01-01 (100) and 01-02 (200) go; 01-03 is the newest verified and stays, so 01-04 (300) goes too.
    expect(plan.removed.map((d) => d.backupId)).toEqual(['2026-01-04T00:00', '2026-01-02T00:00', '2026-01-01T00:00']);
    expect(plan.removed[0]!.reason).toBe('over maxBytes (800 bytes)');
    expect(plan.kept.map((d) => d.backupId)).toEqual(['2026-01-05T00:00', '2026-01-03T00:00']);
  });

  it('never removes a protected backup, even when keepLast is 0', () => {
    const backups = [made('2026-01-02T00:00'), made('2026-01-01T00:00', { verifiedAt: 1 })];
    const plan = planRetention(backups, { keepLast: 0 });
    expect(plan.kept.map((d) => d.backupId)).toEqual(['2026-01-01T00:00']);
    expect(plan.removed.map((d) => d.backupId)).toEqual(['2026-01-02T00:00']);
  });

  it('accepts only known rules with non-negative integers (INVALID_ARGUMENT otherwise)', () => {
    expect(checkPolicy({ keepLast: 3, maxBytes: 1e9, keepDaily: undefined })).toEqual({ keepLast: 3, maxBytes: 1e9 });
    for (const bad of [null, [], 'keepLast', { keepDays: 3 }, { keepLast: -1 }, { keepLast: 1.5 }, { keepWeekly: '2' }]) {
      expect(() => checkPolicy(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
