/**
 * How the CLI writes a file: never over an existing path without `--force` (a symlink, even a
 * dangling one, exists), into a temporary file in the target's folder, created with the target's
 * mode (0600 for a new file: outputs hold database contents), fsynced, renamed over the target,
 * then the folder fsynced so the rename survives a power cut. The temporary file is removed on
 * every exit path: an error, an exception, SIGINT, SIGTERM or SIGHUP.
 *
 * Invariant: at any moment the target is either untouched or the complete, synced new file.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync, type Stats } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, PagevaultError } from '../src/errors';
import { fsError } from './fs-errors';

/** Mode of a new output file: owner only, whatever the umask. */
export const NEW_FILE_MODE = 0o600;
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Temporary files that exist right now; the signal and exit handlers remove them. */
const live = new Set<string>();

function removeLiveSync(): void {
  for (const path of live) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone (renamed or removed): nothing to clean.
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeLiveSync();
  uninstall();
  // Die of the same signal, as if no handler had been installed (the shell sees 130 for SIGINT).
  process.kill(process.pid, signal);
}

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('exit', removeLiveSync);
}
function uninstall(): void {
  if (!installed || live.size > 0) return;
  installed = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off('exit', removeLiveSync);
}

/** An output being written; `commit` puts it in place, `abort` removes it. */
export interface OutputFile {
  readonly target: string;
  /** Appends bytes. */
  write(parts: readonly Uint8Array[]): Promise<void>;
  /** Syncs, renames over the target, syncs the folder. */
  commit(): Promise<void>;
  /** Removes the temporary file; the target is untouched. Never throws. */
  abort(): Promise<void>;
}

/** What is at `target` now: nothing, a regular file (its mode) or something we refuse to replace. */
async function existing(target: string, force: boolean): Promise<number | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, 'check', target);
  }
  if (stats.isDirectory()) throw new PagevaultError(ErrorCode.IS_A_DIRECTORY, `${target} is a folder; name a file to write.`, { path: target });
  if (!force) {
    const what = stats.isSymbolicLink() ? 'is a symbolic link' : 'exists';
    throw new PagevaultError(ErrorCode.OUTPUT_EXISTS, `${target} ${what}; pass --force to replace it.`, { path: target });
  }
  // --force replaces a symlink itself (never writes through it); a regular file keeps its mode.
  return stats.isFile() ? stats.mode & 0o7777 : undefined;
}

/**
 * Starts writing `target`.
 * @throws OUTPUT_EXISTS (without `force`), IS_A_DIRECTORY, FILE_NOT_FOUND (no such folder), PERMISSION_DENIED.
 */
export async function createOutput(target: string, force: boolean): Promise<OutputFile> {
  const mode = (await existing(target, force)) ?? NEW_FILE_MODE;
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  live.add(temp);
  install();
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', mode);
    await handle.chmod(mode); // the umask may have narrowed it; the target's mode is wanted exactly
  } catch (error) {
    live.delete(temp);
    await unlink(temp).catch(() => undefined);
    uninstall();
    throw fsError(error, 'create a file in', dirname(target));
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const forget = () => {
    live.delete(temp);
    uninstall();
  };
  return {
    target,
    async write(parts) {
      try {
        for (const part of parts) {
          for (let done = 0; done < part.length; ) done += (await handle.write(part, done, part.length - done)).bytesWritten;
        }
      } catch (error) {
        throw fsError(error, 'write', target);
      }
    },
    async commit() {
      try {
        await handle.sync();
        await close();
        await rename(temp, target);
      } catch (error) {
        throw fsError(error, 'write', target);
      }
      forget();
      await syncFolder(dirname(target));
    },
    async abort() {
      await close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      forget();
    },
  };
}

/** Makes a rename durable: fsync of the folder (skipped where the platform cannot open folders). */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno !== 'EISDIR' && errno !== 'EINVAL' && errno !== 'EPERM') throw fsError(error, 'sync the folder', folder);
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `target` through `produce`: committed when it resolves, removed when it throws.
 * @throws what `createOutput` and `produce` throw.
 */
export async function writeOutput<T>(target: string, force: boolean, produce: (out: OutputFile) => Promise<T>): Promise<T> {
  const out = await createOutput(target, force);
  try {
    const result = await produce(out);
    await out.commit();
    return result;
  } catch (error) {
    await out.abort();
    throw error;
  }
}
