/**
 * Which history points a commit keeps: the thinning tiers, the window and the byte budget. Pure
 * (no IndexedDB), decided by the store inside its lock (see VaultStore.commit).
 *
 * Tiers, by a point's age (`now - at`):
 * - up to `DENSE_MS` (1 h): every point;
 * - up to `MEDIUM_MS` (6 h): the newest point of each 5-minute slot;
 * - older, up to the policy's window: the newest point of each hour.
 * Slots are fixed in time (`floor(at / slot)`), so a point that thinning kept stays kept until it
 * moves to a coarser tier or out of the window: thinning never needs back a point it removed.
 * Then, while what only history holds exceeds `maxBytes`, the oldest point goes (never the head,
 * which is not a point).
 */
import type { HistoryPolicy, PointRecord } from './schema';

export const DENSE_MS = 3_600_000;
export const MEDIUM_MS = 6 * 3_600_000;
export const MEDIUM_SLOT_MS = 5 * 60_000;
export const COARSE_SLOT_MS = 3_600_000;

/**
 * How far behind the last stamp the clock may be and still be taken for a small step back (a
 * frozen or slewed clock): the stamp is then the last one + 1 ms. Further behind, the clock was
 * corrected after running ahead, and stamps follow it again (see `stampAfter`).
 */
export const CLOCK_STEP_BACK_MS = 60_000;

/**
 * The stamp (`savedAt`) of a head that replaces one stamped `previous`: the clock, or `previous`
 * + 1 ms when the clock is at most `CLOCK_STEP_BACK_MS` behind it (stamps stay distinct and in
 * order). A clock further behind is believed: a device clock that ran ahead (hours, days) and was
 * corrected must not stamp every later save in the future (the window would never expire them
 * and a restore "5 minutes ago" would find none); the commit then moves the points stamped at or
 * after the new stamp to just before it (`HistoryKeeper.plan`).
 */
export function stampAfter(clock: number, previous: number | undefined): number {
  if (previous === undefined || clock > previous) return clock;
  return previous - clock <= CLOCK_STEP_BACK_MS ? previous + 1 : clock;
}

/**
 * Keys for the points stamped at or after `stamp` (a clock corrected back, see `stampAfter`):
 * moved, in order, to the milliseconds just before `stamp` and after `lastBefore` (the newest
 * point before it). When fewer milliseconds are free than points, the oldest moved points go.
 * @returns the moves, old `at` to new `at` (a point absent from the map is removed).
 */
export function rekeyed(future: readonly PointRecord[], stamp: number, lastBefore: number | undefined): Map<number, number> {
  const free = lastBefore === undefined ? future.length : Math.max(0, Math.min(future.length, stamp - 1 - lastBefore));
  const moved = future.slice(future.length - free);
  return new Map(moved.map((point, i) => [point.at, stamp - moved.length + i] as const));
}

/** What a point record costs on disk besides its chunks: its key list (64 hex characters each) and fields. */
export function pointRecordBytes(point: PointRecord): number {
  return 200 + 66 * point.manifest.chunks.length;
}

/** The points (by `at`) that the window and the tiers leave out at `now`. */
export function thinned(points: readonly Pick<PointRecord, 'at'>[], now: number, keepMs: number): Set<number> {
  const removed = new Set<number>();
  const newestInSlot = new Map<string, number>();
  for (const point of points) {
    const age = now - point.at;
    if (age > keepMs) {
      removed.add(point.at);
      continue;
    }
    if (age <= DENSE_MS) continue;
    const slot = age <= MEDIUM_MS ? `m${Math.floor(point.at / MEDIUM_SLOT_MS)}` : `c${Math.floor(point.at / COARSE_SLOT_MS)}`;
    const other = newestInSlot.get(slot);
    if (other === undefined) newestInSlot.set(slot, point.at);
    else {
      removed.add(Math.min(other, point.at));
      newestInSlot.set(slot, Math.max(other, point.at));
    }
  }
  return removed;
}

/** What the byte budget needs to know about the chunks the remaining points name. */
export interface BudgetFacts {
  /** True when a chunk is named by something besides points (a head, a backup, staging, a hold) after the commit. */
  readonly heldElsewhere: (key: string) => boolean;
  /** Stored bytes of a chunk. */
  readonly size: (key: string) => number;
}

/**
 * The oldest of `points` (sorted by `at`, oldest first) to remove so that what only history holds
 * fits `maxBytes`; also the bytes history holds after those removals.
 */
export function overBudget(points: readonly PointRecord[], maxBytes: number | undefined, facts: BudgetFacts): { removed: number[]; bytes: number } {
  const uses = new Map<string, number>();
  let bytes = 0;
  for (const point of points) {
    bytes += pointRecordBytes(point);
    for (const key of point.manifest.chunks) {
      const n = uses.get(key) ?? 0;
      uses.set(key, n + 1);
      if (n === 0 && !facts.heldElsewhere(key)) bytes += facts.size(key);
    }
  }
  const removed: number[] = [];
  for (const point of points) {
    if (maxBytes === undefined || bytes <= maxBytes) break;
    removed.push(point.at);
    bytes -= pointRecordBytes(point);
    for (const key of point.manifest.chunks) {
      const n = uses.get(key)! - 1;
      uses.set(key, n);
      if (n === 0 && !facts.heldElsewhere(key)) bytes -= facts.size(key);
    }
  }
  return { removed, bytes };
}

/** The keys `points` name that nothing else holds: the ones whose sizes the budget needs. */
export function historyOnlyKeys(points: readonly PointRecord[], heldElsewhere: (key: string) => boolean): Set<string> {
  const keys = new Set<string>();
  for (const point of points) for (const key of point.manifest.chunks) if (!heldElsewhere(key)) keys.add(key);
  return keys;
}

/** Checks a policy read back from meta (an older or hand-edited record is treated as off). */
export function isPolicy(value: unknown): value is HistoryPolicy {
  if (typeof value !== 'object' || value === null) return false;
  const { keepMs, maxBytes } = value as Record<string, unknown>;
  return typeof keepMs === 'number' && keepMs > 0 && (maxBytes === undefined || (typeof maxBytes === 'number' && maxBytes >= 0));
}
