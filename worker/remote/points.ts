/**
 * Remote time travel: continuous replication keeps each head it pushes as a point
 * (`points/<vault>/<at>`), thinned with the tiers of local history, so that
 * `backup.restore({ at, from })` finds the state in force at a moment on a new device.
 *
 * Invariants:
 * - A point is written after the chunks it names (it follows the head's push), so it never names
 *   a missing chunk; collection counts points as references (src/remote/collect.ts).
 * - Thinning deletes point objects only; their chunks go at the next mark-and-sweep.
 * - Only stores that can list keep points (nothing could find them otherwise).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { RemotePath, type RemoteManifest } from '../../src/format/remote-layout';
import type { ListedManifest } from '../../src/remote/repository';
import type { HistoryListOptions, HistoryPoint, RestoreAtOptions, RestoreResult } from '../../src/protocol';
import { historyRows } from '../jobs/history-rows';
import type { VaultContext } from '../jobs/context';
import { thinned } from '../store/history-plan';
import { checkName } from '../validate';
import { pullAndRestore } from './pull';
import { remoteEntry, type RemoteEntry } from './registry';

/** Window of remote points when the vault keeps no local history. */
export const DEFAULT_REMOTE_KEEP_MS = 24 * 3_600_000;

/**
 * Writes `head` (just pushed) as a point of its vault, then deletes, among the points this open
 * wrote (`mine`), those the window (the vault's history `keep`, else 24 h) and the tiers leave out.
 * Runs under `entry.lock`.
 * `known` caches object name to `at` across pushes (encrypted names do not show the time).
 * @throws REMOTE_*, CANCELLED.
 */
export async function keepPoint(vault: VaultContext, entry: RemoteEntry, head: RemoteManifest, known: Map<string, number>, signal: AbortSignal, mine: Set<string>): Promise<void> {
  const repo = entry.repo;
  if (!repo.canList) return;
  const written = await repo.putPoint(head, signal);
  known.set(written.name, head.createdAt);
  mine.add(written.name);
  const listed = await repo.list(await repo.layout.pointPrefix(head.vault), signal);
  const points: { at: number; name: string }[] = [];
  for (const o of listed) {
    // Only the points this open wrote are thinned: another device (or an earlier open) pushing under
    // the same vault name may keep a longer window, which this one cannot know.
    if (!mine.has(o.name)) continue;
    let at = known.get(o.name);
    if (at === undefined) {
      const bytes = await repo.store.get(o.name, signal);
      if (bytes === undefined) continue;
      // A point this build cannot read is left alone (never thinned by guess).
      at = await repo.layout.decodeManifest(o.name, bytes).then((m) => m.createdAt, () => undefined);
      if (at === undefined) continue;
      known.set(o.name, at);
    }
    points.push({ at, name: o.name });
  }
  const keepMs = vault.store.historyPolicy?.keepMs ?? DEFAULT_REMOTE_KEEP_MS;
  const removed = thinned(points, vault.clock.now(), keepMs);
  for (const point of points) {
    // The point just written is the newest state: never thinned, whatever the clocks say.
    if (!removed.has(point.at) || point.name === written.name) continue;
    await repo.store.delete(point.name, signal);
    known.delete(point.name);
    mine.delete(point.name);
  }
}

/** Every readable point (and head) on the remote, of every vault. */
async function remoteStates(entry: RemoteEntry): Promise<ListedManifest[]> {
  if (!entry.repo.canList) return [];
  // Strict: a state that cannot be read is an error, never skipped (an older one would stand in for it).
  const [points, heads] = await Promise.all([entry.repo.listManifests(undefined, RemotePath.points, false, true), entry.repo.listManifests(undefined, RemotePath.heads, false, true)]);
  return [...points, ...heads];
}

/**
 * The states of remote `entry` that this vault may travel to, oldest first: this vault's points
 * (and head), else those of the only vault the remote holds (a new device may name its vault
 * differently); one per save (a head and its point are the same state).
 * @throws INVALID_ARGUMENT (several vaults and none is this one), REMOTE_*.
 */
async function travelStates(vault: VaultContext, entry: RemoteEntry, asked: string | undefined): Promise<RemoteManifest[]> {
  const all = await remoteStates(entry);
  const vaults = [...new Set(all.map((m) => m.manifest.vault))].sort();
  if (asked !== undefined && !vaults.includes(asked)) {
    throw new PagevaultError(ErrorCode.NOT_FOUND, `The remote "${entry.name}" holds no history of a vault named "${asked}" (it holds: ${vaults.join(', ') || 'none'}).`, { remote: entry.name, vaults });
  }
  const owner = asked ?? (vaults.includes(vault.name) ? vault.name : vaults.length === 1 ? vaults[0] : undefined);
  if (owner === undefined && vaults.length > 1) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The remote "${entry.name}" holds the history of several vaults (${vaults.join(', ')}): name the one you want with { vault }.`, { remote: entry.name, vaults });
  }
  const byTime = new Map(all.filter((m) => m.manifest.vault === owner).map((m) => [m.manifest.createdAt, m.manifest]));
  return [...byTime.values()].sort((a, b) => a.createdAt - b.createdAt);
}

/** The `vault` option of a remote time travel. @throws INVALID_ARGUMENT. */
function askedVault(value: unknown): string | undefined {
  return value === undefined ? undefined : checkName(value, 'vault');
}

/** `history.list({ from })`: the points remote `from` holds, as local points are listed. @throws INVALID_ARGUMENT, NOT_FOUND, REMOTE_*. */
export async function listRemoteHistory(vault: VaultContext, options: HistoryListOptions): Promise<HistoryPoint[]> {
  const states = await travelStates(vault, remoteEntry(vault, options.from), askedVault(options.vault));
  return historyRows(states.map((m) => ({ at: m.createdAt, manifest: m })), options);
}

/**
 * `backup.restore({ at, from })`: pulls the newest point (or head) of remote `from` saved at or
 * before `at` (see travelStates for whose), then restores it with every check of
 * `restore({ from })` (undoable).
 * @throws INVALID_ARGUMENT, NOT_FOUND (nothing saved at or before `at`), and what `restore({ from })` throws.
 */
export async function restoreAtFromRemote(vault: VaultContext, moment: number, options: RestoreAtOptions): Promise<RestoreResult> {
  const entry = remoteEntry(vault, options.from);
  const into = options.into === undefined ? undefined : checkName(options.into, 'into');
  const pick = (await travelStates(vault, entry, askedVault(options.vault))).filter((m) => m.createdAt <= moment).at(-1);
  if (!pick) throw new PagevaultError(ErrorCode.NOT_FOUND, `The remote "${entry.name}" holds no state saved at or before ${new Date(moment).toISOString()}.`, { remote: entry.name, at: moment });
  return pullAndRestore(vault, entry.name, { backupId: pick.backupId, ...(into === undefined ? {} : { into }) }, pick);
}
