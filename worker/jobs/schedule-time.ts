/**
 * Schedules as data: checking what the page sends, and when a schedule is next due. Pure.
 *
 * - `every: '6h'` runs `interval` after the last run (or after the schedule was set).
 * - `dailyAt: '02:30'` runs at the first 02:30, local time, after the last run (or after the
 *   schedule was set). Local time follows the browser's time zone, DST included.
 * A run missed while the app was closed is due at the next open, once: the next slot is counted
 * from that run, never from the slots that were missed. A last run after now (the clock went
 * backwards) is forgotten and the schedule counts from now (`rebased`).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { ScheduleInfo, ScheduleOptions } from '../../src/protocol';
import { checkId, oneOf, optionalBoolean, optionalString } from '../validate';

/**
 * A schedule as stored in the vault's `meta` store: the public view without `nextRunAt` (always
 * derived, never stored) and with `createdAt`, when it was (last) set: the anchor of its first run.
 * `lastRunAt` is when its last run started.
 */
export type StoredSchedule = Omit<ScheduleInfo, 'nextRunAt'> & { readonly createdAt: number };

const MINUTE_MS = 60_000;
const UNIT_MS = { s: 1000, m: MINUTE_MS, h: 60 * MINUTE_MS, d: 24 * 60 * MINUTE_MS } as const;
const MAX_INTERVAL_MS = 366 * UNIT_MS.d;

function invalid(message: string, argument: string): PagevaultError {
  return new PagevaultError(ErrorCode.INVALID_ARGUMENT, message, { argument });
}

/**
 * Milliseconds of an interval like `30m`, `6h`, `1d` (also `90s`).
 * @throws INVALID_ARGUMENT when malformed, under one minute or over a year.
 */
export function parseInterval(every: unknown): number {
  const match = typeof every === 'string' ? /^(\d{1,9})([smhd])$/.exec(every) : null;
  if (!match) throw invalid(`every must look like "30m", "6h" or "1d" (got ${JSON.stringify(every)}).`, 'every');
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms < MINUTE_MS) throw invalid(`every must be at least one minute (got "${every as string}").`, 'every');
  if (ms > MAX_INTERVAL_MS) throw invalid(`every must be at most 366 days (got "${every as string}").`, 'every');
  return ms;
}

/**
 * Hours and minutes of a `dailyAt` time, `HH:MM` on a 24-hour clock.
 * @throws INVALID_ARGUMENT when malformed.
 */
export function parseDailyAt(dailyAt: unknown): { hours: number; minutes: number } {
  const match = typeof dailyAt === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(dailyAt) : null;
  if (!match) throw invalid(`dailyAt must be a 24-hour local time "HH:MM", e.g. "02:30" (got ${JSON.stringify(dailyAt)}).`, 'dailyAt');
  return { hours: Number(match[1]), minutes: Number(match[2]) };
}

/**
 * Checks a `schedule.set` call and builds the record to store. `previous` (same id) keeps its
 * last run, so replacing a schedule does not make it due at once, unless that run is after `now`
 * (the clock went backwards since): then the schedule counts from `now`.
 * @throws INVALID_ARGUMENT
 */
export function makeSchedule(spec: unknown, options: unknown, now: number, previous?: StoredSchedule): StoredSchedule {
  if (typeof spec !== 'object' || spec === null) throw invalid('The schedule must be { id, every } or { id, dailyAt }.', 'spec');
  const { id, every, dailyAt } = spec as { id?: unknown; every?: unknown; dailyAt?: unknown };
  checkId(id, 'id');
  if ((every === undefined) === (dailyAt === undefined)) throw invalid('A schedule has exactly one of every and dailyAt.', 'spec');
  if (every !== undefined) parseInterval(every);
  else parseDailyAt(dailyAt);
  const opts = (options ?? {}) as ScheduleOptions;
  if (typeof opts !== 'object') throw invalid('Schedule options must be an object.', 'options');
  const note = optionalString(opts.note, 'note');
  const verify = optionalBoolean(opts.verify, 'verify');
  const pushTo = opts.pushTo === undefined ? undefined : checkId(opts.pushTo, 'pushTo');
  return {
    id: id as string,
    ...(every === undefined ? { dailyAt: dailyAt as string } : { every: every as string }),
    method: oneOf(opts.method, 'method', ['pages', 'vacuum'] as const, 'pages'),
    ...(note === undefined ? {} : { note }),
    ...(verify === undefined ? {} : { verify }),
    ...(pushTo === undefined ? {} : { pushTo }),
    createdAt: now,
    // A last run "in the future" was stamped by a clock that was ahead: forget it, count from now.
    ...(previous?.lastRunAt === undefined || previous.lastRunAt > now ? {} : { lastRunAt: previous.lastRunAt }),
  };
}

/** When `schedule` is next due (epoch ms); at or before now means it should run now. */
export function nextRunAt(schedule: StoredSchedule): number {
  const from = schedule.lastRunAt ?? schedule.createdAt;
  if (schedule.every !== undefined) return from + parseInterval(schedule.every);
  const { hours, minutes } = parseDailyAt(schedule.dailyAt);
  const next = new Date(from);
  next.setHours(hours, minutes, 0, 0);
  if (next.getTime() <= from) {
    next.setDate(next.getDate() + 1);
    next.setHours(hours, minutes, 0, 0); // again: the day may have had a DST change
  }
  return next.getTime();
}

/**
 * `schedule` counted from `now` when its anchor (last run, else when it was set) is after `now`:
 * the clock went backwards (corrected from 2030 to 2025, say), and counting from the future
 * anchor would stop the schedule for years. The future last run is forgotten. Otherwise
 * `schedule` itself. So the next run is never more than one period after `now`.
 */
export function rebased(schedule: StoredSchedule, now: number): StoredSchedule {
  if ((schedule.lastRunAt ?? schedule.createdAt) <= now) return schedule;
  const { lastRunAt: _future, ...rest } = schedule;
  return { ...rest, createdAt: now };
}

/** The public view of a stored schedule. */
export function scheduleInfo(schedule: StoredSchedule): ScheduleInfo {
  const { createdAt: _createdAt, ...rest } = schedule;
  return { ...rest, nextRunAt: nextRunAt(schedule) };
}
