/**
 * Copying chosen tables between SQLite databases: a partial backup (the live database's
 * selected tables and rows into a fresh scratch database) and a table restore (a backup's tables
 * into the live database, in one transaction).
 *
 * Values travel as SQL literals made by SQLite's own `quote()`: exact for every type (a REAL
 * `1.0` stays REAL, a 64-bit integer keeps all its digits, a BLOB its bytes), where reading
 * through sql.js would turn them into JavaScript numbers and bind them back differently.
 *
 * Invariants:
 * - The source is only read: prepared SELECT statements, never ATTACH or writes.
 * - A filter is one expression (./filter-check.ts, on SQLite's own tokens), and the SELECT it is
 *   placed in compiles to exactly one statement. Filters are evaluated in the sandbox only, on a
 *   read-only copy (./sandbox/work.ts).
 * - Indexes and triggers are created after the rows are copied (a trigger must not fire on them).
 * - A table restore changes the target in one transaction, with foreign key enforcement off so
 *   dropping a parent table cannot cascade into other tables; on any error it rolls back.
 */
import type { Database, SqlJsStatic, Statement } from 'sql.js';
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { TableCount } from '../../src/protocol';
import { checkFilterText } from './filter-check';
import type { TablePlan } from './sandbox/protocol';
import { databaseOf, quoteIdentifier as q, sqlJsOf, sqliteError, tableCounts, type SqliteConnection } from './sqlite';

export type { TablePlan };

/** What copying a table needs to know about it. */
interface TableShape {
  readonly name: string;
  readonly sql: string;
  readonly columns: readonly string[];
  /** The name that reaches the rowid (`rowid`, `_rowid_` or `oid`), absent for WITHOUT ROWID tables. */
  readonly rowid?: string;
  readonly indexes: readonly string[];
  readonly triggers: readonly string[];
}

/** Rows per INSERT statement, and the SQL text size at which a batch is flushed early. */
const BATCH_ROWS = 256;
const BATCH_CHARS = 1 << 20;

function invalid(message: string, details: Record<string, string>): PagevaultError {
  return new PagevaultError(ErrorCode.INVALID_ARGUMENT, message, details);
}

/** Reads what copying `name` needs from `db`'s schema. @throws INVALID_ARGUMENT when there is no such table, or it is virtual or SQLite's own. */
function shapeOf(db: Database, name: string): TableShape {
  const rows = db.exec("SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid", [name])[0]?.values ?? [];
  const table = rows.find(([type]) => type === 'table');
  if (!table || /^sqlite_/i.test(name)) throw invalid(`There is no table named ${name}.`, { table: name });
  const sql = String(table[2]);
  if (/^\s*CREATE\s+VIRTUAL\b/i.test(sql)) throw invalid(`Table ${name} is a virtual table; it cannot be copied on its own.`, { table: name });
  const canonical = String(table[1]);
  const info = db.exec(`PRAGMA main.table_xinfo(${q(canonical)})`)[0];
  const nameAt = info?.columns.indexOf('name') ?? -1;
  const hiddenAt = info?.columns.indexOf('hidden') ?? -1;
  // hidden: 0 a plain column, 2 and 3 generated columns (computed, cannot be inserted).
  const columns = (info?.values ?? []).filter((c) => Number(c[hiddenAt]) === 0).map((c) => String(c[nameAt]));
  const lower = new Set(columns.map((c) => c.toLowerCase()));
  const alias = ['rowid', '_rowid_', 'oid'].find((a) => !lower.has(a));
  let rowid: string | undefined;
  if (alias) {
    try {
      db.prepare(`SELECT ${alias} FROM main.${q(canonical)} LIMIT 0`).free();
      rowid = alias;
    } catch {
      rowid = undefined; // WITHOUT ROWID
    }
  }
  const of = (type: string) => rows.filter(([t]) => t === type).map((r) => String(r[2]));
  return { name: canonical, sql, columns, ...(rowid === undefined ? {} : { rowid }), indexes: of('index'), triggers: of('trigger') };
}

/** The SELECT that reads a table's rows as SQL literals. */
function selectQuoted(shape: TableShape, where: string | undefined): string {
  const names = [...(shape.rowid ? [shape.rowid] : []), ...shape.columns.map(q)];
  return `SELECT ${names.map((n) => `quote(${n})`).join(', ')} FROM main.${q(shape.name)}${whereClause(where)}`;
}

