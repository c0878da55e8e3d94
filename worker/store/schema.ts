/**
 * What the IndexedDB database of one vault holds. One IndexedDB database per vault name
 * (`pagevault:<name>`), so deleting a vault is one `deleteDatabase` and one vault's garbage
 * collection never has to look at another's manifests.
 */
import type { DBSchema } from 'idb';
import type { StoredChunk } from '../../src/format/codec';
import type { BackupInfo, JobRecord, Progress } from '../../src/protocol';

/**
 * Bumped when the object stores change; an older worker meeting a newer store stops with a clear error.
 * 1: chunks, heads, backups, jobs, staging, meta. 2: + points (time travel). The upgrade only adds
 * the stores a version lacks, so every older store opens as it was.
 */
export const STORE_VERSION = 2;
export const DB_PREFIX = 'pagevault:';

/** An ordered list of chunk keys that reassembles one database image. */
export interface Manifest {
  readonly pageSize: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  readonly chunkSize: number;
  readonly chunks: readonly string[];
  /** SHA-256 (hex) of the whole image; computed for backups, optional for the live head. */
  readonly sha256?: string;
}

export interface HeadRecord {
  readonly manifest: Manifest;
  readonly savedAt: number;
  /**
   * Stored (compressed) bytes of each of `manifest.chunks`, when known at the commit: the history
   * budget's sizes, so that no chunk is read to learn its size after a reopen. Absent in records
   * of older versions (their sizes are read once, then carried by the next record).
   */
  readonly chunkBytes?: readonly number[];
}

/**
 * A restorable point of the live database's history: a head that a later save or restore replaced,
 * kept (under key `at`) until thinning or the byte budget removes it. See ./history-plan.ts.
 */
export interface PointRecord {
  /** When this state was saved (the replaced head's `savedAt`); the state held until the next point. */
  readonly at: number;
  readonly manifest: Manifest;
  /** As `HeadRecord.chunkBytes`. */
  readonly chunkBytes?: readonly number[];
}

/** How long the history of the live database is kept (meta `HISTORY_META_KEY`); absent means off. */
export interface HistoryPolicy {
  readonly keepMs: number;
  /** Bytes that only history holds (chunks no head or backup names, plus point records); oldest points go first. */
  readonly maxBytes?: number;
}

export const HISTORY_META_KEY = 'history';

export interface BackupRecord {
  readonly info: BackupInfo;
  readonly manifest: Manifest;
}

/** A job as stored: the public record plus progress and what it staged. */
export interface StoredJob extends JobRecord {
  readonly progress?: Omit<Progress, 'backupId' | 'jobId'>;
  readonly bytesStored?: number;
  readonly queuedAt: number;
}

/** Chunks written by a running job before its manifest is committed; removed if it never commits. */
export interface StagingRecord {
  readonly jobId: string;
  readonly keys: readonly string[];
}

export interface VaultDB extends DBSchema {
  chunks: { key: string; value: Omit<StoredChunk, 'key'> };
  heads: { key: string; value: HeadRecord };
  points: { key: number; value: PointRecord };
  backups: { key: string; value: BackupRecord };
  jobs: { key: string; value: StoredJob };
  staging: { key: string; value: StagingRecord };
  meta: { key: string; value: unknown };
}

export const LIVE_HEAD = 'live';
