/**
 * Before `create` copies a SQLite file it makes sure the file alone is the database: committed
 * rows can live in a `-wal` file beside it, and a hot `-journal` means the main file may be
 * half-written. SQLite replays both when it opens the file; sql.js cannot read them, and replaying
 * them by hand is how copies get torn. So `create` refuses and names the command that makes a
 * consistent copy.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ErrorCode, PagevaultError } from '../src/errors';
import { fsError } from './fs-errors';

/** First 8 bytes of a rollback journal that still has to be replayed (zeroed once committed in PERSIST mode). */
const JOURNAL_MAGIC = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/**
 * Size and first bytes of a file, or undefined when it does not exist.
 * @throws IS_A_DIRECTORY or INVALID_ARGUMENT when something else than a file has that name
 *   (SQLite could not use it as its journal either), PERMISSION_DENIED, STORAGE.
 */
async function peek(path: string, length: number): Promise<{ size: number; head: Uint8Array } | undefined> {
  let handle: FileHandle;
  try {
    // Non-blocking: a FIFO by that name must not hang the CLI.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, 'read', path);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new PagevaultError(ErrorCode.IS_A_DIRECTORY, `${path} is a folder where SQLite keeps its journal; move it away first.`, { path });
    if (!stats.isFile()) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${path} is not a regular file where SQLite keeps its journal; move it away first.`, { path });
    const head = new Uint8Array(Math.min(length, stats.size));
    await handle.read(head, 0, head.length, 0);
    return { size: stats.size, head };
  } catch (error) {
    throw fsError(error, 'read', path);
  } finally {
    await handle.close();
  }
}

const quote = (path: string): string => `'${path.replaceAll("'", `'\\''`)}'`;

/**
 * Refuses a database whose `-wal` is not empty or whose `-journal` is hot.
 * @throws WAL_PRESENT, HOT_JOURNAL (the message names `sqlite3 DB ".backup COPY"`), PERMISSION_DENIED.
 */
export async function refuseUnsafeCopy(path: string): Promise<void> {
  const fix = `Make a consistent copy with SQLite and back that up instead: sqlite3 ${quote(path)} ".backup ${quote(`${path}.copy`)}" (or close every program using the database first).`;
  const wal = await peek(`${path}-wal`, 0);
  if (wal !== undefined && wal.size > 0) {
    throw new PagevaultError(ErrorCode.WAL_PRESENT, `${path} has a ${wal.size}-byte write-ahead log beside it (${path}-wal): committed rows may be only there, so the file alone is not the database. ${fix}`, { path, walBytes: wal.size });
  }
  const journal = await peek(`${path}-journal`, JOURNAL_MAGIC.length);
  if (journal !== undefined && journal.head.length === JOURNAL_MAGIC.length && JOURNAL_MAGIC.every((b, i) => journal.head[i] === b)) {
    throw new PagevaultError(ErrorCode.HOT_JOURNAL, `${path} has a hot rollback journal beside it (${path}-journal): a write was interrupted or is under way, so the file may be half-written. ${fix}`, { path });
  }
}
