/**
 * How the CLI writes a file: never over an existing path without `--force` (a symlink, even a
 * dangling one, exists), and never over anything but a regular file or a symlink even with it;
 * into a temporary file in the target's folder, created with the target's permission bits (0600
 * for a new file: outputs hold database contents), fsynced, then put in place, and the folder
 * fsynced so that survives a power cut. Without `--force` it is put in place with link(2), which
 * fails if the target appeared meanwhile (another program, a second pagevault): nothing is ever
 * replaced unasked. The temporary file is removed on every exit path: an error, an exception, and
 * every terminating signal a process can catch (SIGKILL cannot be).
 *
 * Invariant: at any moment the target is either untouched or the complete, synced new file.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync, type Stats } from 'node:fs';
import { link, lstat, open, rename, unlink } from 'node:fs/promises';
import { constants } from 'node:os';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { ErrorCode, PagevaultError } from '../src/errors';
import { fsError } from './fs-errors';

/** Mode of a new output file: owner only, whatever the umask. */
export const NEW_FILE_MODE = 0o600;
/**
 * Signals whose default action ends the process and that Node lets a program catch. Not here:
 * SIGKILL and SIGSTOP (uncatchable), SIGBUS, SIGFPE, SIGSEGV and SIGILL (a fault: no JavaScript
 * may run), SIGUSR1 (Node starts its debugger) and SIGPIPE (Node ignores it).
 */
const TERMINATING: readonly string[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGXCPU', 'SIGXFSZ',
  'SIGTRAP', 'SIGABRT', 'SIGSYS', 'SIGIO', 'SIGPOLL', 'SIGPWR', 'SIGSTKFLT', 'SIGLOST', 'SIGINFO',
];
/** The terminating signals this platform has. */
export const HANDLED_SIGNALS: readonly NodeJS.Signals[] = [...new Set(TERMINATING.filter((s) => s in constants.signals))] as NodeJS.Signals[];
/** Longest file name most file systems take (NAME_MAX, in bytes). */
const NAME_MAX = 255;
/** Bytes of the target's name kept in the temporary name; the rest (dot, random part, `.tmp`) fits in NAME_MAX. */
const TEMP_NAME_KEEP = NAME_MAX - 32;

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
  for (const signal of HANDLED_SIGNALS) process.on(signal, onSignal);
  process.on('exit', removeLiveSync);
}
function uninstall(): void {
  if (!installed || live.size > 0) return;
  installed = false;
  for (const signal of HANDLED_SIGNALS) process.off(signal, onSignal);
  process.off('exit', removeLiveSync);
}

/** An output being written; `commit` puts it in place, `abort` removes it. */
export interface OutputFile {
  readonly target: string;
  /** Appends bytes. */
  write(parts: readonly Uint8Array[]): Promise<void>;
  /** Syncs, puts the file in place (link without `force`, rename with it), syncs the folder. */
  commit(): Promise<void>;
  /** Removes the temporary file; the target is untouched. Never throws. */
  abort(): Promise<void>;
}

const outputExists = (target: string, what = 'exists'): PagevaultError =>
  new PagevaultError(ErrorCode.OUTPUT_EXISTS, `${target} ${what}; pass --force to replace it.`, { path: target });

/**
 * Checks that `target` may be written, before any work is done: a name (not empty, not ending in
 * a slash), not a folder, and nothing there unless `force`, and with `force` only a regular file
 * or a symbolic link. Returns the permission bits of a regular file to replace.
 * @throws INVALID_ARGUMENT, IS_A_DIRECTORY, OUTPUT_EXISTS, PERMISSION_DENIED.
 */
export async function checkTarget(target: string, force: boolean): Promise<number | undefined> {
  if (target === '') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'The output name is empty; name a file to write.', { usage: true });
  if (target.endsWith('/') || target.endsWith(sep)) throw new PagevaultError(ErrorCode.IS_A_DIRECTORY, `${target} names a folder; name a file to write.`, { path: target });
  let stats: Stats;
  try {
    stats = await lstat(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, 'check', target);
  }
  if (stats.isDirectory()) throw new PagevaultError(ErrorCode.IS_A_DIRECTORY, `${target} is a folder; name a file to write.`, { path: target });
  if (!force) throw outputExists(target, stats.isSymbolicLink() ? 'is a symbolic link' : 'exists');
  if (!stats.isFile() && !stats.isSymbolicLink()) {
    // A FIFO, device or socket: replacing it (as root, /dev/null) is never what was meant.
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${target} is not a regular file (a device, FIFO or socket); name a file to write.`, { path: target });
  }
  // --force replaces a symlink itself (never writes through it); a regular file keeps its
  // permission bits, never setuid, setgid or sticky (a decrypted database is not a program).
  return stats.isFile() ? stats.mode & 0o777 : undefined;
}

/** The temporary file's name: the target's name cut to fit NAME_MAX with the random part. */
function tempName(target: string): string {
  let name = basename(target);
  while (Buffer.byteLength(name) > TEMP_NAME_KEEP) name = [...name].slice(0, -1).join('');
  return join(dirname(target), `.${name}.${randomBytes(6).toString('hex')}.tmp`);
}

/** File systems without hard links answer link(2) with one of these. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Puts `temp` at `target`: replaces only with `force` (and then only a file or a link). */
async function putInPlace(temp: string, target: string, force: boolean): Promise<void> {
  if (force) {
    await checkTarget(target, true); // what is there may have changed since the start
    await rename(temp, target);
    return;
  }
  try {
    await link(temp, target);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? '';
    if (errno === 'EEXIST') throw outputExists(target, 'appeared while it was written');
    if (!NO_LINKS.has(errno)) throw error;
    // No hard links here: check again and rename (a program that creates the target between the
    // two steps loses its file; this is the best such a file system allows).
    await checkTarget(target, false);
    await rename(temp, target);
    return;
  }
  await unlink(temp);
}

/**
 * Starts writing `target`.
 * @throws OUTPUT_EXISTS (without `force`), IS_A_DIRECTORY, FILE_NOT_FOUND (no such folder), PERMISSION_DENIED,
 *   INVALID_ARGUMENT (an empty name, or a device, FIFO or socket).
 */
export async function createOutput(target: string, force: boolean): Promise<OutputFile> {
  const mode = (await checkTarget(target, force)) ?? NEW_FILE_MODE;
  const temp = tempName(target);
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
        await putInPlace(temp, target, force);
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
