/**
 * Which chunks are stored and what references each: the bookkeeping behind collection.
 *
 * Invariants:
 * - A key's count is the number of references to it from heads, points, backups, staging records and
 *   holds (a manifest naming a key twice counts twice); a key nothing references has no entry.
 * - Counts and presence live in memory only, rebuilt from the records at open; this worker is the
 *   only writer (a Web Lock guarantees it), so they stay exact.
 * - They change only after the transaction that made the change committed (see VaultStore.commit),
 *   so a decision taken from them inside the store's lock matches what IndexedDB holds.
 */
export class ChunkRefs {
  private readonly refs = new Map<string, number>();
  private readonly present = new Set<string>();
  /** In-memory references that keep chunks while something reads them (a download, a restore). */
  private readonly holds = new Map<string, readonly string[]>();
  private nextHold = 1;

  /** True when a chunk with this key is stored. */
  isStored(key: string): boolean {
    return this.present.has(key);
  }

  /** Number of stored chunks. */
  get storedCount(): number {
    return this.present.size;
  }

  /** References to `key` (heads, points, backups, staging, holds). */
  count(key: string): number {
    return this.refs.get(key) ?? 0;
  }

  /** Records that these keys are now stored (their transaction committed). */
  stored(keys: Iterable<string>): void {
    for (const key of keys) this.present.add(key);
  }

  /** Records that these keys were deleted (their transaction committed): no longer stored nor referenced. */
  deleted(keys: Iterable<string>): void {
    for (const key of keys) {
      this.present.delete(key);
      this.refs.delete(key);
    }
  }

  /** Adds (`1`) or removes (`-1`) one reference to each of `keys`. */
  add(keys: readonly string[], sign: 1 | -1): void {
    for (const key of keys) {
      const n = (this.refs.get(key) ?? 0) + sign;
      if (n > 0) this.refs.set(key, n);
      else this.refs.delete(key);
    }
  }

  /** References `keys` until `releaseHold(id)`; returns that id. */
  hold(keys: readonly string[]): string {
    const holdId = `hold-${this.nextHold++}`;
    this.holds.set(holdId, keys);
    this.add(keys, 1);
    return holdId;
  }

  /** The keys hold `holdId` references (undefined once released). */
  held(holdId: string): readonly string[] | undefined {
    return this.holds.get(holdId);
  }

  releaseHold(holdId: string): void {
    this.add(this.holds.get(holdId) ?? [], -1);
    this.holds.delete(holdId);
  }

  /**
   * The keys `delta` (key to change in references) leaves unreferenced that are stored or about to
   * be (`fresh`): the chunks the same transaction must delete, or not write.
   */
  unreferencedAfter(delta: ReadonlyMap<string, number>, fresh: ReadonlySet<string>): string[] {
    const doomed: string[] = [];
    for (const [key, d] of delta) {
      if ((this.refs.get(key) ?? 0) + d <= 0 && (this.present.has(key) || fresh.has(key))) doomed.push(key);
    }
    return doomed;
  }

  /** Stored keys nothing references (left by a crash during a hold, a bug or an older version). */
  orphans(): string[] {
    return [...this.present].filter((key) => !this.refs.has(key));
  }
}