/** A filter as a WHERE clause, on lines of its own so a trailing `--` comment ends with its line. */
function whereClause(where: string | undefined): string {
  return where === undefined ? '' : ` WHERE (\n${where}\n)`;
}

/**
 * Checks a selection against `db`: every table exists, every filter is one expression that
 * compiles against its table. Returns the plans with canonical table names, in the given order.
 * @throws INVALID_ARGUMENT
 */
export function resolvePlans(db: Database, plans: readonly TablePlan[]): TablePlan[] {
  return plans.map((plan) => {
    const shape = shapeOf(db, plan.name);
    if (plan.where !== undefined) {
      checkFilterText(shape.name, plan.where);
      let statements = 0;
      try {
        for (const stmt of db.iterateStatements(`${selectQuoted(shape, plan.where)} LIMIT 0`)) {
          statements++;
          stmt.free();
        }
      } catch (error) {
        throw invalid(`The filter for table ${shape.name} does not compile: ${sqliteError(error).message}`, { table: shape.name });
      }
      if (statements !== 1) throw invalid(`The filter for table ${shape.name} must be one expression of one statement.`, { table: shape.name });
    }
    return { name: shape.name, ...(plan.where === undefined ? {} : { where: plan.where }) };
  });
}

/** Reads one table's rows from a source and inserts them into a target, a batch at a time. */
class RowCopier {
  private readonly stmt: Statement;
  private readonly insert: string;
  done = false;

  constructor(source: Database, shape: TableShape, where: string | undefined) {
    this.stmt = source.prepare(selectQuoted(shape, where));
    const names = [...(shape.rowid ? [shape.rowid] : []), ...shape.columns.map(q)];
    this.insert = `INSERT INTO main.${q(shape.name)} (${names.join(', ')}) VALUES `;
  }

  /** Copies up to `maxRows` rows; returns how many. */
  copy(target: Database, maxRows: number): number {
    let copied = 0;
    let tuples: string[] = [];
    let chars = 0;
    const flush = () => {
      if (tuples.length > 0) target.exec(this.insert + tuples.join(','));
      tuples = [];
      chars = 0;
    };
    while (copied < maxRows) {
      if (!this.stmt.step()) {
        this.done = true;
        break;
      }
      const tuple = `(${(this.stmt.get() as string[]).join(',')})`;
      tuples.push(tuple);
      chars += tuple.length;
      copied++;
      if (tuples.length >= BATCH_ROWS || chars >= BATCH_CHARS) flush();
    }
    flush();
    return copied;
  }

  close(): void {
    this.stmt.free();
  }
}

/** Creates a table's indexes and triggers, and carries its AUTOINCREMENT counter over. */
function finishTable(source: Database, target: Database, shape: TableShape): void {
  for (const sql of [...shape.indexes, ...shape.triggers]) target.exec(sql);
  const hasSequence = (db: Database) => db.exec("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").length > 0;
  if (!hasSequence(source) || !hasSequence(target)) return;
  const seq = source.exec('SELECT seq FROM sqlite_sequence WHERE name = ?', [shape.name])[0]?.values[0]?.[0];
  target.exec('DELETE FROM sqlite_sequence WHERE name = ?', [shape.name]);
  if (seq !== undefined && seq !== null) target.exec(`INSERT INTO sqlite_sequence (name, seq) VALUES (?, ${Number(seq)})`, [shape.name]);
}

/**
 * A partial copy in progress: call `step()` until it says `done`, then `result()`; always `close()`.
 * Between steps the source must not change (the caller holds writes back).
 */
export class TableCopy {
  private readonly scratch: Database;
  private readonly shapes: TableShape[];
  private readonly filters: (string | undefined)[];
  private index = 0;
  private copier: RowCopier | undefined;
  /** Rows copied so far, and the total the filters select. */
  rowsDone = 0;
  readonly rowsTotal: number;

