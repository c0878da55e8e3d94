/**
 * The sandbox's work, the same code in the sandbox worker and, where no worker can start (Node,
 * tests), in-process behind the same interface (./host.ts).
 *
 * Invariants:
 * - Every database opened here is a scratch one (./scratch.ts): `trusted_schema=OFF`, capped file
 *   growth and, in the sandbox's own instance (`isolated`), a capped SQLite heap.
 * - Filters are evaluated only here, on a read-only copy (`query_only`), never on the live connection.
 */
import type { SqlJsStatic } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../../src/errors';
import { resolvePlans, TableCopy } from '../partial-copy';
import { checkImageOn, limitError, openScratch, type ScratchLimits } from '../scratch';
import { runSqlDump } from '../sql-dump';
import { sqliteError } from '../sqlite';
import type { SandboxCall, SandboxResults, SchemaRow, TablePlan } from './protocol';

/** Rows copied between pauses of a partial copy. */
const ROWS_PER_STEP = 2_000;

export interface Done<K extends keyof SandboxResults> {
  readonly value: SandboxResults[K];
  /** Buffers to transfer back (images). */
  readonly transfer: ArrayBuffer[];
}

/** Runs one sandbox call. `pause` yields between steps (in-process, so the live vault keeps serving). */
export async function runCall(sql: SqlJsStatic, call: SandboxCall, limits: ScratchLimits, pause: () => Promise<void>): Promise<Done<keyof SandboxResults>> {
  switch (call.op) {
    case 'check': {
      const check = checkImageOn(sql, call.image, call.usable, limits);
      return { value: { check, image: call.image }, transfer: [call.image.buffer as ArrayBuffer] };
    }
    case 'replay': {
      const image = await runSqlDump(sql, call.text, limits, pause);
      return { value: { image }, transfer: [image.buffer as ArrayBuffer] };
    }
    case 'partial': {
      const result = await partialCopy(sql, call.image, call.plans, limits, pause);
      return { value: result, transfer: [result.image.buffer as ArrayBuffer] };
    }
    case 'plans':
      return { value: { plans: plansOnSchema(sql, call.schema, call.plans, limits) }, transfer: [] };
  }
}

/** Copies the chosen tables and rows of `image` into a new database, evaluating filters on a read-only copy. */
async function partialCopy(sql: SqlJsStatic, image: Uint8Array, plans: readonly TablePlan[], limits: ScratchLimits, pause: () => Promise<void>) {
  const deadline = performance.now() + limits.budget.timeMs;
  const source = openScratch(sql, image, limits);
  try {
    source.exec('PRAGMA query_only = ON;');
    const copy = new TableCopy(sql, source, plans);
    try {
      while (copy.step(ROWS_PER_STEP) !== 'done') {
        if (performance.now() > deadline) {
          throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The partial backup ran longer than its budget of ${limits.budget.timeMs} ms.`, {
            timeoutMs: limits.budget.timeMs,
          });
        }
        await pause();
      }
      return copy.result();
    } finally {
      copy.close();
    }
  } catch (error) {
    throw limitError(error, limits.budget) ?? sqliteError(error);
  } finally {
    source.close();
  }
}

/**
 * Checks table names and filters against an empty database with the live schema (the statements
 * are compiled, never run). Objects this build cannot create (a virtual table of a missing
 * module) are left out: a filter naming them does not compile.
 */
function plansOnSchema(sql: SqlJsStatic, schema: readonly SchemaRow[], plans: readonly TablePlan[], limits: ScratchLimits): TablePlan[] {
  const db = openScratch(sql, undefined, limits);
  try {
    const order = ['table', 'view', 'index', 'trigger'];
    const sorted = [...schema].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
    for (const [, name, , text] of sorted) {
      if (/^sqlite_/i.test(name)) continue;
      try {
        db.exec(text);
      } catch {
        // Left out; see above.
      }
    }
    db.exec('PRAGMA query_only = ON;');
    return resolvePlans(db, plans);
  } finally {
    db.close();
  }
}
