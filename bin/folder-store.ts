/**
 * A local folder as a remote store for the CLI: a copy of a repository made by any tool (`rclone
 * copy`, `aws s3 sync`, `cp -r` of a File System Access folder) reads as the repository itself.
 * Each `/` of an object name is a subfolder, as in the browser's directory store.
 *
 * Invariant: a write goes to a temporary file renamed over the target, so a reader never sees half
 * an object (the same guarantee an S3 PUT gives).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ErrorCode, PagevaultError } from '../src/errors';
import type { RemoteObjectInfo, RemoteStore } from '../src/remote/index';

const missing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');

function failed(action: string, name: string, error: unknown): PagevaultError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  const denied = errno === 'EACCES' || errno === 'EPERM';
  return new PagevaultError(denied ? ErrorCode.REMOTE_DENIED : ErrorCode.REMOTE_UNAVAILABLE, `Cannot ${action} ${name} in the folder: ${errno}.`, { status: 0, errno }, { cause: error });
}

/**
 * A store over the folder `root` (which must exist: a mistyped path is not an empty repository).
 * @throws FILE_NOT_FOUND when `root` does not exist; INVALID_ARGUMENT when it is not a folder.
 */
export async function folderStore(root: string): Promise<RemoteStore> {
  try {
    if (!(await stat(root)).isDirectory()) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${root} is not a folder; name the folder that holds the repository's config.`, { path: root });
  } catch (error) {
    if (error instanceof PagevaultError) throw error;
    throw new PagevaultError(ErrorCode.FILE_NOT_FOUND, `The folder ${root} does not exist.`, { path: root }, { cause: error });
  }
  const pathOf = (name: string) => {
    // Names come from listings and manifests: one that climbs out of the folder is refused.
    if (name.split('/').some((part) => part === '..' || part === '.')) throw new PagevaultError(ErrorCode.INVALID_BACKUP, `Refusing object name ${name}.`, {});
    return join(root, ...name.split('/'));
  };
  const head = async (name: string): Promise<RemoteObjectInfo | undefined> => {
    try {
      const s = await stat(pathOf(name));
      return s.isFile() ? { name, size: s.size, lastModified: s.mtimeMs } : undefined;
    } catch (error) {
      if (missing(error)) return undefined;
      throw failed('check', name, error);
    }
  };
  return {
    location: `folder:${root}`,
    async put(name, bytes) {
      const target = pathOf(name);
      const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(temp, bytes);
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw failed('store', name, error);
      }
    },
    async get(name) {
      try {
        const buffer = await readFile(pathOf(name));
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      } catch (error) {
        if (missing(error)) return undefined;
        throw failed('read', name, error);
      }
    },
    head,
    async delete(name) {
      try {
        await rm(pathOf(name), { force: true });
      } catch (error) {
        throw failed('delete', name, error);
      }
    },
    async list(prefix) {
      let entries: string[];
      try {
        entries = await readdir(root, { recursive: true });
      } catch (error) {
        throw failed('list', prefix, error);
      }
      const out: RemoteObjectInfo[] = [];
      for (const entry of entries) {
        const name = entry.split(sep).join('/');
        if (!name.startsWith(prefix) || name.endsWith('.tmp')) continue;
        const info = await head(name);
        if (info) out.push(info);
      }
      return out;
    },
  };
}
