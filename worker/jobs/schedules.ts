/**
 * Backups on a schedule, while the vault is open, with one catch-up run at open for whatever was
 * missed while it was closed.
 *
 * A browser tab is not a server that wakes up at 02:30: the scheduler arms one timer for the
 * earliest due schedule and, when it fires (or at open), runs every due schedule once, one at a
 * time. A schedule that missed ten slots while the app was closed runs once, and its next slot is
 * counted from that run.
 *
 * Invariants:
 * - At most one scheduled run at a time; runs of different schedules queue behind each other.
 * - `lastRunAt` is stored only after the run ended; a run cut short by `close()` is due again at
 *   the next open. A run that failed is not retried before its next slot (the failure is in history).
 * - Timers never wait longer than an hour: a machine that slept is noticed within the hour.
 * - The next run is never more than one period after now: a schedule whose last run is in the
 *   future (the clock went backwards) counts from now, at open, at each timer, and when set again.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { ScheduleInfo } from '../../src/protocol';
import { checkId } from '../validate';
import type { Clock } from './clock';
import { makeSchedule, nextRunAt, rebased, scheduleInfo, type StoredSchedule } from './schedule-time';

/** Meta key the schedules are stored under. */
export const SCHEDULES_META_KEY = 'schedules';
/** The longest a timer waits before the scheduler looks at the clock again. */
const MAX_TIMER_MS = 60 * 60 * 1000;

export interface SchedulerDeps {
  readonly clock: Clock;
  load(): Promise<readonly StoredSchedule[] | undefined>;
  save(schedules: readonly StoredSchedule[]): Promise<void>;
  /** Takes the scheduled backup (and applies retention); resolves when it ended, either way. */
  run(schedule: StoredSchedule): Promise<void>;
}

export class Scheduler {
  private readonly schedules = new Map<string, StoredSchedule>();
  private timer: unknown;
  private armed = false;
  private stopped = false;
  private ticking: Promise<void> | undefined;

  private constructor(private readonly deps: SchedulerDeps) {}

  /** Loads the stored schedules and arms the timer; a schedule due now (missed while closed) runs at once. */
  static async start(deps: SchedulerDeps): Promise<Scheduler> {
    const scheduler = new Scheduler(deps);
    for (const stored of (await deps.load()) ?? []) {
      if (isUsable(stored)) scheduler.schedules.set(stored.id, stored);
    }
    if (scheduler.rebase()) await scheduler.persist().catch(() => undefined); // stored again after the next run
    scheduler.arm();
    return scheduler;
  }

  /** Every schedule with its last and next run, soonest first. */
  list(): ScheduleInfo[] {
    return [...this.schedules.values()].map(scheduleInfo).sort((a, b) => a.nextRunAt - b.nextRunAt || (a.id < b.id ? -1 : 1));
  }

  /**
   * Adds or replaces a schedule (a replaced one keeps its last run).
   * @throws INVALID_ARGUMENT for a malformed spec, an interval under one minute or a bad time.
   */
  async set(spec: unknown, options: unknown): Promise<ScheduleInfo> {
    const id = (spec as { id?: unknown } | null)?.id;
    const schedule = makeSchedule(spec, options, this.deps.clock.now(), typeof id === 'string' ? this.schedules.get(id) : undefined);
    this.schedules.set(schedule.id, schedule);
    await this.persist();
    this.arm();
    return scheduleInfo(schedule);
  }

  /** Removes a schedule; a run already started finishes. @throws NOT_FOUND */
  async remove(idValue: unknown): Promise<void> {
    const id = checkId(idValue, 'id');
    if (!this.schedules.delete(id)) throw new PagevaultError(ErrorCode.NOT_FOUND, `No schedule with id ${id}.`, { scheduleId: id });
    await this.persist();
    this.arm();
  }

  /** Stops the timer; resolves when a run in progress has ended (cancel its job to hurry it). */
  stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    return this.ticking ?? Promise.resolve();
  }

  private persist(): Promise<void> {
    return this.deps.save([...this.schedules.values()]);
  }

  /** Counts every schedule whose anchor is in the future from now (see `rebased`); true when one changed. */
  private rebase(): boolean {
    const now = this.deps.clock.now();
    let changed = false;
    for (const [id, schedule] of this.schedules) {
      const fixed = rebased(schedule, now);
      if (fixed !== schedule) this.schedules.set(id, fixed);
      changed ||= fixed !== schedule;
    }
    return changed;
  }

  private disarm(): void {
    if (this.armed) this.deps.clock.clearTimer(this.timer);
    this.armed = false;
  }

  /** Sets the timer for the earliest due schedule (unless a run is in progress: it re-arms after). */
  private arm(): void {
    this.disarm();
    if (this.stopped || this.ticking !== undefined) return;
    // The clock may have gone backwards while open (noticed within MAX_TIMER_MS): count from now.
    if (this.rebase()) this.persist().catch(() => undefined);
    const next = Math.min(...[...this.schedules.values()].map(nextRunAt));
    if (!Number.isFinite(next)) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.deps.clock.now()));
    this.armed = true;
    this.timer = this.deps.clock.setTimer(() => {
      this.armed = false;
      this.ticking = this.runDue().finally(() => {
        this.ticking = undefined;
        this.arm();
      });
    }, delay);
  }

  /** Runs every schedule that is due, soonest first, one at a time. */
  private async runDue(): Promise<void> {
    const ran = new Set<string>();
    for (;;) {
      const now = this.deps.clock.now();
      const due = [...this.schedules.values()]
        .filter((s) => !ran.has(s.id) && nextRunAt(s) <= now)
        .sort((a, b) => nextRunAt(a) - nextRunAt(b))[0];
      if (!due || this.stopped) return;
      ran.add(due.id);
      await this.deps.run(due).catch(() => undefined); // the job's history record holds the failure
      const current = this.schedules.get(due.id);
      if (this.stopped || !current) continue;
      this.schedules.set(due.id, { ...current, lastRunAt: now });
      try {
        await this.persist();
      } catch {
        return; // the store is gone (closing); the run is due again at the next open
      }
    }
  }
}

/** False for a stored record this version cannot schedule (hand-edited, or from a future version). */
function isUsable(stored: StoredSchedule): boolean {
  try {
    return Number.isFinite(nextRunAt(stored)) && typeof stored.id === 'string';
  } catch {
    return false;
  }
}
