/**
 * Continuous replication (Litestream's idea, for a browser tab): while the vault is open, shortly
 * after each save the live database's new chunks and a small head manifest (`heads/<vault>`) go
 * to the remote, so the remote is never more than a few seconds behind. Each pushed head is also
 * kept as a point (`points/<vault>/<at>`, worker/remote/points.ts) for remote time travel. Not a job (it would fill
 * the history); a failed push is retried at the next tick.
 *
 * Invariants:
 * - The live head is held while it is sent: a save replacing it cannot remove chunks being sent.
 * - Head pushes on one remote run one at a time, and never during this open's collection (`entry.lock`).
 */
import { sha256Hex } from '../../src/format/sha256';
import { readImage } from '../jobs/chunk-io';
import type { VaultContext } from '../jobs/context';
import { newId } from '../jobs/runner';
import { LIVE_HEAD } from '../store/schema';
import type { RemoteEntry } from './registry';
import { keepPoint } from './points';
import { remoteManifest, sendManifest } from './push';

/** Starts pushing the head of `vault` to `entry` `entry.continuousMs` after each save. */
export function startContinuous(vault: VaultContext, entry: RemoteEntry): void {
  const delay = entry.continuousMs;
  if (delay === undefined || delay === 0) return;
  const controller = new AbortController();
  let pushedAt: number | undefined;
  const points = new Map<string, number>();
  /** The point objects this open wrote: the only ones its thinning may delete. */
  const mine = new Set<string>();
  let running = false;
  const tick = async () => {
    const head = vault.store.head(LIVE_HEAD);
    if (running || !head || head.savedAt === pushedAt || Date.now() - head.savedAt < delay || vault.store.stoppedBy) return;
    running = true;
    try {
      const held = await vault.store.hold(LIVE_HEAD);
      try {
        // The head's image hash is computed here, over the bytes (a live head need not carry one).
        const image = await readImage(vault.store, held.manifest, { signal: controller.signal });
        const info = { backupId: newId('bk'), createdAt: head.savedAt, method: 'pages' as const, sizeBytes: held.manifest.sizeBytes, pageSize: held.manifest.pageSize, pageCount: held.manifest.pageCount, sha256: await sha256Hex(image), tables: vault.live.conn.tables() };
        const remote = remoteManifest(vault, info, held.manifest, 'head');
        await entry.lock.run(async () => {
          await sendManifest(vault, entry, held.manifest, remote, controller.signal);
          await keepPoint(vault, entry, remote, points, controller.signal, mine);
        });
        pushedAt = head.savedAt;
      } finally {
        await held.release();
      }
    } catch {
      // Unreachable remote, a closing vault: the next tick tries again.
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(100, Math.floor(delay / 2)));
  entry.stop = () => {
    clearInterval(timer);
    controller.abort();
  };
}
