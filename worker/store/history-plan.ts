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
