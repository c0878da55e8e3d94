/**
 * The live database's history, as the store's commit path sees it: each commit that replaces the
 * live head keeps the replaced head as a point, and the same commit removes the points that the
 * window, the tiers and the byte budget leave out (./history-plan.ts). Runs inside the store's
 * lock, so the points it adds and removes are part of the commit's one transaction, and the
 * chunks a removed point alone named are deleted by that transaction.
 *
 * Invariants:
 * - The policy in memory is the one last committed to meta (`HISTORY_META_KEY`); absent means off,
 *   and a commit that turns history off removes every point.
 * - `sizes` caches stored chunk sizes (bytes of compressed data): learnt when a chunk is written
 *   or, for the budget, read once; a deleted chunk is forgotten.
 */
import type { StoredChunk } from '../../src/format/codec';
import type { Catalog } from './catalog';
import type { ChunkRefs } from './chunk-refs';
import { referenceDelta, type Change, type CommitOptions } from './commit-plan';
import { historyOnlyKeys, isPolicy, overBudget, rekeyed, thinned } from './history-plan';
import { HISTORY_META_KEY, LIVE_HEAD, type HistoryPolicy, type Manifest, type PointRecord } from './schema';

export class HistoryKeeper {
  private current: HistoryPolicy | null = null;
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly refs: ChunkRefs,
    /** Stored sizes of `keys` (0 for a key not stored). */
    private readonly readSizes: (keys: readonly string[]) => Promise<number[]>,
  ) {}

  /** The policy last committed; null when history is off. */
  get policy(): HistoryPolicy | null {
    return this.current;
  }

  /** Sets the policy read at open. */
  loaded(stored: unknown): void {
    this.current = isPolicy(stored) ? stored : null;
  }

  /** Learns the chunk sizes a head or point record carries (at open). */
  knownSizes(record: { readonly manifest: Manifest; readonly chunkBytes?: readonly number[] }): void {
    const { chunks } = record.manifest;
    if (record.chunkBytes?.length !== chunks.length) return;
    for (const [i, key] of chunks.entries()) this.sizes.set(key, record.chunkBytes[i]!);
  }

  /**
   * `change` completed with the history it implies: the replaced live head as a point, and the
   * points to remove at the commit's time. Inside the store's lock.
   * @throws STORAGE when the sizes the budget needs cannot be read.
   */
  async plan(changeAsked: Change, options: CommitOptions): Promise<Change> {
    const change = this.withSizes(changeAsked);
    const setsPolicy = change.meta?.has(HISTORY_META_KEY) === true;
    const asked = setsPolicy ? change.meta!.get(HISTORY_META_KEY) : this.current;
    const policy = isPolicy(asked) ? asked : null;
    const points = new Map<number, PointRecord | null>(change.points ?? []);
    if (!policy) {
      if (setsPolicy) for (const point of this.catalog.listPoints()) points.set(point.at, null);
      return points.size > 0 ? { ...change, points } : change;
    }
    const next = change.heads?.get(LIVE_HEAD);
    const replaced = this.catalog.head(LIVE_HEAD);
    // Kept whenever the head gets a new stamp, even with the same chunks (a restore of the state in
    // force): the replaced state was in force from its stamp on, and "at T" is the newest stamp at
    // or before T, so dropping it would hand an older state to every moment in between.
    if (next && replaced && next.savedAt !== replaced.savedAt) {
      points.set(replaced.savedAt, { at: replaced.savedAt, manifest: replaced.manifest, ...(replaced.chunkBytes ? { chunkBytes: replaced.chunkBytes } : {}) });
    }
    // Without a time (a drop, a retention sweep, a hold released) nothing is thinned, but the byte
    // budget still applies: chunks a removed backup or a released reader shared with points become
    // history's alone, and the budget holds after every commit, not only after saves.
    const now = next?.savedAt ?? options.now;
    if (now === undefined && policy.maxBytes === undefined) return points.size > 0 ? { ...change, points } : change;

    const byAt = new Map(this.catalog.listPoints().map((p) => [p.at, p] as const));
    for (const [at, point] of points) {
      if (point) byAt.set(at, point);
      else byAt.delete(at);
    }
    if (next && replaced && next.savedAt < replaced.savedAt) this.moveFuturePoints(byAt, points, next.savedAt);
    const candidates = [...byAt.values()].sort((a, b) => a.at - b.at);
    // Thinning needs a time; the budget does not, so every commit (a drop too) enforces it.
    const removed = now === undefined ? new Set<number>() : thinned(candidates, now, policy.keepMs);
    const remaining = candidates.filter((p) => !removed.has(p.at));
    if (policy.maxBytes !== undefined && remaining.length > 0) {
      const delta = referenceDelta({ ...change, points: new Map() }, this.catalog, this.refs);
      const heldElsewhere = (key: string) => this.refs.count(key) + (delta.get(key) ?? 0) - this.catalog.pointUsesOf(key) > 0;
      await this.ensureSizes(historyOnlyKeys(remaining, heldElsewhere));
      for (const at of overBudget(remaining, policy.maxBytes, { heldElsewhere, size: (key) => this.sizes.get(key) ?? 0 }).removed) removed.add(at);
    }
    for (const at of removed) {
      if (this.catalog.point(at)) points.set(at, null);
      else points.delete(at);
    }
    return points.size > 0 ? { ...change, points } : change;
  }

  /**
   * The clock was corrected back past points it stamped (`stampAfter`): those points move, in
   * order, to just before `stamp`, in `byAt` (the history after this commit) and `points` (what
   * the commit writes). They stay restorable, as the newest states before the new head.
   */
  private moveFuturePoints(byAt: Map<number, PointRecord>, points: Map<number, PointRecord | null>, stamp: number): void {
    const sorted = [...byAt.values()].sort((a, b) => a.at - b.at);
    const future = sorted.filter((p) => p.at >= stamp);
    const lastBefore = sorted.filter((p) => p.at < stamp).at(-1)?.at;
    const moves = rekeyed(future, stamp, lastBefore);
    for (const point of future) {
      byAt.delete(point.at);
      if (this.catalog.point(point.at)) points.set(point.at, null);
      else points.delete(point.at);
    }
    for (const point of future) {
      const at = moves.get(point.at);
      if (at === undefined) continue;
      const moved = { ...point, at };
      byAt.set(at, moved);
      points.set(at, moved);
    }
  }

  /** `change` with the sizes of the chunks it writes learnt, and carried by its heads where all are known. */
  private withSizes(change: Change): Change {
    this.learn(change.chunks ?? []);
    if (!change.heads || !this.current) return change;
    const heads = new Map(change.heads);
    for (const [name, head] of heads) {
      if (!head || head.chunkBytes) continue;
      const bytes = head.manifest.chunks.map((key) => this.sizes.get(key));
      if (bytes.every((n) => n !== undefined)) heads.set(name, { ...head, chunkBytes: bytes as number[] });
    }
    return { ...change, heads };
  }

  /** Removal of the oldest half of the points (at least one); null when there are none. */
  oldestHalf(): Map<number, null> | null {
    const points = this.catalog.listPoints();
    if (points.length === 0) return null;
    return new Map(points.slice(0, Math.ceil(points.length / 2)).map((p) => [p.at, null] as const));
  }

  /** After `change` committed: the policy it set, the sizes of the chunks it wrote, the ones it deleted. */
  committed(change: Change, written: readonly StoredChunk[], deleted: readonly string[]): void {
    if (change.meta?.has(HISTORY_META_KEY)) this.loaded(change.meta.get(HISTORY_META_KEY));
    this.learn(written);
    for (const key of deleted) this.sizes.delete(key);
  }

  /** Stored bytes that only history holds: chunks no head, backup, staging record or hold names, plus the point records. @throws STORAGE. */
  async bytes(): Promise<number> {
    const points = this.catalog.listPoints();
    const heldElsewhere = (key: string) => this.refs.count(key) - this.catalog.pointUsesOf(key) > 0;
    await this.ensureSizes(historyOnlyKeys(points, heldElsewhere));
    return overBudget(points, undefined, { heldElsewhere, size: (key) => this.sizes.get(key) ?? 0 }).bytes;
  }

  private learn(chunks: readonly StoredChunk[]): void {
    for (const chunk of chunks) this.sizes.set(chunk.key, chunk.data.byteLength);
  }

  private async ensureSizes(keys: Iterable<string>): Promise<void> {
    const missing = [...keys].filter((key) => !this.sizes.has(key));
    if (missing.length === 0) return;
    const sizes = await this.readSizes(missing);
    for (const [i, key] of missing.entries()) this.sizes.set(key, sizes[i] ?? 0);
  }
}

