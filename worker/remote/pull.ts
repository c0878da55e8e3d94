/**
 * Bringing a backup back from a remote: `remote.list`, `remote.pull` (into the local catalog,
 * verified), `backup.restore({ from })` (pull, then every check of a local restore, undoable) and
 * `remote.restoreLatest` (a new device, or a vault whose data the browser cleared).
 *
 * Invariants:
 * - Nothing is committed until every chunk was authenticated (encrypted) and re-hashed, the image
 *   SHA-256 matched the manifest and the image passed `integrity_check`: a damaged chunk is
 *   INTEGRITY and the local catalog and live database are untouched.
 * - Chunks the vault already stores are reused by hash (and re-hashed with the rest before the commit).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { chunkRefs, RemotePath, type RemoteChunkRef, type RemoteManifest } from '../../src/format/remote-layout';
import type { ListedManifest } from '../../src/remote/repository';
import type { StoredChunk } from '../../src/format/codec';
import type { BackupInfo, BackupMethod, ProgressListener, RemoteBackupInfo, RestoreBackupOptions, RestoreLatestOptions, RestoreLatestResult, RestoreResult } from '../../src/protocol';
import { checkImage } from '../engine';
import { readImage } from '../jobs/chunk-io';
import type { VaultContext } from '../jobs/context';
import { restoreBackup } from '../jobs/restore';
import type { JobContext } from '../jobs/runner';
import type { Manifest } from '../store/schema';
import { checkKeyId, checkName, optionalBoolean } from '../validate';
import { forEachLimited } from './parallel';
import { remoteEntry } from './registry';

/** Chunks fetched and staged per IndexedDB transaction. */
const STAGE_BATCH = 64;
const METHODS: readonly BackupMethod[] = ['pages', 'vacuum', 'upload', 'auto'];

/** Backups on remote `name`, newest first (damaged manifests are left out). @throws NOT_FOUND, REMOTE_*. */
export async function listRemote(vault: VaultContext, name: unknown): Promise<RemoteBackupInfo[]> {
  const entry = remoteEntry(vault, name);
  return (await entry.repo.listManifests()).map(({ manifest: m }) => ({
    backupId: m.backupId,
    createdAt: m.createdAt,
    sizeBytes: m.sizeBytes,
    sha256: m.sha256,
    tables: m.tables,
    ...(m.partial ? { partial: true } : {}),
    ...(m.note === undefined ? {} : { note: m.note }),
    vault: m.vault,
    method: m.method,
  }));
}

/**
 * Fetches, checks and stages a remote manifest's chunks under the job, then commits it as a backup.
 * `full`: also re-reads the image (its SHA-256) and runs `integrity_check` before the commit (a
 * pull); a restore that follows does exactly those checks itself before its swap.
 */
