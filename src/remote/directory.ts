/**
 * A folder on disk as a remote store (File System Access API, Chromium desktop): each `/` of an
 * object name is a subfolder. `createWritable` writes to a swap file and replaces the target on
 * close, so a reader never sees half an object.
 */
import { ErrorCode, PagevaultError } from '../errors';
import type { DirectoryRemoteOptions } from '../protocol';
import type { RemoteObjectInfo, RemoteStore } from './store';

const isMissing = (error: unknown) => error instanceof DOMException && (error.name === 'NotFoundError' || error.name === 'TypeMismatchError');

function failed(what: string, error: unknown): PagevaultError {
  if (error instanceof PagevaultError) return error;
  const denied = error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
  return new PagevaultError(denied ? ErrorCode.REMOTE_DENIED : ErrorCode.REMOTE_UNAVAILABLE, `The folder could not ${what}: ${error instanceof Error ? error.message : String(error)}.`, { status: 0 }, { cause: error });
}

/** @throws INVALID_ARGUMENT when `handle` is not a directory handle. */
export function directoryStore(options: DirectoryRemoteOptions): RemoteStore {
  const root = options.handle;
  if (typeof root?.getDirectoryHandle !== 'function') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'A directory remote needs a FileSystemDirectoryHandle.', {});
  const folder = async (parts: string[], create: boolean) => {
    let dir = root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create });
    return dir;
  };
  const split = (name: string) => {
    const parts = name.split('/');
    return { dirs: parts.slice(0, -1), file: parts[parts.length - 1]! };
  };
  const file = async (name: string): Promise<File | undefined> => {
    const { dirs, file: leaf } = split(name);
    try {
      return await (await (await folder(dirs, false)).getFileHandle(leaf)).getFile();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw failed(`read ${name}`, error);
    }
  };
  return {
    location: `directory:${root.name}`,
    async put(name, bytes) {
      const { dirs, file: leaf } = split(name);
      try {
        const handle = await (await folder(dirs, true)).getFileHandle(leaf, { create: true });
        const writable = await handle.createWritable();
        await writable.write(bytes as Uint8Array<ArrayBuffer>);
        await writable.close();
      } catch (error) {
        throw failed(`store ${name}`, error);
      }
    },
    async get(name) {
      const f = await file(name);
      return f ? new Uint8Array(await f.arrayBuffer()) : undefined;
    },
    async head(name) {
      const f = await file(name);
      return f ? { name, size: f.size, lastModified: f.lastModified } : undefined;
    },
    async delete(name) {
      const { dirs, file: leaf } = split(name);
      try {
        await (await folder(dirs, false)).removeEntry(leaf);
      } catch (error) {
        if (!isMissing(error)) throw failed(`delete ${name}`, error);
      }
    },
    async list(prefix) {
      const out: RemoteObjectInfo[] = [];
      const walk = async (dir: FileSystemDirectoryHandle, path: string): Promise<void> => {
        for await (const [entryName, entry] of (dir as unknown as AsyncIterable<[string, FileSystemHandle]>)) {
          const full = path + entryName;
          if (entry.kind === 'directory') await walk(entry as FileSystemDirectoryHandle, `${full}/`);
          else if (full.startsWith(prefix)) {
            const f = await (entry as FileSystemFileHandle).getFile();
            out.push({ name: full, size: f.size, lastModified: f.lastModified });
          }
        }
      };
      const { dirs } = split(prefix);
      try {
        await walk(await folder(dirs, false), dirs.length > 0 ? `${dirs.join('/')}/` : '');
      } catch (error) {
        if (!isMissing(error)) throw failed(`list ${prefix}`, error);
      }
      return out;
    },
  };
}
