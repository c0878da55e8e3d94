/**
 * Pushing a backup to a remote: a `push` job that sends the chunks the remote lacks, then the
 * manifest, last (src/format/REMOTE.md "Writing order").
 *
 * Invariants:
 * - The backup is held in use from the call until the job ends (`enqueueHolding`): a local drop is
 *   refused and its chunks stay, so every chunk the manifest names is sent or already on the remote.
 * - What the remote has is a fresh LIST at the job's start (a store that cannot list: a HEAD of every
 *   chunk, never the local inventory alone): a push that starts again after an interruption resends
 *   nothing that arrived, and a chunk lost on the store is sent again.
 * - On a listing store the push holds a shared lease (src/remote/lock.ts) from its LIST to its
 *   manifest: no sweep deletes meanwhile. Every reused chunk that a collection mark names is
 *   also sent again before the manifest (REMOTE.md "Collection").
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { RemoteManifest } from '../../src/format/remote-layout';
import { RemotePath, sendableForm } from '../../src/format/remote-layout';
import type { BackupInfo, CancelStatus, ProgressListener, PushOptions, PushResult } from '../../src/protocol';
import { DEFAULT_GRACE_MS, readMarks } from '../../src/remote/collect';
import { withSharedLease } from '../../src/remote/lock';
import type { RemoteRepository } from '../../src/remote/repository';
import type { VaultContext } from '../jobs/context';
import type { JobContext } from '../jobs/runner';
import type { Manifest } from '../store/schema';
import { checkKeyId } from '../validate';
import { forEachLimited } from './parallel';
import { remoteEntry, type RemoteEntry } from './registry';

/** Chunks read and sent at once (more than the store's parallel requests, so one is always queued). */
const SEND_LANES = 8;

/** The remote manifest of a local backup (or head). */
export function remoteManifest(vault: VaultContext, info: Omit<BackupInfo, 'storedBytes'>, manifest: Manifest, kind: RemoteManifest['kind']): RemoteManifest {
  return {
    kind,
    backupId: info.backupId,
    vault: vault.name,
    createdAt: info.createdAt,
    method: info.method,
    ...(info.note === undefined ? {} : { note: info.note }),
    pageSize: manifest.pageSize,
    pageCount: manifest.pageCount,
    sizeBytes: manifest.sizeBytes,
    chunkSize: manifest.chunkSize,
    sha256: info.sha256,
    tables: info.tables,
    ...(info.partial ? { partial: true } : {}),
    ...(info.filters ? { filters: info.filters } : {}),
    chunks: manifest.chunks,
  };
}

/**
 * Sends `manifest`'s chunks the remote lacks and then `remote` (the manifest object). Used by push
 * jobs and by continuous replication.
 */
export async function sendManifest(
  vault: VaultContext,
  entry: RemoteEntry,
  manifest: Manifest,
  remote: RemoteManifest,
  signal: AbortSignal,
  report?: (sent: number, total: number, bytes: number) => void,
): Promise<PushResult> {
  const started = Date.now();
  entry.repo = await entry.repo.ensureConfig(signal);
  const repo: RemoteRepository = entry.repo;
  // A listing store may be collected by another device: its sweep never deletes while this lease
  // is held, and this push waits while one sweeps (then lists afresh, so it resends what went).
  return repo.canList ? withSharedLease(repo, () => sendUnderLease(vault, entry, repo, manifest, remote, signal, started, report), signal) : sendUnderLease(vault, entry, repo, manifest, remote, signal, started, report);
}

