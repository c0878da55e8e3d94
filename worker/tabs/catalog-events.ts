/**
 * Which verbs change the backup catalog (backups, jobs) and the live data as a whole, so the owner
 * can tell every tab's `onChange` listeners (SQL writes are reported by the service's change tracker).
 */
import type { ChangeEvent, WorkerApi } from '../../src/protocol';
import type { ForwardedVerb } from './wire';

const CATALOG: ReadonlySet<ForwardedVerb> = new Set(['backupCreate', 'backupDrop', 'backupUpload', 'backupRestore', 'backupVerify', 'backupCancel', 'retentionApply', 'remotePull', 'remoteRestoreLatest']);

/** After `verb` succeeded with `value`: emits what it changed, now and (for a new backup job) when the job ends. */
export function catalogEffect(service: WorkerApi, verb: ForwardedVerb, args: readonly unknown[], value: unknown, emit: (event: ChangeEvent) => void): void {
  if (!CATALOG.has(verb)) return;
  if (verb === 'retentionApply' && (args[0] as { dryRun?: boolean } | undefined)?.dryRun === true) return;
  emit({ kind: 'catalog' });
  if (verb === 'backupRestore' && (args[0] as { into?: string } | undefined)?.into === undefined) emit({ kind: 'data', tables: [], all: true });
  // remote.restoreLatest(name, { into? }) replaces the live data unless it restores under another name.
  if (verb === 'remoteRestoreLatest' && (args[1] as { into?: string } | undefined)?.into === undefined) emit({ kind: 'data', tables: [], all: true });
  if (verb === 'backupCreate') {
    const { backupId } = value as { backupId: string };
    // The job ends later, successful or not: the catalog changes then too.
    void service.backupWait(backupId).then(() => emit({ kind: 'catalog' }));
  }
}
