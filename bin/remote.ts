/**
 * `pagevault remote list|verify|extract`: reads a remote repository (src/format/REMOTE.md) from an
 * S3-compatible bucket or a local copy of one, so a support desk or a server can restore a user's
 * database without a browser.
 *
 * Invariants:
 * - Every object read is checked before use: the config's key check (WRONG_PASSPHRASE), each
 *   manifest's authentication and fields, each chunk's authentication and SHA-256, then the
 *   reassembled image's SHA-256 and SQLite's integrity_check (INTEGRITY / CORRUPT).
 * - extract writes through a temporary file that becomes the output only after every check passed.
 */
import { ErrorCode, PagevaultError, isPagevaultError } from '../src/errors';
import { chunkRefs, RemotePath, RemoteRepository, type RemoteChunkRef, type RemoteManifest } from '../src/remote/index';
import { sha256HexInPlace } from './hash';
import { writeOutput } from './output-file';
import { openTargetStore, REMOTE_PARALLEL, type RemoteTarget } from './remote-target';
import { checkImage } from './sqlite-check';

export const REMOTE_COMMANDS = ['list', 'verify', 'extract'] as const;
export type RemoteCommand = (typeof REMOTE_COMMANDS)[number];

export interface RemoteRequest extends RemoteTarget {
  readonly command: RemoteCommand;
  readonly backupId?: string;
  readonly out?: string;
  readonly force: boolean;
  readonly passphrase?: string;
  readonly progress: (done: number, total: number) => void;
}

/**
 * Runs one remote command and returns what it prints.
 * @throws REMOTE_DENIED, REMOTE_UNAVAILABLE, PASSPHRASE_REQUIRED, WRONG_PASSPHRASE, NOT_ENCRYPTED,
 *   NOT_FOUND (no such backup, or no repository at the location), INTEGRITY, CORRUPT, OUTPUT_EXISTS.
 */
export async function runRemote(request: RemoteRequest): Promise<unknown> {
  const store = await openTargetStore(request);
  const repo = await RemoteRepository.open(store, request.passphrase);
  if (!repo.initialized) {
    throw new PagevaultError(ErrorCode.NOT_FOUND, `There is no pagevault repository at ${request.location} (no config object).`, { location: request.location });
  }
  switch (request.command) {
    case 'list':
      return { location: request.location, encrypted: repo.layout.encrypted, backups: (await repo.listManifests()).map(({ manifest }) => summary(manifest)) };
    case 'verify':
      return request.backupId === undefined ? verifyAll(repo, request) : verifyOne(repo, request.backupId, request);
    case 'extract': {
      const { manifest } = await repo.readManifest(request.backupId!);
      return writeOutput(request.out!, request.force, async (out) => {
        const checked = await readImage(repo, manifest, request.progress, (bytes) => out.write([bytes]));
        return { ok: true, out: request.out, backupId: manifest.backupId, encrypted: repo.layout.encrypted, ...checked };
      });
    }
  }
}

/** What `list` shows of a manifest (the contract's `remote.list()` fields, plus who pushed it). */
function summary(m: RemoteManifest) {
  return {
    backupId: m.backupId,
    createdAt: m.createdAt,
    sizeBytes: m.sizeBytes,
    sha256: m.sha256,
    tables: m.tables,
    vault: m.vault,
    method: m.method,
    chunks: m.chunks.length,
    ...(m.partial ? { partial: true } : {}),
    ...(m.note === undefined ? {} : { note: m.note }),
  };
}

async function verifyOne(repo: RemoteRepository, backupId: string, request: RemoteRequest) {
  const { manifest } = await repo.readManifest(backupId);
  const checked = await readImage(repo, manifest, request.progress);
  return { ok: true, backupId, encrypted: repo.layout.encrypted, integrity: 'ok', ...checked };
}

/**
 * Every manifest under `backups/`, each read and checked on its own: one damaged backup is
 * reported (ok false, exit 1) and the others are still verified. A manifest that cannot be read
 * is reported by object name (an encrypted name tells nothing else).
 */
async function verifyAll(repo: RemoteRepository, request: RemoteRequest) {
  const names = repo.canList ? (await repo.list(RemotePath.backups)).map((o) => o.name).sort() : [];
  const results: Record<string, unknown>[] = [];
  for (const name of names) {
    try {
      const bytes = await repo.store.get(name);
      if (bytes === undefined) continue; // dropped since the listing
      const manifest = await repo.layout.decodeManifest(name, bytes);
      if ((await repo.layout.backupName(manifest.backupId)) !== name) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote manifest ${name} names another backup.`, { object: name });
      results.push({ ok: true, backupId: manifest.backupId, integrity: 'ok', ...(await readImage(repo, manifest, request.progress)) });
    } catch (error) {
      if (!isPagevaultError(error) || [ErrorCode.REMOTE_DENIED, ErrorCode.REMOTE_UNAVAILABLE, ErrorCode.CANCELLED].includes(error.code as never)) throw error;
      results.push({ ok: false, object: name, error: { code: error.code, message: error.message } });
    }
  }
  return { ok: results.every((r) => r['ok'] === true), encrypted: repo.layout.encrypted, verified: results.length, backups: results };
}

/**
 * Fetches a backup's chunks (several in flight, delivered in image order), checks each and then
 * the whole image (SHA-256, integrity_check). `sink` gets each checked piece in order.
 * @throws INTEGRITY, CORRUPT, REMOTE_*.
 */
async function readImage(repo: RemoteRepository, manifest: RemoteManifest, progress: (done: number, total: number) => void, sink?: (bytes: Uint8Array) => Promise<void>) {
  const image = new Uint8Array(manifest.sizeBytes);
  let offset = 0;
  let bytesRead = 0;
  let done = 0;
  for await (const got of inOrder(repo, chunkRefs(manifest))) {
    image.set(got.plain, offset);
    offset += got.plain.length;
    bytesRead += got.bytes;
    await sink?.(got.plain);
    progress(++done, manifest.chunks.length);
  }
  const sha256 = sha256HexInPlace(image);
  if (sha256 !== manifest.sha256) throw new PagevaultError(ErrorCode.INTEGRITY, `Backup ${manifest.backupId}: the reassembled image does not match its SHA-256.`, { backupId: manifest.backupId });
  const { tables } = await checkImage(image);
  return { sha256, sizeBytes: image.length, chunks: manifest.chunks.length, bytesRead, tables };
}

/** Chunk reads with up to REMOTE_PARALLEL in flight, yielded in order; the rest are cancelled on a failure. */
async function* inOrder(repo: RemoteRepository, refs: readonly RemoteChunkRef[]) {
  const abort = new AbortController();
  const pending: Promise<Awaited<ReturnType<RemoteRepository['getChunk']>>>[] = [];
  let next = 0;
  const start = () => {
    const read = repo.getChunk(refs[next++]!, abort.signal);
    // Awaited in order below; a failure behind an earlier read must not be an unhandled rejection.
    read.catch(() => undefined);
    pending.push(read);
  };
  try {
    while (next < refs.length && pending.length < REMOTE_PARALLEL * 2) start();
    while (pending.length > 0) {
      const got = await pending.shift()!;
      if (next < refs.length) start();
      yield got;
    }
  } finally {
    abort.abort();
  }
}
