import { describe, expect, it } from 'vitest';
import type { Clock } from '../../worker/jobs/clock';
import { makeSchedule, nextRunAt, parseDailyAt, parseInterval, type StoredSchedule } from '../../worker/jobs/schedule-time';
import { Scheduler } from '../../worker/jobs/schedules';

const HOUR = 3_600_000;
const invalidArgument = expect.objectContaining({ code: 'INVALID_ARGUMENT' });

/** A clock that only moves when told to, firing its timers in order. */
class ManualClock implements Clock {
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private nextId = 1;
  constructor(private at: number) {}
  now(): number {
    return this.at;
  }
  setTimer(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.at + delayMs, callback, id });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Moves time forward by `ms`, firing each due timer and letting the work it starts settle. */
  async advance(ms: number): Promise<void> {
    const end = this.at + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.at = Math.max(this.at, due.at);
      due.callback();
      await settle();
    }
    this.at = end;
  }
}

/** Lets pending promise chains run to their end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A scheduler over an in-memory "meta store" whose runs are recorded (and can be held open). */
async function harness(clock: ManualClock, stored: StoredSchedule[] = [], run: (s: StoredSchedule) => Promise<void> = async () => undefined) {
  const runs: { id: string; at: number }[] = [];
  let saved: readonly StoredSchedule[] = stored;
  const scheduler = await Scheduler.start({
    clock,
    load: async () => saved,
    save: async (list) => {
      saved = list;
    },
    run: (schedule) => {
      runs.push({ id: schedule.id, at: clock.now() });
      return run(schedule);
    },
  });
  return { scheduler, runs, saved: () => saved };
}

describe('schedule specs', () => {
  it('parses intervals of at least a minute, and rejects the rest with INVALID_ARGUMENT', () => {
    expect(parseInterval('30m')).toBe(30 * 60_000);
    expect(parseInterval('6h')).toBe(6 * HOUR);
    expect(parseInterval('1d')).toBe(24 * HOUR);
    expect(parseInterval('90s')).toBe(90_000);
    for (const bad of ['30s', '59s', '0m', '6x', '', '1.5h', ' 6h', 6, null, '400d']) expect(() => parseInterval(bad)).toThrow(invalidArgument);
  });

  it('parses dailyAt as a 24-hour HH:MM and rejects malformed times', () => {
    expect(parseDailyAt('02:30')).toEqual({ hours: 2, minutes: 30 });
    expect(parseDailyAt('23:59')).toEqual({ hours: 23, minutes: 59 });
    for (const bad of ['2:30', '24:00', '12:60', '02:30:00', 'noon', 230]) expect(() => parseDailyAt(bad)).toThrow(invalidArgument);
  });

  it('rejects a spec with both or neither of every and dailyAt, and bad options', () => {
    expect(() => makeSchedule({ id: 'a', every: '1h', dailyAt: '02:00' }, {}, 0)).toThrow(invalidArgument);
    expect(() => makeSchedule({ id: 'a' }, {}, 0)).toThrow(invalidArgument);
    expect(() => makeSchedule({ every: '1h' }, {}, 0)).toThrow(invalidArgument);
    expect(() => makeSchedule({ id: 'a', every: '1h' }, { method: 'copy' }, 0)).toThrow(invalidArgument);
    expect(() => makeSchedule({ id: 'a', every: '1h' }, { verify: 'yes' }, 0)).toThrow(invalidArgument);
    expect(makeSchedule({ id: 'a', every: '1h' }, { note: 'n', verify: true }, 5)).toEqual({ id: 'a', every: '1h', method: 'pages', note: 'n', verify: true, createdAt: 5 });
  });

  it('puts the next daily run at the first local HH:MM after the last one', () => {
    const tenAm = new Date(2026, 0, 5, 10, 0).getTime();
    expect(nextRunAt({ id: 'd', dailyAt: '02:30', method: 'pages', createdAt: tenAm })).toBe(new Date(2026, 0, 6, 2, 30).getTime());
    expect(nextRunAt({ id: 'd', dailyAt: '11:00', method: 'pages', createdAt: tenAm })).toBe(new Date(2026, 0, 5, 11, 0).getTime());
    expect(nextRunAt({ id: 'e', every: '6h', method: 'pages', createdAt: 0, lastRunAt: tenAm })).toBe(tenAm + 6 * HOUR);
  });
});

