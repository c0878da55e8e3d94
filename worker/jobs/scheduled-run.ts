/**
 * One scheduled run: a backup job carrying its `scheduleId`, followed by the retention policy
 * when one is set. The service hands it to the context, whose scheduler calls it when a schedule
 * is due; failures stay in the jobs' history.
 */
import { createBackup, waitBackup } from './backup';
import type { VaultContext } from './context';
import { applyRetention, loadPolicy } from './retention';
import type { StoredSchedule } from './schedule-time';

export async function runScheduled(vault: VaultContext, schedule: StoredSchedule): Promise<void> {
  const { backupId } = await createBackup(
    vault,
    { method: schedule.method, ...(schedule.note === undefined ? {} : { note: schedule.note }), ...(schedule.verify ? { verify: true } : {}) },
    undefined,
    schedule.id,
  );
  await waitBackup(vault, backupId);
  if (Object.keys(await loadPolicy(vault)).length > 0) await applyRetention(vault);
}
