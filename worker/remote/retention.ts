/**
 * Remote drops and retention: manifests are deleted by this job; chunk objects by the collection
 * of src/remote/collect.ts (mark, then sweep after a grace period), safe while another device
 * pushes to the same prefix.
 *
 * Invariant: these run as jobs, in the same queue as this open's pushes, so a push never writes a
 * manifest while this open's collection decides what is unreferenced.
 */
import type { RemoteRetentionOptions, RemoteRetentionResult, RetentionPolicy } from '../../src/protocol';
import { collectChunks, DEFAULT_GRACE_MS } from '../../src/remote/collect';
import type { VaultContext } from '../jobs/context';
import { checkPolicy, loadPolicy, planRetention, type RetentionCandidate } from '../jobs/retention';
import { checkKeyId, optionalBoolean, optionalInteger } from '../validate';
import { remoteEntry } from './registry';

/** Deletes backup `backupId`'s manifest on remote `name` (its chunks go at a later collection). @throws NOT_FOUND, REMOTE_*. */
export async function dropRemote(vault: VaultContext, name: unknown, backupIdValue: unknown): Promise<void> {
  const entry = remoteEntry(vault, name);
  const backupId = checkKeyId(backupIdValue, 'backupId');
  const { done } = await vault.runner.enqueue('remote-retention', { backupId }, async (ctx) => {
    await entry.repo.readManifest(backupId, ctx.signal); // NOT_FOUND when absent
    await entry.repo.dropManifest(backupId, ctx.signal);
  });
  return done;
}

/**
 * Applies `policy` (default: the vault's own retention policy) to the backups on remote `name`,
 * then runs one collection pass. Only this vault's backups are planned over unless `allVaults`.
 * @throws INVALID_ARGUMENT, NOT_FOUND, REMOTE_*.
 */
export async function applyRemoteRetention(vault: VaultContext, name: unknown, policyValue: RetentionPolicy | undefined, options: RemoteRetentionOptions = {}): Promise<RemoteRetentionResult> {
  const entry = remoteEntry(vault, name);
  const policy = policyValue === undefined ? await loadPolicy(vault) : checkPolicy(policyValue);
  const graceMs = optionalInteger(options?.graceMs, 'graceMs', 0, 30 * 86_400_000) ?? DEFAULT_GRACE_MS;
  const dryRun = optionalBoolean(options?.dryRun, 'dryRun') === true;
  const allVaults = optionalBoolean(options?.allVaults, 'allVaults') === true;
  const { done } = await vault.runner.enqueue('remote-retention', {}, async (ctx) => {
    // A prefix is shared by every vault that pushes to it: one vault's policy plans over its own
    // backups only, unless the caller asks for all of them.
    const listed = (await entry.repo.listManifests(ctx.signal)).filter(({ manifest: m }) => allVaults || m.vault === vault.name);
    const candidates: RetentionCandidate[] = listed.map(({ manifest: m }) => ({
      backupId: m.backupId,
      createdAt: m.createdAt,
      method: m.method as RetentionCandidate['method'],
      tables: m.tables,
      ...(m.partial ? { partial: true } : {}),
      ...(m.filters ? { filters: m.filters } : {}),
      chunks: m.chunks,
    }));
    const plan = planRetention(candidates, policy);
    if (dryRun) return { ...plan, chunksDeleted: 0, chunksMarked: 0 };
    for (const removed of plan.removed) {
      ctx.signal.throwIfAborted();
      await entry.repo.dropManifest(removed.backupId, ctx.signal);
    }
    // One at a time with this open's continuous pushes: a head push never lands mid-collection.
    const collected = await entry.lock.run(() => collectChunks(entry.repo, graceMs, ctx.signal));
    return { ...plan, chunksDeleted: collected.deleted, chunksMarked: collected.marked };
  });
  return done;
}
