/**
 * What the simulated application was told, and so what the vault must hold: a lower bound
 * (`must`: every fact an acknowledged write made true) and, for rows, an upper bound (ids issued).
 *
 * A fact is a string: `row:<id>` (a row of table `item`), `table:<name>`, `col:<table>.<column>`.
 * `user_version` is tracked apart (one value, the last acknowledged).
 *
 * Invariants of the model (it must never demand more than the pinned semantics promise):
 * - A write is in `must` once acknowledged outside a transaction, or once the COMMIT of the
 *   transaction it ran in is acknowledged (acknowledgements arrive in execution order).
 * - A plain restore of B that succeeded replaces `must` by B's content when the simulation read it,
 *   else by nothing (sound, weaker); a table restore does so for the rows only.
 * - `durable` is what a kill cannot take: everything acknowledged before a successful flush was
 *   called, or before a successful close resolved, or the restored content.
 */
import type { SqlJsStatic } from 'sql.js';
import type { Row } from '../../src/protocol';

export interface DbState {
  readonly facts: Set<string>;
  readonly userVersion: number;
}

export const SCHEMA_SQL =
  "SELECT m.name AS t, p.name AS c FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";
export const ROWS_SQL = 'SELECT id FROM item';

/** Facts from the rows of SCHEMA_SQL and ROWS_SQL (null rows: no `item` table) and PRAGMA user_version. */
export function stateOf(schema: readonly Row[], items: readonly Row[] | null, userVersion: number): DbState {
  const facts = new Set<string>();
  for (const r of schema) {
    facts.add(`table:${String(r['t'])}`);
    facts.add(`col:${String(r['t'])}.${String(r['c'])}`);
  }
  for (const r of items ?? []) facts.add(`row:${String(r['id'])}`);
  return { facts, userVersion };
}

/** The state a database image holds. */
export function describeImage(SQL: SqlJsStatic, image: Uint8Array): DbState {
  if (image.byteLength === 0) return { facts: new Set(), userVersion: 0 };
  const db = new SQL.Database(image);
  try {
    const rows = (sql: string): Row[] => {
      const result = db.exec(sql)[0];
      if (!result) return [];
      return result.values.map((v) => Object.fromEntries(result.columns.map((c, i) => [c, v[i] ?? null])) as Row);
    };
    const schema = rows(SCHEMA_SQL);
    const hasItem = schema.some((r) => r['t'] === 'item');
    return stateOf(schema, hasItem ? rows(ROWS_SQL) : null, Number(rows('PRAGMA user_version')[0]?.['user_version'] ?? 0));
  } finally {
    db.close();
  }
}

export const isRow = (fact: string): boolean => fact.startsWith('row:');
/** Facts a restore of table `item` replaces: its rows, and its schema. */
export const ofItem = (fact: string): boolean => isRow(fact) || fact === 'table:item' || fact.startsWith('col:item.');
export const rowId = (fact: string): number => Number(fact.slice(4));

/** One backup the simulation asked for (or made by upload), and what its content must be. */
export interface BackupModel {
  readonly id: string;
  /** `auto`: made by the worker (before a restore); only its integrity is checked. */
  readonly kind: 'create' | 'upload' | 'auto';
  /** Facts acknowledged before the backup was requested; undefined when a restore may have run first. */
  requiredFacts: Set<string> | undefined;
  /** Row ids issued before the backup completed are below this bound (set when its wait resolves). */
  issuedBound: number | undefined;
  /** Tables a partial backup holds. */
  readonly tables: readonly string[] | undefined;
  /** What it holds, once read from the store. */
  content: DbState | undefined;
  /** cancel() answered `cancelled`: it must never be listed afterwards. */
  cancelled: boolean;
}

export class Model {
  nextId = 1;
  nextDdl = 1;
  nextUserVersion = 1;
  /** Facts the live database must hold. */
  must = new Set<string>();
  /** Last acknowledged user_version; -1 when unknown (a restore of an unread backup). */
  userVersion = 0;
  txnOpen = false;
  txnFacts: string[] = [];
  durable: DbState = { facts: new Set(), userVersion: 0 };
  durableSeq = 0;
  restoresInFlight = 0;
  restoreSeq = 0;
  /** Set while a close() runs: facts acknowledged meanwhile. */
  duringClose: Set<string> | undefined;
  readonly backups = new Map<string, BackupModel>();
  /** Tables created by DDL, and their added columns (to pick ALTER targets). */
  readonly ddlTables: string[] = [];

  snapshot(): DbState {
    return { facts: new Set(this.must), userVersion: this.userVersion };
  }

  /** An acknowledged write of `facts` (user_version `uv` when it set it). */
  acked(facts: readonly string[], uv?: number): void {
    if (this.txnOpen) {
      this.txnFacts.push(...facts);
      if (uv !== undefined) this.txnFacts.push(`uv:${uv}`);
      return;
    }
    this.apply(facts, uv);
  }

  private apply(facts: readonly string[], uv?: number): void {
    for (const f of facts) {
      if (f.startsWith('uv:')) {
        this.userVersion = Number(f.slice(3));
        continue;
      }
      this.must.add(f);
      this.duringClose?.add(f);
    }
    if (uv !== undefined) this.userVersion = uv;
  }

  begin(): void {
    this.txnOpen = true;
    this.txnFacts = [];
  }

  commit(): void {
    this.txnOpen = false;
    const facts = this.txnFacts;
    this.txnFacts = [];
    this.apply(facts);
  }

  /** The connection went away (close, kill): an open transaction is rolled back. */
  dropTransaction(): void {
    this.txnOpen = false;
    this.txnFacts = [];
  }

  flushed(snapshot: DbState, seq: number, restoreSeq: number): void {
    if (restoreSeq !== this.restoreSeq || seq < this.durableSeq) return;
    this.durable = snapshot;
    this.durableSeq = seq;
  }

  restoreStarted(): void {
    this.restoresInFlight++;
    this.restoreSeq++;
    for (const b of this.backups.values()) if (b.issuedBound === undefined) b.requiredFacts = undefined;
  }

  restoreEnded(): void {
    this.restoresInFlight--;
  }

  /** A restore of `content` (undefined: not read) succeeded; `rowsOnly` for a table restore of `item` (its rows and columns). */
  restored(content: DbState | undefined, rowsOnly: boolean, seq: number): void {
    const kept = rowsOnly ? [...this.must].filter((f) => !ofItem(f)) : [];
    const fromBackup = content ? [...content.facts].filter((f) => !rowsOnly || ofItem(f)) : [];
    this.must = new Set([...kept, ...fromBackup]);
    if (!rowsOnly) this.userVersion = content ? content.userVersion : -1;
    this.restoreSeq++;
    this.durable = this.snapshot();
    this.durableSeq = seq;
  }
}