async function sendUnderLease(
  vault: VaultContext,
  entry: RemoteEntry,
  repo: RemoteRepository,
  manifest: Manifest,
  remote: RemoteManifest,
  signal: AbortSignal,
  started: number,
  report?: (sent: number, total: number, bytes: number) => void,
): Promise<PushResult> {
  const marksAtStart = await readMarks(repo, signal);
  if (repo.canList) {
    // Reconcile the inventory with the remote: what another device's collection deleted is gone from it.
    entry.inventory.clear();
    for (const o of await repo.list(RemotePath.chunks, signal)) entry.inventory.add(o.name);
  }
  const keys = [...new Set(manifest.chunks)];
  const names = await Promise.all(keys.map((key) => repo.layout.chunkName(key)));
  const missing: number[] = [];
  await forEachLimited(keys, 8, async (_key, i) => {
    if (repo.canList) {
      if (!entry.inventory.has(names[i]!)) missing.push(i);
      return;
    }
    // A store that cannot list: the local inventory may be stale (objects lost or deleted behind
    // this open), so every reused chunk is asked for; a manifest never names an unchecked chunk.
    if ((await repo.store.head(names[i]!, signal)) !== undefined) entry.inventory.add(names[i]!);
    else {
      entry.inventory.delete(names[i]!);
      missing.push(i);
    }
  }, signal);
  missing.sort((a, b) => a - b);
  let bytesSent = 0;
  let objectsSent = 0;
  // Lanes take the next chunk as soon as their last PUT ended (no batch waits for its slowest
  // request); the store's limiter caps requests in flight.
  const send = (indexes: readonly number[]) =>
    forEachLimited(indexes, SEND_LANES, async (index) => {
      const chunk = await vault.store.getChunk(keys[index]!);
      const sent = await repo.putChunk(sendableForm(chunk), signal);
      entry.inventory.add(names[index]!);
      bytesSent += sent.bytes;
      objectsSent++;
      report?.(objectsSent, indexes.length, sent.bytes);
    }, signal);
  await send(missing);
  // Reused chunks a collection mark names are written again: their new modification time keeps them.
  const sentNow = new Set(missing);
  const marked = new Set([...marksAtStart, ...(await readMarks(repo, signal))].flatMap((m) => [...m.candidates]));
  const again = keys.flatMap((_key, i) => (!sentNow.has(i) && marked.has(names[i]!) ? [i] : []));
  if (Date.now() - started > DEFAULT_GRACE_MS / 2) {
    // A push this long may outlive a mark made after it started: check every reused chunk.
    for (const [i] of keys.entries()) if (!sentNow.has(i) && !again.includes(i) && (await repo.store.head(names[i]!, signal)) === undefined) again.push(i);
  }
  await send(again);
  signal.throwIfAborted();
  // Past the last abort check: the manifest PUT (and index update) runs under no caller signal,
  // only its per-attempt timeout and retries, so a cancel now ends as `completed` and never
  // answers `cancelled` for a backup the remote lists.
  const written = await repo.putManifest(remote);
  bytesSent += written.bytes;
  report?.(objectsSent, Math.max(objectsSent, 1), written.bytes);
  return { backupId: remote.backupId, bytesSent, objectsSent: objectsSent + 1, objectsSkipped: keys.length - missing.length - again.length };
}

/**
 * Pushes a backup (default: the newest of `backup.list()`) to remote `name` as a `push` job.
 * @throws NOT_FOUND (no such remote or backup), REMOTE_DENIED, REMOTE_UNAVAILABLE, CANCELLED.
 */
export async function pushBackup(vault: VaultContext, name: unknown, options: PushOptions = {}, onProgress?: ProgressListener): Promise<PushResult> {
  const entry = remoteEntry(vault, name);
  const backupId = options.backupId === undefined ? vault.store.listBackups()[0]?.info.backupId : checkKeyId(options.backupId, 'backupId');
  if (backupId === undefined) throw new PagevaultError(ErrorCode.NOT_FOUND, 'There is no backup to push: create one first.', {});
  const { jobId, done } = await vault.enqueueHolding(
    'push',
    backupId,
    async (ctx: JobContext, manifest) => {
      const record = vault.store.backup(backupId);
      if (!record) throw new PagevaultError(ErrorCode.NOT_FOUND, `No backup with id ${backupId}.`, { backupId });
      const remote = remoteManifest(vault, record.info, manifest, 'backup');
      return entry.lock.run(() =>
        sendManifest(vault, entry, manifest, remote, ctx.signal, (sent, total, bytes) => {
          ctx.addSent(bytes);
          ctx.progress('store', sent, total, 'chunks');
        }),
      );
    },
    onProgress ? { listener: onProgress } : {},
  );
  entry.pushes.add(jobId);
  return done.finally(() => entry.pushes.delete(jobId));
}

/**
 * Cancels this open's queued and running pushes to remote `name`.
 * @returns `cancelled` when one was stopped, `completed` when it had already written its manifest, `not running`.
 */
export async function cancelPushes(vault: VaultContext, name: unknown): Promise<{ status: CancelStatus }> {
  const entry = remoteEntry(vault, name);
  let status: CancelStatus = 'not running';
  for (const jobId of [...entry.pushes]) {
    const one = await vault.runner.cancel(jobId);
    if (one === 'cancelled' || (one === 'completed' && status === 'not running')) status = one;
  }
  return { status };
}
