/**
 * What a commit changes, and the decisions the store takes about it inside its lock: which chunks
 * it must write (completed by the caller's `supply`), and how references move.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { StoredChunk } from '../../src/format/codec';
import type { Catalog } from './catalog';
import type { ChunkRefs } from './chunk-refs';
import type { BackupRecord, HeadRecord, PointRecord, StoredJob } from './schema';

/** What one `commit` makes true, atomically. `null` deletes. */
export interface Change {
  readonly chunks?: readonly StoredChunk[];
  readonly heads?: ReadonlyMap<string, HeadRecord | null>;
  /** History points by `at`; the store adds the replaced head and the thinning itself (./history-plan.ts). */
  readonly points?: ReadonlyMap<number, PointRecord | null>;
  readonly backups?: ReadonlyMap<string, BackupRecord | null>;
  readonly jobs?: readonly StoredJob[];
  readonly meta?: ReadonlyMap<string, unknown>;
  /** Staging records this change releases (their chunks are now owned by a manifest, or garbage). */
  readonly releaseStaging?: readonly string[];
  /** In-memory holds this change releases (see `VaultStore.hold`). */
  readonly releaseHolds?: readonly string[];
}

/** How a commit may complete or stop itself, decided inside the store's lock. */
export interface CommitOptions {
  /**
   * Checked inside the lock, just before the transaction opens: an aborted signal refuses the
   * commit (nothing written), so a job cancelled before its commit began is never listed.
   */
  readonly signal?: AbortSignal;
  /**
   * Supplies stored forms of keys the new manifests name that the store does not hold (a chunk the
   * caller saw stored was collected before the commit took the lock). Called inside the lock.
   */
  readonly supply?: (missing: readonly string[]) => Promise<readonly StoredChunk[]>;
  /**
   * Removing a backup a reader holds is refused with BUSY (a drop); with `keepHeld` such removals
   * are left out of the change instead, and reported in the result's `kept` (a retention sweep).
   */
  readonly keepHeld?: boolean;
  /**
   * The time history thinning runs at when the change does not replace the live head (a head's
   * `savedAt` is used otherwise); without either, points are not thinned by this commit.
   */
  readonly now?: number;
}

/**
 * The chunks `change` writes that are not stored, completed by `supply` with keys its manifests
 * name that are neither stored nor among them. Runs inside the lock.
 * @throws INTERNAL when a manifest still names a key that is neither stored nor supplied.
 */
export async function freshChunks(change: Change, refs: ChunkRefs, supply: CommitOptions['supply']): Promise<StoredChunk[]> {
  let fresh = unique((change.chunks ?? []).filter((c) => !refs.isStored(c.key)));
  const missing = () => {
    const supplied = new Set(fresh.map((c) => c.key));
    const wanted = new Set<string>();
    for (const [, head] of change.heads ?? []) for (const key of head?.manifest.chunks ?? []) wanted.add(key);
    for (const [, point] of change.points ?? []) for (const key of point?.manifest.chunks ?? []) wanted.add(key);
    for (const [, backup] of change.backups ?? []) for (const key of backup?.manifest.chunks ?? []) wanted.add(key);
    return [...wanted].filter((key) => !refs.isStored(key) && !supplied.has(key));
  };
  let lacking = missing();
  if (lacking.length > 0 && supply) {
    fresh = unique([...fresh, ...(await supply(lacking)).filter((c) => !refs.isStored(c.key))]);
    lacking = missing();
  }
  if (lacking.length > 0) {
    throw new PagevaultError(
      ErrorCode.INTERNAL,
      `Refused to commit a manifest naming ${lacking.length} chunk(s) that are not stored (first: ${lacking[0]!.slice(0, 12)}); nothing was written.`,
      { chunk: lacking[0]!, missing: lacking.length },
    );
  }
  return fresh;
}

/** How many references each key gains or loses when `change` commits. */
export function referenceDelta(change: Change, catalog: Catalog, refs: ChunkRefs): Map<string, number> {
  const delta = new Map<string, number>();
  const add = (keys: readonly string[] | undefined, sign: 1 | -1) => {
    for (const key of keys ?? []) delta.set(key, (delta.get(key) ?? 0) + sign);
  };
  for (const [name, head] of change.heads ?? []) {
    add(catalog.head(name)?.manifest.chunks, -1);
    add(head?.manifest.chunks, 1);
  }
  for (const [at, point] of change.points ?? []) {
    add(catalog.point(at)?.manifest.chunks, -1);
    add(point?.manifest.chunks, 1);
  }
  for (const [id, backup] of change.backups ?? []) {
    add(catalog.backup(id)?.manifest.chunks, -1);
    add(backup?.manifest.chunks, 1);
  }
  for (const jobId of change.releaseStaging ?? []) add(catalog.staged(jobId)?.keys, -1);
  for (const holdId of change.releaseHolds ?? []) add(refs.held(holdId), -1);
  return delta;
}

/** One chunk per key (the last given wins). */
export function unique(chunks: readonly StoredChunk[]): StoredChunk[] {
  const seen = new Map<string, StoredChunk>();
  for (const c of chunks) seen.set(c.key, c);
  return [...seen.values()];
}
