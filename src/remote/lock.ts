/**
 * Lease objects that keep a sweep's deletes and another device's push apart (REMOTE.md
 * "Collection"): a sweep holds an exclusive lease (`locks/x-<id>`), a push a shared one
 * (`locks/s-<id>`). Each writes its lease, then lists `locks/`.
 *
 * Invariants:
 * - Write, then list: with a store whose LIST sees every completed PUT (S3, R2, MinIO, a folder),
 *   of a sweep and a push that overlap at least one sees the other's lease; a sweep that sees any
 *   live lease gives up its pass, a push that sees a live exclusive lease waits. Never both proceed.
 * - A lease is live while its modification time (the store's clock) is within LOCK_STALE_MS of the
 *   caller's own lease; holders rewrite theirs every LOCK_REFRESH_MS, so a crashed holder blocks
 *   others for at most LOCK_STALE_MS.
 * - A lease is deleted when its holder ends, whether it succeeded or not.
 */
import { ErrorCode, PagevaultError } from '../errors';
import { RemotePath } from '../format/remote-layout';
import type { RemoteRepository } from './repository';

export const LOCK_STALE_MS = 120_000;
const LOCK_REFRESH_MS = 30_000;
/** A push waiting for a sweep asks again this often. */
const LOCK_RETRY_MS = 1_000;

export type LockKind = 'shared' | 'exclusive';

interface Held {
  readonly name: string;
  release(): Promise<void>;
}

const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new PagevaultError(ErrorCode.CANCELLED, 'Cancelled while waiting for another device to finish collecting.', {}));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Writes a lease and checks the others; undefined (lease removed) when a live conflicting one exists. */
async function tryAcquire(repo: RemoteRepository, kind: LockKind, signal?: AbortSignal): Promise<Held | undefined> {
  const name = `${RemotePath.locks}${kind === 'exclusive' ? 'x' : 's'}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const body = await repo.layout.encodeJson(name, { kind });
  await repo.store.put(name, body, signal);
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = repo.store.put(name, body).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  const release = async () => {
    clearInterval(timer);
    await refreshing;
    // No caller signal: a cancelled holder still removes its lease.
    await repo.store.delete(name).catch(() => undefined);
  };
  try {
    const listed = await repo.list(RemotePath.locks, signal);
    const own = listed.find((o) => o.name === name);
    // Without the store's time for our own lease nothing can be judged stale: every lease is live.
    const now = own?.lastModified ?? Number.POSITIVE_INFINITY;
    const conflict = own === undefined || listed.some((o) => o.name !== name && (kind === 'exclusive' || o.name.startsWith(`${RemotePath.locks}x-`)) && (o.lastModified ?? now) > now - LOCK_STALE_MS);
    if (!conflict) return { name, release };
  } catch (error) {
    await release();
    throw error;
  }
  await release();
  return undefined;
}

/**
 * Runs `body` under an exclusive lease, or resolves undefined at once (without running it) when
 * another device holds a live lease.
 * @throws whatever `body` or the store throws (REMOTE_*, CANCELLED).
 */
export async function withExclusiveLease<T>(repo: RemoteRepository, body: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  const held = await tryAcquire(repo, 'exclusive', signal);
  if (!held) return undefined;
  try {
    return await body();
  } finally {
    await held.release();
  }
}

/**
 * Runs `body` under a shared lease, waiting while another device sweeps.
 * @throws whatever `body` or the store throws (REMOTE_*, CANCELLED).
 */
export async function withSharedLease<T>(repo: RemoteRepository, body: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    const held = await tryAcquire(repo, 'shared', signal);
    if (held) {
      try {
        return await body();
      } finally {
        await held.release();
      }
    }
    await pause(LOCK_RETRY_MS, signal);
  }
}
