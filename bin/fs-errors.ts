/** File system errors as the CLI reports them: a user's mistake gets its own code, never INTERNAL. */
import { ErrorCode, PagevaultError } from '../src/errors';

/**
 * Codes that mean the user named a file wrongly or gave a bad value (a name too long, a passphrase
 * file that is not UTF-8, a FIFO where a file is needed): the CLI exits 2 for these, as for usage errors.
 */
export const USER_MISTAKES: ReadonlySet<string> = new Set([
  ErrorCode.FILE_NOT_FOUND, ErrorCode.IS_A_DIRECTORY, ErrorCode.PERMISSION_DENIED, ErrorCode.OUTPUT_EXISTS, ErrorCode.INVALID_ARGUMENT,
]);

const BY_ERRNO: Readonly<Record<string, ErrorCode>> = {
  ENOENT: ErrorCode.FILE_NOT_FOUND,
  ENOTDIR: ErrorCode.FILE_NOT_FOUND,
  // Too many symbolic links: the path leads to no file.
  ELOOP: ErrorCode.FILE_NOT_FOUND,
  // A name or path longer than the file system takes: a bad argument, not a disk failure.
  ENAMETOOLONG: ErrorCode.INVALID_ARGUMENT,
  EISDIR: ErrorCode.IS_A_DIRECTORY,
  EACCES: ErrorCode.PERMISSION_DENIED,
  EPERM: ErrorCode.PERMISSION_DENIED,
  EROFS: ErrorCode.PERMISSION_DENIED,
  EEXIST: ErrorCode.OUTPUT_EXISTS,
  ENOSPC: ErrorCode.QUOTA_EXCEEDED,
  EDQUOT: ErrorCode.QUOTA_EXCEEDED,
};

/**
 * Turns an fs error into a `PagevaultError` naming the path and what was being done;
 * a `PagevaultError` passes through. Unknown errnos become STORAGE (the disk failed), not INTERNAL.
 */
export function fsError(error: unknown, action: string, path: string): PagevaultError {
  if (error instanceof PagevaultError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  const code = BY_ERRNO[errno] ?? ErrorCode.STORAGE;
  return new PagevaultError(code, `Cannot ${action} ${path}: ${errno}.`, { path, errno }, { cause: error });
}
