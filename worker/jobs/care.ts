/**
 * Taking care of backups: verification, retention and schedules, behind one face for the service.
 * A scheduled run is a backup job carrying its `scheduleId`, followed by the retention policy.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { RetentionPolicy, RetentionResult, ScheduleInfo, VerifyReport } from '../../src/protocol';
import type { BackupJobs } from './backup-jobs';
import { systemClock } from './clock';
import { applyRetention, loadPolicy, savePolicy } from './retention';
import type { StoredSchedule } from './schedule-time';
import { Scheduler, SCHEDULES_META_KEY } from './schedules';
import { verifyBackup } from './verify';

export class Care {
  private scheduler: Scheduler | undefined;
  private stopped = false;

  constructor(private readonly jobs: BackupJobs) {}

  /** Loads the schedules and arms them; a run missed while the vault was closed starts now. */
  async start(): Promise<void> {
    const { store, clock = systemClock } = this.jobs.parts;
    this.scheduler = await Scheduler.start({
      clock,
      load: () => store.getMeta<StoredSchedule[]>(SCHEDULES_META_KEY),
      save: async (schedules) => {
        await store.commit({ meta: new Map([[SCHEDULES_META_KEY, schedules]]) });
      },
      run: (schedule) => this.runScheduled(schedule),
    });
    if (this.stopped) await this.scheduler.stop();
  }

  /** Stops the schedules; resolves once a scheduled run in progress has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.scheduler?.stop() ?? Promise.resolve();
  }

  /** @see verifyBackup */
  verify(backupId: unknown): Promise<VerifyReport> {
    return verifyBackup(this.jobs, backupId);
  }

  setRetention(policy: unknown): Promise<void> {
    return savePolicy(this.jobs, policy);
  }

  getRetention(): Promise<RetentionPolicy> {
    return loadPolicy(this.jobs);
  }

  /** @see applyRetention */
  applyRetention(options: { dryRun?: unknown } | undefined): Promise<RetentionResult> {
    return applyRetention(this.jobs, options ?? {});
  }

  /** @throws INVALID_ARGUMENT */
  scheduleSet(spec: unknown, options: unknown): Promise<ScheduleInfo> {
    return this.schedules().set(spec, options);
  }

  scheduleList(): ScheduleInfo[] {
    return this.schedules().list();
  }

  /** @throws NOT_FOUND */
  scheduleRemove(id: unknown): Promise<void> {
    return this.schedules().remove(id);
  }

  private schedules(): Scheduler {
    if (!this.scheduler) throw new PagevaultError(ErrorCode.INTERNAL, 'The schedules were used before they were started.', {});
    return this.scheduler;
  }

  /** One scheduled run: the backup job, then retention when a policy is set. Failures stay in history. */
  private async runScheduled(schedule: StoredSchedule): Promise<void> {
    const { backupId } = await this.jobs.create(
      { method: schedule.method, ...(schedule.note === undefined ? {} : { note: schedule.note }), ...(schedule.verify ? { verify: true } : {}) },
      undefined,
      schedule.id,
    );
    await this.jobs.wait(backupId);
    if (Object.keys(await loadPolicy(this.jobs)).length > 0) await applyRetention(this.jobs);
  }
}
