/**
 * The rows of `vault.history.list` (local points, or a remote's: worker/remote/points.ts) and the
 * moments the history verbs take. Pure.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { HistoryListOptions, HistoryPoint } from '../../src/protocol';
import type { Manifest } from '../store/schema';

/** Largest epoch milliseconds a Date holds (ECMAScript: ±8.64e15). */
const MAX_DATE_MS = 8.64e15;

/** A moment: a valid Date or epoch milliseconds a Date can hold. @throws INVALID_ARGUMENT. */
export function checkAt(value: unknown, what = 'at'): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_DATE_MS) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${what} must be a Date or epoch milliseconds from 0 to ${MAX_DATE_MS} (got ${typeof value === 'number' ? value : typeof value}).`, { argument: what });
  }
  return ms;
}


/** The rows of `vault.history.list` for `all` (oldest first) within `options.since`..`until`. @throws INVALID_ARGUMENT. */
export function historyRows(all: readonly { at: number; manifest: Pick<Manifest, 'pageCount' | 'sizeBytes' | 'chunks'>; current?: true }[], options: HistoryListOptions): HistoryPoint[] {
  const since = options?.since === undefined ? Number.NEGATIVE_INFINITY : checkAt(options.since, 'since');
  const until = options?.until === undefined ? Number.POSITIVE_INFINITY : checkAt(options.until, 'until');
  const listed: HistoryPoint[] = [];
  all.forEach((point, i) => {
    if (point.at < since || point.at > until) return;
    const before = all[i - 1]?.manifest;
    listed.push({
      at: point.at,
      pageCount: point.manifest.pageCount,
      sizeBytes: point.manifest.sizeBytes,
      ...(before ? { changes: changedChunks(before, point.manifest) } : {}),
      ...(point.current ? { current: true } : {}),
    });
  });
  return listed;
}

/** 64 KiB chunks of `b` that differ from `a` (position by position, plus the length change). */
function changedChunks(a: Pick<Manifest, 'chunks'>, b: Pick<Manifest, 'chunks'>): number {
  let n = Math.abs(a.chunks.length - b.chunks.length);
  for (let i = 0; i < Math.min(a.chunks.length, b.chunks.length); i++) if (a.chunks[i] !== b.chunks[i]) n++;
  return n;
}