async function fetchInto(vault: VaultContext, name: string, remote: RemoteManifest, ctx: JobContext, full: boolean): Promise<BackupInfo> {
  const entry = remoteEntry(vault, name);
  const { store } = vault;
  const refs = chunkRefs(remote);
  const unique = [...new Map(refs.map((r) => [r.key, r])).values()];
  const fetchMissing = async (want: readonly RemoteChunkRef[]) => {
    const fresh: StoredChunk[] = [];
    await forEachLimited(want, 8, async (ref) => void fresh.push((await entry.repo.getChunk(ref, ctx.signal)).chunk), ctx.signal);
    return fresh;
  };
  const batchAt = (start: number) => unique.slice(start, start + STAGE_BATCH);
  const fetchBatch = (start: number) => fetchMissing(batchAt(start).filter((r) => !store.hasChunk(r.key)));
  let storedBytes = 0;
  let next = unique.length > 0 ? fetchBatch(0) : undefined;
  next?.catch(() => undefined);
  for (let start = 0; start < unique.length; start += STAGE_BATCH) {
    ctx.signal.throwIfAborted();
    const batch = batchAt(start);
    const fetched = await next!;
    // The next batch downloads while this one is written to IndexedDB.
    next = start + STAGE_BATCH < unique.length ? fetchBatch(start + STAGE_BATCH) : undefined;
    next?.catch(() => undefined);
    let staged = await store.stage(ctx.jobId, batch.map((r) => r.key), fetched);
    if (staged.missing.length > 0) {
      // A save collected a chunk we meant to reuse after we looked: fetch it too.
      const missing = new Set(staged.missing);
      staged = await store.stage(ctx.jobId, staged.missing, await fetchMissing(batch.filter((r) => missing.has(r.key))));
      if (staged.missing.length > 0) throw new PagevaultError(ErrorCode.INTERNAL, 'Chunks vanished while being staged.', {});
    }
    storedBytes += staged.bytesWritten;
    ctx.addStored(staged.bytesWritten);
    ctx.progress('read', Math.min(start + STAGE_BATCH, unique.length), unique.length, 'chunks', { from: 0, to: full ? 70 : 100 });
  }
  const manifest: Manifest = { pageSize: remote.pageSize, pageCount: remote.pageCount, sizeBytes: remote.sizeBytes, chunkSize: remote.chunkSize, chunks: remote.chunks, sha256: remote.sha256 };
  let tables = remote.tables;
  if (full) {
    let image: Uint8Array;
    try {
      image = await readImage(store, manifest, { signal: ctx.signal, checkImageHash: true });
    } catch (error) {
      // Every chunk was checked as it arrived; a mismatch now is the manifest's (image hash, sizes).
      if (error instanceof PagevaultError && error.code === ErrorCode.CORRUPT) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote backup ${remote.backupId}: ${error.message}`, { backupId: remote.backupId });
      throw error;
    }
    const { check } = await checkImage(vault.engine, image);
    if (check.integrity !== 'ok') throw new PagevaultError(ErrorCode.CORRUPT, `Remote backup ${remote.backupId} failed its integrity check: ${check.integrity}`, { backupId: remote.backupId });
    if (tables.length === 0) tables = check.tables;
    ctx.progress('check', 1, 1, 'chunks', { from: 70, to: 100 });
  }
  const info: BackupInfo = {
    backupId: remote.backupId,
    createdAt: remote.createdAt,
    method: METHODS.includes(remote.method as BackupMethod) ? (remote.method as BackupMethod) : 'upload',
    ...(remote.note === undefined ? {} : { note: remote.note }),
    sizeBytes: remote.sizeBytes,
    storedBytes,
    pageSize: remote.pageSize,
    pageCount: remote.pageCount,
    sha256: remote.sha256,
    tables,
    ...(full ? { verifiedAt: Date.now() } : {}),
    ...(remote.partial ? { partial: true } : {}),
    ...(remote.filters ? { filters: remote.filters } : {}),
  };
  await store.commit({ backups: new Map([[info.backupId, { info, manifest }]]), releaseStaging: [ctx.jobId] }, { signal: ctx.signal });
  return info;
}

/**
 * Pulls backup `backupId` of remote `name` into the local catalog (same id), verified; a backup
 * the vault already has is returned as is.
 * @throws NOT_FOUND, INTEGRITY (damaged on the remote), CORRUPT, WRONG_PASSPHRASE, REMOTE_*, CANCELLED.
 */
export async function pullBackup(vault: VaultContext, name: unknown, backupIdValue: unknown, onProgress?: ProgressListener): Promise<BackupInfo> {
  return (await pull(vault, name, backupIdValue, true, onProgress)).info;
}

async function pull(vault: VaultContext, name: unknown, backupIdValue: unknown, full: boolean, onProgress?: ProgressListener, remote?: RemoteManifest): Promise<{ info: BackupInfo; fresh: boolean }> {
  const entry = remoteEntry(vault, name);
  const backupId = checkKeyId(backupIdValue, 'backupId');
  const local = vault.store.backup(backupId);
  if (local) return { info: local.info, fresh: false };
  const manifest = remote ?? (await entry.repo.readManifest(backupId)).manifest;
  const { done } = await vault.runner.enqueue('pull', { backupId }, (ctx) => fetchInto(vault, entry.name, manifest, ctx, full), onProgress);
  return { info: await done, fresh: true };
}

/**
 * Pulls (every chunk checked as it arrives), then restores with every check of a local restore;
 * when those checks fail, the backup this call pulled is removed again (the catalog is as before).
 */
export async function pullAndRestore(vault: VaultContext, name: unknown, options: RestoreBackupOptions, remote?: RemoteManifest): Promise<RestoreResult> {
  const { fresh } = await pull(vault, name, options.backupId, false, undefined, remote);
  try {
    return await restoreBackup(vault, options);
  } catch (error) {
    if (fresh) await vault.store.commit({ backups: new Map([[options.backupId, null]]) }).catch(() => undefined);
    throw error;
  }
}

/** `backup.restore({ from })`: pulls the backup, then restores it with every local check (undoable). */
export async function restoreFromRemote(vault: VaultContext, options: RestoreBackupOptions): Promise<RestoreResult> {
  const { from, ...rest } = options;
  return pullAndRestore(vault, from, { ...rest, backupId: checkKeyId(options?.backupId, 'backupId') });
}

/**
 * Restores the newest state of this vault that remote `name` holds: its continuous-replication
 * head or its newest backup, whichever is newer (else the newest head or backup of any vault there:
 * a new device may name its vault differently).
 * @throws NOT_FOUND (the remote holds nothing), and what `restore({ from })` throws.
 */
export async function restoreLatest(vault: VaultContext, name: unknown, options: RestoreLatestOptions = {}): Promise<RestoreLatestResult> {
  const entry = remoteEntry(vault, name);
  const into = options?.into === undefined ? undefined : checkName(options.into, 'into');
  // "Empty" is decided on the live database: a new device or a wiped vault has no tables.
  if (optionalBoolean(options?.ifEmpty, 'ifEmpty') === true && into === undefined && vault.live.conn.tables().length > 0) return { restored: false };
  const listed = await entry.repo.listManifests();
  const heads = entry.repo.canList ? await entry.repo.listManifests(undefined, RemotePath.heads) : [];
  const newest = (items: readonly ListedManifest[]) => [...items].sort((x, y) => y.manifest.createdAt - x.manifest.createdAt)[0]?.manifest;
  const own = (m: ListedManifest) => m.manifest.vault === vault.name;
  // This vault's newest state (its head or its newest backup), else the newest state of any vault.
  const pick = newest([...listed, ...heads].filter(own)) ?? newest([...listed, ...heads]);
  if (!pick) throw new PagevaultError(ErrorCode.NOT_FOUND, `The remote "${entry.name}" holds no backup.`, { remote: entry.name });
  const result = await pullAndRestore(vault, entry.name, { backupId: pick.backupId, ...(into === undefined ? {} : { into }) }, pick);
  return { ...result, restored: true, backupId: pick.backupId };
}
