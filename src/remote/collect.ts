/**
 * Collection of unreferenced chunk objects, safe while other devices push to the same prefix
 * (REMOTE.md "Collection"): mark now, sweep a grace period later, and only what is still
 * unreferenced and was not written again since the mark.
 *
 * Invariants:
 * - A chunk is deleted only when a mark named it, at least `graceMs` have passed since the mark,
 *   no manifest names it now, and its modification time is before the mark's (both the store's clock).
 * - A store that cannot list collects nothing (nothing can enumerate its chunks).
 * - Deletes happen only under an exclusive lease (lock.ts), never while another device's push holds one.
 */
import { ErrorCode, PagevaultError } from '../errors';
import { RemotePath } from '../format/remote-layout';
import { withExclusiveLease } from './lock';
import type { RemoteRepository } from './repository';

/** Default grace period between marking and sweeping: longer than any push. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;

export interface Mark {
  readonly name: string;
  /** The mark object's modification time on the store. */
  readonly at: number;
  readonly candidates: ReadonlySet<string>;
}

/** Every mark on the remote (none on a store that cannot list). */
export async function readMarks(repo: RemoteRepository, signal?: AbortSignal): Promise<Mark[]> {
  if (!repo.canList) return [];
  const listed = await repo.list(RemotePath.marks, signal);
  const marks = await Promise.all(
    listed.map(async (o): Promise<Mark | undefined> => {
      const bytes = await repo.store.get(o.name, signal);
      if (bytes === undefined) return undefined; // swept meanwhile
      const value = await repo.layout.decodeJson(o.name, bytes, 'mark');
      const candidates = value['candidates'];
      if (!Array.isArray(candidates)) throw new PagevaultError(ErrorCode.INVALID_BACKUP, `Remote mark ${o.name} is malformed.`);
      return { name: o.name, at: o.lastModified ?? 0, candidates: new Set(candidates.filter((c): c is string => typeof c === 'string')) };
    }),
  );
  return marks.filter((m): m is Mark => m !== undefined);
}

/** Chunk object names every manifest (backups, heads and points) names now. */
async function referencedNames(repo: RemoteRepository, signal?: AbortSignal): Promise<Set<string>> {
  const prefixes = [RemotePath.backups, RemotePath.heads, RemotePath.points];
  const manifests = (await Promise.all(prefixes.map((prefix) => repo.listManifests(signal, prefix, true)))).flat();
  const keys = new Set(manifests.flatMap((m) => m.manifest.chunks));
  return new Set(await Promise.all([...keys].map((key) => repo.layout.chunkName(key))));
}

/**
 * One collection pass: sweeps the marks whose grace has passed, then marks what is unreferenced
 * and not yet marked. With `graceMs` 0 the new mark is swept at once (single-device use only).
 * @returns chunks deleted, and chunks marked (waiting for their grace period).
 * @throws UNSUPPORTED_VERSION when a manifest cannot be read by this build (nothing is deleted), REMOTE_DENIED, REMOTE_UNAVAILABLE, CANCELLED.
 */
export async function collectChunks(repo: RemoteRepository, graceMs: number = DEFAULT_GRACE_MS, signal?: AbortSignal): Promise<{ deleted: number; marked: number }> {
  if (!repo.canList) return { deleted: 0, marked: 0 };
  let deleted = 0;
  const sweep = async (now: number) => {
    const marks = (await readMarks(repo, signal)).filter((m) => m.at + graceMs <= now);
    if (marks.length === 0) return;
    // Under an exclusive lease: a push from another device waits until the deletes end (and then
    // lists again); while a push holds its lease this pass deletes nothing (the marks stay).
    await withExclusiveLease(repo, () => sweepMarks(marks), signal);
  };
  const sweepMarks = async (marks: Mark[]) => {
    // Listed and read after the marks: a manifest written since is seen.
    const chunks = new Map((await repo.list(RemotePath.chunks, signal)).map((o) => [o.name, o.lastModified ?? Number.POSITIVE_INFINITY]));
    const referenced = await referencedNames(repo, signal);
    for (const mark of marks) {
      for (const name of mark.candidates) {
        const modified = chunks.get(name);
        // Written again since the mark (whole seconds: S3 reports modification times to the second).
        // With no grace period there is no other writer to protect (single-device use).
        const rewritten = graceMs > 0 && Math.floor((modified ?? 0) / 1000) >= Math.floor(mark.at / 1000);
        if (modified === undefined || referenced.has(name) || rewritten) continue;
        await repo.store.delete(name, signal);
        chunks.delete(name);
        deleted++;
      }
      await repo.store.delete(mark.name, signal);
    }
  };
  await sweep(Date.now());
  const pending = new Set((await readMarks(repo, signal)).flatMap((m) => [...m.candidates]));
  const referenced = await referencedNames(repo, signal);
  const unreferenced = (await repo.list(RemotePath.chunks, signal)).map((o) => o.name).filter((name) => !referenced.has(name) && !pending.has(name));
  if (unreferenced.length > 0) {
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    const name = RemotePath.marks + id;
    await repo.store.put(name, await repo.layout.encodeJson(name, { candidates: unreferenced }), signal);
    if (graceMs === 0) await sweep(Number.POSITIVE_INFINITY);
  }
  const left = (await readMarks(repo, signal)).reduce((n, m) => n + m.candidates.size, 0);
  return { deleted, marked: left };
}
