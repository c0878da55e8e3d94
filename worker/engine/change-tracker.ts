/**
 * Which user tables the committed transactions on the live connection changed, for
 * `vault.onChange`. SQLite's update hook (sql.js `Database.updateHook`) names the table of each
 * row changed; the names gathered are reported once no transaction is open any more.
 *
 * Invariants:
 * - A change is reported only after its transaction committed (or was rolled back: then the report
 *   may name a table that did not change, never the reverse).
 * - What the hook does not see (schema changes, `DELETE` without `WHERE` on SQLite's truncate path,
 *   a connection swapped by a restore) is reported as `all: true`, so a listener never misses one.
 */
import type { Database } from 'sql.js';
import type { ChangeEvent } from '../../src/protocol';
import { type SqliteConnection, databaseOf } from './sqlite';

export class ChangeTracker {
  private db: Database | undefined;
  private readonly touched = new Set<string>();
  private all = false;
  private rowChanges = 0;
  private schema = 0;

  constructor(private readonly conn: SqliteConnection) {
    this.attach();
    this.all = false;
    this.baseline();
  }

  /** Call before running statements: hooks a connection a restore swapped in. */
  before(): void {
    this.attach();
  }

  /**
   * Call after statements ran: the change to report once no transaction is open, else undefined
   * (nothing changed, or the transaction goes on and its tables are kept for its commit).
   */
  after(): ChangeEvent | undefined {
    this.attach();
    const total = this.conn.totalChanges();
    const schema = this.conn.scalar('PRAGMA schema_version');
    // Rows changed that the hook did not name (truncate), or a schema change: anything may differ.
    const hookCounted = this.touched.size > 0;
    if (schema !== this.schema || (total !== this.rowChanges && !hookCounted)) this.all = true;
    if (!this.all && !hookCounted) return undefined;
    if (this.conn.inTransaction()) return undefined;
    const event: ChangeEvent = { kind: 'data', tables: [...this.touched].sort(), all: this.all };
    this.touched.clear();
    this.all = false;
    this.baseline();
    return event;
  }

  private baseline(): void {
    this.rowChanges = this.conn.totalChanges();
    this.schema = this.conn.scalar('PRAGMA schema_version');
  }

  /** Installs the hook on the connection's current database; a new one (a restore) means anything changed. */
  private attach(): void {
    const db = databaseOf(this.conn);
    if (db === this.db) return;
    db.updateHook((_operation, database, table) => {
      if (database === 'main') this.touched.add(table);
    });
    if (this.db !== undefined) {
      this.all = true;
      // A new connection counts its changes from zero.
      this.rowChanges = this.conn.totalChanges();
    }
    this.db = db;
  }
}