describe('the scheduler (injected clock)', () => {
  it('runs a daily schedule missed for three days exactly once at open, then at its next slot', async () => {
    const clock = new ManualClock(new Date(2026, 0, 10, 9, 0).getTime());
    const missed: StoredSchedule = { id: 'nightly', dailyAt: '02:30', method: 'pages', createdAt: 0, lastRunAt: new Date(2026, 0, 7, 2, 30).getTime() };
    const { scheduler, runs, saved } = await harness(clock, [missed]);
    await clock.advance(0);
    expect(runs).toEqual([{ id: 'nightly', at: clock.now() }]);
    expect(saved()[0]!.lastRunAt).toBe(clock.now());
    expect(scheduler.list()[0]!.nextRunAt).toBe(new Date(2026, 0, 11, 2, 30).getTime());
    await clock.advance(17 * HOUR); // 02:00 on the 11th
    expect(runs).toHaveLength(1);
    await clock.advance(HOUR);
    expect(runs.map((r) => r.at)).toEqual([new Date(2026, 0, 10, 9, 0).getTime(), new Date(2026, 0, 11, 2, 30).getTime()]);
    await scheduler.stop();
  });

  it('fires an interval schedule at each slot while open', async () => {
    const clock = new ManualClock(1_000_000);
    const { scheduler, runs } = await harness(clock);
    const info = await scheduler.set({ id: 'six', every: '6h' }, { method: 'vacuum' });
    expect(info).toEqual({ id: 'six', every: '6h', method: 'vacuum', nextRunAt: 1_000_000 + 6 * HOUR });
    await clock.advance(6 * HOUR - 1);
    expect(runs).toHaveLength(0);
    await clock.advance(1 + 18 * HOUR);
    expect(runs.map((r) => r.at - 1_000_000)).toEqual([6 * HOUR, 12 * HOUR, 18 * HOUR, 24 * HOUR]);
    expect(scheduler.list()[0]!.lastRunAt).toBe(1_000_000 + 24 * HOUR);
    await scheduler.stop();
  });

  it('runs due schedules one at a time', async () => {
    const clock = new ManualClock(10 * HOUR);
    const release: (() => void)[] = [];
    const held = () => new Promise<void>((resolve) => release.push(resolve));
    const due = (id: string): StoredSchedule => ({ id, every: '1h', method: 'pages', createdAt: 0 });
    const { scheduler, runs } = await harness(clock, [due('a'), due('b')], held);
    await clock.advance(0);
    expect(runs.map((r) => r.id)).toEqual(['a']);
    release.shift()!();
    await settle();
    expect(runs.map((r) => r.id)).toEqual(['a', 'b']);
    release.shift()!();
    await scheduler.stop();
  });

  it('does not retry a failed run before its next slot, and runs again at open a run cut short by close', async () => {
    const clock = new ManualClock(10 * HOUR);
    const failing = await harness(clock, [{ id: 'f', every: '1h', method: 'pages', createdAt: 0 }], async () => {
      throw new Error('disk full');
    });
    await clock.advance(30 * 60_000);
    expect(failing.runs).toHaveLength(1);
    expect(failing.saved()[0]!.lastRunAt).toBe(10 * HOUR);
    await failing.scheduler.stop();

    let finish!: () => void;
    const cut = await harness(clock, [{ id: 'c', every: '1h', method: 'pages', createdAt: 0 }], () => new Promise((resolve) => (finish = resolve)));
    await clock.advance(0);
    const stopped = cut.scheduler.stop();
    finish();
    await stopped;
    expect(cut.saved()[0]!.lastRunAt).toBeUndefined();
  });

  it('keeps running when the clock goes backwards: a last run in the future counts as now', async () => {
    // Last runs stamped by a clock that said 2030; it now says 2025 (corrected).
    const now = new Date(2025, 5, 1, 12, 0).getTime();
    const future = new Date(2030, 5, 1, 12, 0).getTime();
    const clock = new ManualClock(now);
    const { scheduler, runs } = await harness(clock, [
      { id: 'hourly', every: '1h', method: 'pages', createdAt: 0, lastRunAt: future },
      { id: 'nightly', dailyAt: '02:30', method: 'pages', createdAt: 0, lastRunAt: future },
      { id: 'set-ahead', every: '6h', method: 'pages', createdAt: future }, // set while the clock was ahead, never ran
    ]);
    expect(Object.fromEntries(scheduler.list().map((s) => [s.id, s.nextRunAt]))).toEqual({
      hourly: now + HOUR,
      nightly: new Date(2025, 5, 2, 2, 30).getTime(),
      'set-ahead': now + 6 * HOUR,
    });
    await clock.advance(HOUR);
    expect(runs).toEqual([{ id: 'hourly', at: now + HOUR }]);
    await clock.advance(15 * HOUR);
    expect(runs.map((r) => [r.id, r.at - now])).toEqual([
      ['hourly', HOUR],
      ['hourly', 2 * HOUR],
      ['hourly', 3 * HOUR],
      ['hourly', 4 * HOUR],
      ['hourly', 5 * HOUR],
      ['hourly', 6 * HOUR],
      ['set-ahead', 6 * HOUR],
      ...[7, 8, 9, 10, 11, 12].map((h) => ['hourly', h * HOUR]),
      ['set-ahead', 12 * HOUR],
      ...[13, 14].map((h) => ['hourly', h * HOUR]),
      ['nightly', 14.5 * HOUR],
      ...[15, 16].map((h) => ['hourly', h * HOUR]),
    ]);
    await scheduler.stop();
  });

  it('setting a schedule again forgets a last run stamped in the future and counts from now', async () => {
    const now = new Date(2025, 5, 1, 12, 0).getTime();
    const clock = new ManualClock(now);
    const { scheduler, saved } = await harness(clock, [{ id: 'x', every: '1h', method: 'pages', createdAt: 0, lastRunAt: new Date(2030, 0, 1).getTime() }]);
    const replaced = await scheduler.set({ id: 'x', every: '2h' }, {});
    expect(replaced.lastRunAt).toBeUndefined();
    expect(replaced.nextRunAt).toBe(now + 2 * HOUR);
    expect(saved()[0]!.lastRunAt).toBeUndefined();
    await scheduler.stop();
  });

  it('keeps the last run when a schedule is replaced, and says NOT_FOUND for an unknown id', async () => {
    const clock = new ManualClock(10 * HOUR);
    const { scheduler } = await harness(clock, [{ id: 'x', every: '1h', method: 'pages', createdAt: 0, lastRunAt: 9.5 * HOUR }]);
    const replaced = await scheduler.set({ id: 'x', every: '2h' }, {});
    expect(replaced.lastRunAt).toBe(9.5 * HOUR);
    expect(replaced.nextRunAt).toBe(11.5 * HOUR);
    await scheduler.remove('x');
    expect(scheduler.list()).toEqual([]);
    await expect(scheduler.remove('x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(scheduler.set({ id: 'y', every: '10s' }, {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await scheduler.stop();
  });
});
