/**
 * Runs async sections one at a time, in call order. Used where in-memory state must not change
 * between a decision and the IndexedDB transaction that acts on it (reference counts, the live head).
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  private held = 0;

  /** Runs `body` after every section queued before it has settled; resolves or rejects with `body`. */
  run<T>(body: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      this.held++;
      try {
        return await body();
      } finally {
        this.held--;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** True while a section is running. */
  get busy(): boolean {
    return this.held > 0;
  }
}