  /** @throws INVALID_ARGUMENT when a table is missing or a filter is bad. */
  constructor(
    sql: SqlJsStatic,
    private readonly source: Database,
    plans: readonly TablePlan[],
  ) {
    if (plans.length === 0) throw invalid('A partial backup needs at least one table.', { argument: 'tables' });
    const resolved = resolvePlans(source, plans);
    this.shapes = resolved.map((p) => shapeOf(source, p.name));
    this.filters = resolved.map((p) => p.where);
    this.rowsTotal = resolved.reduce((sum, p) => sum + Number(source.exec(`SELECT count(*) FROM main.${q(p.name)}${whereClause(p.where)}`)[0]?.values[0]?.[0] ?? 0), 0);
    this.scratch = new sql.Database();
    try {
      const pragma = (name: string) => Number(source.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0] ?? 0);
      this.scratch.exec(`PRAGMA page_size = ${pragma('page_size')}; PRAGMA user_version = ${pragma('user_version')}; PRAGMA application_id = ${pragma('application_id')};`);
      this.scratch.exec('BEGIN');
      for (const shape of this.shapes) this.scratch.exec(shape.sql);
    } catch (error) {
      this.scratch.close();
      throw sqliteError(error);
    }
  }

  /** Copies up to `maxRows` more rows. */
  step(maxRows: number): 'more' | 'done' {
    try {
      while (this.index < this.shapes.length) {
        const shape = this.shapes[this.index]!;
        this.copier ??= new RowCopier(this.source, shape, this.filters[this.index]);
        this.rowsDone += this.copier.copy(this.scratch, maxRows);
        if (!this.copier.done) return 'more';
        this.copier.close();
        this.copier = undefined;
        finishTable(this.source, this.scratch, shape);
        this.index++;
        return this.index < this.shapes.length ? 'more' : this.finish();
      }
      return 'done';
    } catch (error) {
      throw sqliteError(error);
    }
  }

  private finish(): 'done' {
    this.scratch.exec('COMMIT');
    return 'done';
  }

  /** The new database's image and its tables, once `step()` returned `done`. */
  result(): { image: Uint8Array; tables: TableCount[] } {
    if (this.index < this.shapes.length) throw new PagevaultError(ErrorCode.INTERNAL, 'The table copy has not finished.', {});
    try {
      return { image: this.scratch.export(), tables: tableCounts(this.scratch) };
    } catch (error) {
      throw sqliteError(error);
    }
  }

  close(): void {
    this.copier?.close();
    this.scratch.close();
  }
}

/**
 * Replaces tables of `target` with the same tables of the database `image`: drop, recreate with
 * the backup's schema, copy every row, recreate indexes and triggers, all in one transaction.
 * The caller checked `image` (integrity) and holds every other writer back; no transaction may
 * be open on `target`.
 * @throws INVALID_ARGUMENT when a table is not in the image; SQLITE when SQLite refuses (rolled back).
 */
export function replaceTables(conn: SqliteConnection, image: Uint8Array, names: readonly string[]): TableCount[] {
  const target = databaseOf(conn);
  const backup = new (sqlJsOf(conn.engine).Database)(image);
  try {
    backup.exec('PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;');
    const shapes = resolvePlans(backup, names.map((name) => ({ name }))).map((p) => shapeOf(backup, p.name));
    const enforcing = Number(target.exec('PRAGMA foreign_keys')[0]?.values[0]?.[0] ?? 0) === 1;
    target.exec('PRAGMA foreign_keys = OFF');
    try {
      target.exec('BEGIN');
      try {
        for (const shape of shapes) target.exec(`DROP TABLE IF EXISTS main.${q(shape.name)}`);
        for (const shape of shapes) {
          target.exec(shape.sql);
          const copier = new RowCopier(backup, shape, undefined);
          try {
            while (!copier.done) copier.copy(target, Number.MAX_SAFE_INTEGER);
          } finally {
            copier.close();
          }
          finishTable(backup, target, shape);
        }
        target.exec('COMMIT');
      } catch (error) {
        try {
          target.exec('ROLLBACK');
        } catch {
          // SQLite already rolled back (some errors end the transaction themselves).
        }
        throw error;
      }
    } finally {
      if (enforcing) target.exec('PRAGMA foreign_keys = ON');
    }
    return tableCounts(backup).filter((t) => shapes.some((s) => s.name === t.name));
  } catch (error) {
    throw sqliteError(error);
  } finally {
    backup.close();
  }
}
