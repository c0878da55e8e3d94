/**
 * Partial backups (chosen tables, optionally filtered rows) and table restores (chosen tables of
 * a backup put back into the live database).
 *
 * Invariants:
 * - A partial backup is a valid SQLite database holding the selected tables' schema, indexes,
 *   triggers and selected rows, as of one point in time: a page copy of the live database (which
 *   carries writes made while it runs), from which the sandbox copies the chosen rows.
 * - Filters never run on the live connection: they are checked on SQLite's tokens, compiled
 *   against the schema in the sandbox, and evaluated there on a read-only copy, within a budget.
 * - A table restore changes the live database in one transaction, only after the backup passed
 *   its checks, and keeps the whole replaced database as an automatic backup first (undo). If
 *   saving the result fails, the live database is put back as it was.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { sha256Hex } from '../../src/format/sha256';
import type { RestoreResult } from '../../src/protocol';
import { partialCopy, replaceTables, resolvePlans, type SandboxBudget, type TablePlan } from '../engine';
import { LIVE_HEAD, type BackupRecord } from '../store/schema';
import { beforeRestoreRecord } from './before-restore';
import { copyPages } from './capture';
import type { CapturedImage, VaultContext } from './context';
import { newId, type JobContext } from './runner';

function invalid(message: string, argument: string): PagevaultError {
  return new PagevaultError(ErrorCode.INVALID_ARGUMENT, message, { argument });
}

function tableName(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128) throw invalid('Table names must be strings of 1-128 characters.', 'tables');
  return value;
}

/** Names once each, compared as SQLite compares them (case-insensitively). */
function distinct(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name.toLowerCase())) throw invalid(`Table ${name} is named twice.`, 'tables');
    seen.add(name.toLowerCase());
  }
}

/**
 * Checks a `tables` option (a `TableSelection`: a list of names, or names to filters) against the
 * live database's schema (in the sandbox: compiled, never run).
 * @throws INVALID_ARGUMENT for an empty selection, a table that does not exist, or a filter that
 *   is not one expression or does not compile.
 */
export async function checkSelection(vault: VaultContext, value: unknown): Promise<TablePlan[]> {
  let plans: TablePlan[];
  if (Array.isArray(value)) plans = value.map((name) => ({ name: tableName(name) }));
  else if (typeof value === 'object' && value !== null) {
    plans = Object.entries(value).map(([name, where]) => {
      if (typeof where !== 'string') throw invalid(`The filter for table ${name} must be a string (the body of a WHERE clause).`, 'tables');
      return { name: tableName(name), where };
    });
  } else throw invalid('tables must be a list of table names or an object of table name to filter.', 'tables');
  if (plans.length === 0) throw invalid('tables must name at least one table.', 'tables');
  distinct(plans.map((p) => p.name));
  return resolvePlans(vault.live.conn, plans);
}

/**
 * Copies the selected tables into a fresh database: a page copy of the live database, then the
 * chosen rows of it, selected in the sandbox.
 * @throws INVALID_ARGUMENT when the schema changed since the job was queued; CANCELLED; LIMIT_EXCEEDED.
 */
export async function capturePartial(vault: VaultContext, ctx: JobContext, plans: readonly TablePlan[], budget: Partial<SandboxBudget>): Promise<CapturedImage> {
  const whole = await copyPages(vault, ctx);
  ctx.signal.throwIfAborted();
  return partialCopy(vault.engine, whole.image, plans, budget);
}

/**
 * Checks a table restore's `tables` against what the backup holds.
 * @throws INVALID_ARGUMENT for an empty list, a name the backup lacks, or `into` with `tables`.
 */
export function checkRestoreTables(value: unknown, record: BackupRecord, into: string | undefined): string[] {
  if (into !== undefined) throw invalid('A table restore replaces tables of this database; it cannot be combined with into.', 'tables');
  if (!Array.isArray(value) || value.length === 0) throw invalid('tables must be a non-empty list of table names.', 'tables');
  const names = value.map(tableName);
  distinct(names);
  const known = record.info.tables;
  if (known.length === 0) return names; // nothing recorded: the restore job checks against the image
  return names.map((name) => {
    const table = known.find((t) => t.name.toLowerCase() === name.toLowerCase());
    if (!table) throw invalid(`Backup ${record.info.backupId} has no table named ${name}.`, 'tables');
    return table.name;
  });
}

/**
 * Replaces `tables` in the live database with the ones in `image` (a checked backup image), in
 * one transaction; the whole previous database becomes an automatic backup first.
 */
export function restoreTables(vault: VaultContext, record: BackupRecord, image: Uint8Array, tables: readonly string[], ctx: JobContext): Promise<RestoreResult> {
  const { live, store } = vault;
  return vault.holdWrites(ctx.signal, () =>
    live.mutex.run(async () => {
      // The head then holds exactly these bytes: the undo backup and the way back on failure.
      const before = await live.saveExact();
      const head = store.head(LIVE_HEAD);
      const previousId = newId('bk');
      ctx.signal.throwIfAborted();
      if (head && head.manifest.sizeBytes > 0) {
        const note = `Automatic backup before restoring tables ${tables.join(', ')} from ${record.info.backupId}`;
        const auto = beforeRestoreRecord(previousId, head.manifest, await sha256Hex(before), live.conn.tables(), note, Date.now());
        await store.commit({ backups: new Map([[previousId, auto]]), releaseStaging: [ctx.jobId] });
      }
      let replaced = false;
      try {
        replaceTables(live.conn, image, tables);
        replaced = true;
        live.noteWrite();
        await live.saveNow();
      } catch (error) {
        if (replaced && head) live.adopt(live.openImage(before), before, head.manifest, head.savedAt);
        await store.commit({ backups: new Map([[previousId, null]]) }).catch(() => undefined);
        throw error;
      }
      return head && head.manifest.sizeBytes > 0 ? { previousBackupId: previousId } : {};
    }),
  );
}
