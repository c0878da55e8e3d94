/** A ByteSource over a Node file handle, so the CLI reads header and trailer before the body. */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ErrorCode, PagevaultError } from '../src/errors';
import type { ByteSource } from '../src/format/archive/source';
import { fsError } from './fs-errors';

export interface NodeFileSource extends ByteSource {
  close(): Promise<void>;
}

/**
 * Opens a file for random-access reads. Non-blocking open: a FIFO with no writer would otherwise
 * hang here; it, a device or a socket is refused (reads need a size and random access).
 * @throws FILE_NOT_FOUND, IS_A_DIRECTORY, PERMISSION_DENIED, INVALID_ARGUMENT (not a regular file).
 */
export async function openNodeFileSource(path: string): Promise<NodeFileSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fsError(error, 'open', path);
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    if (stats.isDirectory()) throw new PagevaultError(ErrorCode.IS_A_DIRECTORY, `${path} is a folder; name a backup or database file.`, { path });
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${path} is not a regular file (a FIFO, device or socket); name a backup or database file.`, { path });
  }
  const { size } = stats;
  return {
    size,
    async read(offset, length) {
      const buffer = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < buffer.length) {
        const { bytesRead } = await handle.read(buffer, done, buffer.length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
    close: () => handle.close(),
  };
}
