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
import { chunkRefs, RemotePath, type RemoteManifest } from '../../src/format/remote-layout';
import type { ListedManifest } from '../../src/remote/repository';
import type { StoredChunk } from '../../src/format/codec';
import type { BackupInfo, BackupMethod, ProgressListener, RemoteBackupInfo, RestoreBackupOptions, RestoreResult } from '../../src/protocol';
import { checkImage } from '../engine';
import { readImage } from '../jobs/chunk-io';
import type { VaultContext } from '../jobs/context';
import { restoreBackup } from '../jobs/restore';
import type { JobContext } from '../jobs/runner';
import type { Manifest } from '../store/schema';
import { checkId } from '../validate';
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

/** Fetches, checks and stages a remote manifest's chunks under the job, then commits it as a backup. */
async function fetchInto(vault: VaultContext, name: string, remote: RemoteManifest, ctx: JobContext): Promise<BackupInfo> {
  const entry = remoteEntry(vault, name);
  const { store } = vault;
  const refs = chunkRefs(remote);
  const unique = [...new Map(refs.map((r) => [r.key, r])).values()];
  let storedBytes = 0;
  for (let start = 0; start < unique.length; start += STAGE_BATCH) {
    ctx.signal.throwIfAborted();
    const batch = unique.slice(start, start + STAGE_BATCH);
    const fetchMissing = async (want: typeof batch) => {
      const fresh: StoredChunk[] = [];
      await forEachLimited(want, 8, async (ref) => void fresh.push((await entry.repo.getChunk(ref, ctx.signal)).chunk), ctx.signal);
      return fresh;
    };
    let staged = await store.stage(ctx.jobId, batch.map((r) => r.key), await fetchMissing(batch.filter((r) => !store.hasChunk(r.key))));
    if (staged.missing.length > 0) {
      // A save collected a chunk we meant to reuse after we looked: fetch it too.
      const missing = new Set(staged.missing);
      staged = await store.stage(ctx.jobId, staged.missing, await fetchMissing(batch.filter((r) => missing.has(r.key))));
      if (staged.missing.length > 0) throw new PagevaultError(ErrorCode.INTERNAL, 'Chunks vanished while being staged.', {});
    }
    storedBytes += staged.bytesWritten;
    ctx.addStored(staged.bytesWritten);
    ctx.progress('read', Math.min(start + STAGE_BATCH, unique.length), unique.length, 'chunks', { from: 0, to: 70 });
  }
  const manifest: Manifest = { pageSize: remote.pageSize, pageCount: remote.pageCount, sizeBytes: remote.sizeBytes, chunkSize: remote.chunkSize, chunks: remote.chunks, sha256: remote.sha256 };
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
  ctx.progress('check', 1, 1, 'chunks', { from: 70, to: 100 });
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
    tables: remote.tables.length > 0 ? remote.tables : check.tables,
    verifiedAt: Date.now(),
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
export async function pullBackup(vault: VaultContext, name: unknown, backupIdValue: unknown, onProgress?: ProgressListener, remote?: RemoteManifest): Promise<BackupInfo> {
  const entry = remoteEntry(vault, name);
  const backupId = checkId(backupIdValue, 'backupId');
  const local = vault.store.backup(backupId);
  if (local) return local.info;
  const manifest = remote ?? (await entry.repo.readManifest(backupId)).manifest;
  const { done } = await vault.runner.enqueue('pull', { backupId }, (ctx) => fetchInto(vault, entry.name, manifest, ctx), onProgress);
  return done;
}

/** `backup.restore({ from })`: pulls the backup, then restores it with every local check (undoable). */
export async function restoreFromRemote(vault: VaultContext, options: RestoreBackupOptions): Promise<RestoreResult> {
  const { from, ...rest } = options;
  await pullBackup(vault, from, options?.backupId);
  return restoreBackup(vault, rest);
}

/**
 * Restores the newest state of this vault that remote `name` holds: its continuous-replication
 * head or its newest backup, whichever is newer (else the newest head or backup of any vault there:
 * a new device may name its vault differently).
 * @throws NOT_FOUND (the remote holds nothing), and what `restore({ from })` throws.
 */
export async function restoreLatest(vault: VaultContext, name: unknown, options: { into?: string } = {}): Promise<RestoreResult & { backupId: string }> {
  const entry = remoteEntry(vault, name);
  const listed = await entry.repo.listManifests();
  const heads = entry.repo.canList ? await entry.repo.listManifests(undefined, RemotePath.heads) : [];
  const newest = (items: readonly ListedManifest[]) => [...items].sort((x, y) => y.manifest.createdAt - x.manifest.createdAt)[0]?.manifest;
  const own = (m: ListedManifest) => m.manifest.vault === vault.name;
  // This vault's newest state (its head or its newest backup), else the newest state of any vault.
  const pick = newest([...listed, ...heads].filter(own)) ?? newest([...listed, ...heads]);
  if (!pick) throw new PagevaultError(ErrorCode.NOT_FOUND, `The remote "${entry.name}" holds no backup.`, { remote: entry.name });
  await pullBackup(vault, entry.name, pick.backupId, undefined, pick);
  const result = await restoreBackup(vault, { backupId: pick.backupId, ...(options.into === undefined ? {} : { into: options.into }) });
  return { ...result, backupId: pick.backupId };
}
