/**
 * sql.js connections by simulated worker. A killed worker never closes its connections (its code
 * stops mid-flight), and they live in the one wasm heap all runs share: without closing them here,
 * a few hundred seeds in one process fill that heap and later runs fail for it.
 */
import type { SqlJsStatic } from 'sql.js';
import { currentEpoch } from './scheduler';

type Database = InstanceType<SqlJsStatic['Database']>;
const open = new Map<number, Set<Database>>();
const patched = new WeakSet<SqlJsStatic>();

/** Makes every `new sql.Database()` made by simulated code known to `closeDatabases`. */
export function trackDatabases(sql: SqlJsStatic): void {
  if (patched.has(sql)) return;
  patched.add(sql);
  const Original = sql.Database;
  class Tracked extends Original {
    constructor(...args: ConstructorParameters<typeof Original>) {
      super(...args);
      const epoch = currentEpoch();
      if (epoch === undefined) return;
      const set = open.get(epoch) ?? new Set<Database>();
      set.add(this);
      open.set(epoch, set);
    }
    override close(): void {
      for (const set of open.values()) set.delete(this);
      super.close();
    }
  }
  sql.Database = Tracked;
}

/** Closes what the worker of `epoch` left open (after a kill, or at the end of a run). */
export function closeDatabases(epoch: number): void {
  for (const db of open.get(epoch) ?? []) {
    try {
      db.close();
    } catch {
      // a connection with a backup still attached: the heap is reset with the next process anyway
    }
  }
  open.delete(epoch);
}
