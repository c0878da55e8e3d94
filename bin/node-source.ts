/** A ByteSource over a Node file handle, so the CLI reads header and trailer before the body. */
import { open } from 'node:fs/promises';
import type { ByteSource } from '../src/format/archive/source';

export interface NodeFileSource extends ByteSource {
  close(): Promise<void>;
}

/**
 * Opens a file for random-access reads.
 * @throws the fs error (ENOENT...) as is; the CLI maps it.
 */
export async function openNodeFileSource(path: string): Promise<NodeFileSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
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
