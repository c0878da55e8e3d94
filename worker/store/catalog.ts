/**
 * The records that name chunks, as this worker last committed them: heads (the live database),
 * history points (earlier heads), backups (the catalog) and staging records (chunks pinned by jobs
 * that have not committed).
 *
 * Invariants:
 * - Loaded once at open, then changed only after the transaction that wrote the change committed.
 * - Every record's chunks are referenced in `ChunkRefs` exactly while the record is here.
 */
import type { ChunkRefs } from './chunk-refs';
import { LIVE_HEAD, type BackupRecord, type HeadRecord, type PointRecord, type StagingRecord } from './schema';

export class Catalog {
  private readonly heads = new Map<string, HeadRecord>();
  private readonly backups = new Map<string, BackupRecord>();
  private readonly staging = new Map<string, StagingRecord>();
  private readonly points = new Map<number, PointRecord>();
  /** How many references to each key come from points (the rest come from heads, backups, staging, holds). */
  private readonly pointUses = new Map<string, number>();

  constructor(private readonly refs: ChunkRefs) {}

  /** The manifest saved under `name` (default: the live database). */
  head(name: string = LIVE_HEAD): HeadRecord | undefined {
    return this.heads.get(name);
  }

  backup(backupId: string): BackupRecord | undefined {
    return this.backups.get(backupId);
  }

  /** Every backup, newest first. */
  listBackups(): BackupRecord[] {
    return [...this.backups.values()].sort((a, b) => b.info.createdAt - a.info.createdAt || (b.info.backupId < a.info.backupId ? -1 : 1));
  }

  point(at: number): PointRecord | undefined {
    return this.points.get(at);
  }

  /** Every history point, oldest first. */
  listPoints(): PointRecord[] {
    return [...this.points.values()].sort((a, b) => a.at - b.at);
  }

  /** References to `key` from history points. */
  pointUsesOf(key: string): number {
    return this.pointUses.get(key) ?? 0;
  }

  staged(jobId: string): StagingRecord | undefined {
    return this.staging.get(jobId);
  }

  stagingRecords(): StagingRecord[] {
    return [...this.staging.values()];
  }

  /**
   * The image SHA-256 of a stored backup whose manifest lists exactly `keys`, if one exists.
   * Sound because chunk keys are SHA-256s of their bytes: the same key list is the same image.
   */
  knownImageHash(keys: readonly string[]): string | undefined {
    for (const { manifest } of this.backups.values()) {
      if (manifest.sha256 !== undefined && manifest.chunks.length === keys.length && manifest.chunks.every((key, i) => key === keys[i])) return manifest.sha256;
    }
    return undefined;
  }

  /** Sets (or, with null, removes) head `name`, moving its chunk references. */
  setHead(name: string, head: HeadRecord | null): void {
    this.replace(this.heads, name, head, (h) => h.manifest.chunks);
  }

  /** Sets (or, with null, removes) backup `id`, moving its chunk references. */
  setBackup(id: string, backup: BackupRecord | null): void {
    this.replace(this.backups, id, backup, (b) => b.manifest.chunks);
  }

  /** Sets (or, with null, removes) history point `at`, moving its chunk references. */
  setPoint(at: number, point: PointRecord | null): void {
    const old = this.points.get(at);
    if (old) for (const key of old.manifest.chunks) this.countPointUse(key, -1);
    if (point) for (const key of point.manifest.chunks) this.countPointUse(key, 1);
    this.replace(this.points, at, point, (p) => p.manifest.chunks);
  }

  private countPointUse(key: string, sign: 1 | -1): void {
    const n = (this.pointUses.get(key) ?? 0) + sign;
    if (n > 0) this.pointUses.set(key, n);
    else this.pointUses.delete(key);
  }

  /** Sets (or, with null, removes) the staging record of job `jobId`, moving its chunk references. */
  setStaging(jobId: string, record: StagingRecord | null): void {
    this.replace(this.staging, jobId, record, (r) => r.keys);
  }

  private replace<K, R>(records: Map<K, R>, id: K, record: R | null, keysOf: (record: R) => readonly string[]): void {
    const old = records.get(id);
    if (old) this.refs.add(keysOf(old), -1);
    records.delete(id);
    if (!record) return;
    records.set(id, record);
    this.refs.add(keysOf(record), 1);
  }
}
