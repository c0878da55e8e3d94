/**
 * One scheduled run: a backup job carrying its `scheduleId`, followed by the retention policy
 * when one is set. The service hands it to the context, whose scheduler calls it when a schedule
 * is due; failures stay in the jobs' history. With `pushTo`, the backup is then pushed to that
 * remote (added in this open).
 */
import { pushBackup } from '../remote/push';
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
  // A push failure stays in the history (a `push` job); retention still runs: it never removes the
  // newest backup, which is the one that did not leave the device.
  const pushed = schedule.pushTo === undefined ? undefined : pushBackup(vault, schedule.pushTo, { backupId }).catch(() => undefined);
  if (Object.keys(await loadPolicy(vault)).length > 0) await applyRetention(vault);
  await pushed;
}
