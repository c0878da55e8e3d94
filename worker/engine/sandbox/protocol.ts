/** Messages between a database worker and its sandbox worker. Types only. */
import type { WireError } from '../../../src/errors';
import type { SandboxBudget as BudgetOption, TableCount } from '../../../src/protocol';

/**
 * What one sandbox call may spend (the public option with every field set). Over either, the
 * call rejects with LIMIT_EXCEEDED: `timeMs` of wall time (in the browser the sandbox worker is
 * terminated when it runs out); `memoryBytes` of SQLite heap (`hard_heap_limit`) and of database file.
 */
export type SandboxBudget = Required<BudgetOption>;

/** A table to copy, with an optional filter (the body of a `WHERE` clause). */
export interface TablePlan {
  readonly name: string;
  readonly where?: string;
}

/** The facts a check of an image finds. */
export interface ImageCheck {
  /** `'ok'` or the first problem `PRAGMA integrity_check` reports. */
  readonly integrity: string;
  /** Rows reported by `PRAGMA foreign_key_check`. */
  readonly foreignKeys: number;
  readonly tables: readonly TableCount[];
  readonly pageSize: number;
  readonly pageCount: number;
  readonly userVersion: number;
}

/** One row of `sqlite_schema` (type, name, tbl_name, sql). */
export type SchemaRow = readonly [type: string, name: string, table: string, sql: string];

/**
 * The sandbox's work. Images travel by transfer and come back the same way.
 * - `check`: header, `integrity_check`, `foreign_key_check`, row counts; `usable` adds what an
 *   upload must also pass (every table readable by this SQLite, the database writable).
 * - `replay`: a SQL dump, through the allow-list, into a fresh database.
 * - `partial`: the chosen tables and rows of an image (filters are evaluated here, on a copy).
 * - `plans`: checks table names and filters against a schema (no rows), without running them.
 */
export type SandboxCall =
  | { readonly op: 'check'; readonly image: Uint8Array; readonly usable: boolean }
  | { readonly op: 'replay'; readonly text: string }
  | { readonly op: 'partial'; readonly image: Uint8Array; readonly plans: readonly TablePlan[] }
  | { readonly op: 'plans'; readonly schema: readonly SchemaRow[]; readonly plans: readonly TablePlan[] };

export interface SandboxResults {
  readonly check: { readonly check: ImageCheck; readonly image: Uint8Array };
  readonly replay: { readonly image: Uint8Array };
  readonly partial: { readonly image: Uint8Array; readonly tables: readonly TableCount[] };
  readonly plans: { readonly plans: readonly TablePlan[] };
}

export type SandboxRequest = { readonly id: number; readonly wasmUrl: string | undefined; readonly budget: SandboxBudget; readonly call: SandboxCall };

export type SandboxResponse =
  | { readonly id: number; readonly ok: true; readonly value: SandboxResults[keyof SandboxResults] }
  | { readonly id: number; readonly ok: false; readonly error: WireError }
  /** Sent once, when the sandbox has loaded SQLite and can take work. */
  | { readonly ready: true };
