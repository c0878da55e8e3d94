/**
 * Job records and settings (`meta`: retention policy, schedules): records that name no chunk, so
 * they take no part in collection. A job record is written on its own (a job's state changes), or
 * with a commit (`Change.jobs`) when it must change together with what the job made.
 */
import { guard } from './idb-errors';
import type { StoredJob } from './schema';
import { reading, writing, type VaultDatabase } from './transactions';

export class JobsAndMeta {
  constructor(private readonly db: VaultDatabase) {}

  /** Stores `job` (replacing its earlier record). @throws QUOTA_EXCEEDED, STORAGE. */
  async putJob(job: StoredJob): Promise<void> {
    await writing(this.db, ['jobs'], async (tx) => {
      await tx.objectStore('jobs').put(job, job.jobId);
    });
  }

  /** @throws STORAGE. */
  getJob(jobId: string): Promise<StoredJob | undefined> {
    return guard('read a job', () => reading(this.db, ['jobs']).store.get(jobId));
  }

  /** @throws STORAGE. */
  listJobs(): Promise<StoredJob[]> {
    return guard('read jobs', () => reading(this.db, ['jobs']).store.getAll());
  }

  /** The setting stored under `key`, as its writer stored it. @throws STORAGE. */
  async getMeta<T>(key: string): Promise<T | undefined> {
    return (await guard('read settings', () => reading(this.db, ['meta']).store.get(key))) as T | undefined;
  }
}
