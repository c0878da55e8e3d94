/**
 * The one error type pagevault throws, on both sides of the worker boundary.
 *
 * Invariants:
 * - `code` is one of {@link ErrorCode}; tests and callers branch on it, never on `message`.
 * - `details` is small and structured-cloneable (numbers, strings, plain objects).
 * - A `PagevaultError` thrown in the worker arrives on the page as a `PagevaultError`
 *   with the same `code` and `details` (see `errorToWire` / `errorFromWire`).
 */

/** Stable error codes. Documented in the README; never renamed once released. */
export const ErrorCode = {
  /** SQLite rejected the statement (syntax, constraint, missing table...). */
  SQLITE: 'SQLITE',
  /** The database is in a state that forbids the request right now (e.g. an open write transaction). */
  BUSY: 'BUSY',
  /** Another owner (tab, worker) holds this database. */
  LOCKED: 'LOCKED',
  /** Stored data failed its checks (hash mismatch, broken SQLite structure). */
  CORRUPT: 'CORRUPT',
  /** The browser refused to store more data. */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** IndexedDB failed for another reason. */
  STORAGE: 'STORAGE',
  /** Data this vault had stored is gone (the origin's storage was cleared or evicted). */
  STORAGE_LOST: 'STORAGE_LOST',
  /** No backup, job or schedule with that id. */
  NOT_FOUND: 'NOT_FOUND',
  /** An argument is missing, of the wrong type or out of range. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A job was cancelled before it finished. */
  CANCELLED: 'CANCELLED',
  /** A job was cut off by its worker ending (tab closed or reloaded); retry it. */
  INTERRUPTED: 'INTERRUPTED',
  /** The worker could not start (blocked by a Content-Security-Policy, script or wasm not found) or died. */
  WORKER: 'WORKER',
  /** The vault was closed, or its worker ended. */
  CLOSED: 'CLOSED',
  /** A file is not a backup pagevault can read. */
  INVALID_BACKUP: 'INVALID_BACKUP',
  /** A backup file of a format version this build does not know. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** A backup file was altered, truncated or damaged. */
  INTEGRITY: 'INTEGRITY',
  /** The passphrase does not open this encrypted backup. */
  WRONG_PASSPHRASE: 'WRONG_PASSPHRASE',
  /** The backup is encrypted and no passphrase was given. */
  PASSPHRASE_REQUIRED: 'PASSPHRASE_REQUIRED',
  /** An encrypted backup was required and the file is plain (a downgrade or a forged copy). */
  NOT_ENCRYPTED: 'NOT_ENCRYPTED',
  /** A SQLite database has a non-empty `-wal` file beside it: committed data may be only there. */
  WAL_PRESENT: 'WAL_PRESENT',
  /** A SQLite database has a hot `-journal` beside it: the main file may be half-written. */
  HOT_JOURNAL: 'HOT_JOURNAL',
  /** A file or folder the user named does not exist (CLI). */
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  /** A folder was named where a file is expected (CLI). */
  IS_A_DIRECTORY: 'IS_A_DIRECTORY',
  /** The operating system refused access to a file or folder (CLI). */
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  /** The output file exists (a dangling symlink counts) and `--force` was not given (CLI). */
  OUTPUT_EXISTS: 'OUTPUT_EXISTS',
  /** An incremental backup's base is missing or is another database. */
  CHAIN: 'CHAIN',
  /** The bytes are not a SQLite database. */
  NOT_SQLITE: 'NOT_SQLITE',
  /** A sound database uses a SQLite feature this build lacks (e.g. an FTS5 table: "no such module: fts5"). */
  UNSUPPORTED_FEATURE: 'UNSUPPORTED_FEATURE',
  /** A size or time limit was exceeded. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** A remote store could not be reached, timed out, or answered 5xx after retries (`details.status` when it answered). */
  REMOTE_UNAVAILABLE: 'REMOTE_UNAVAILABLE',
  /** A remote store refused the request (401/403: bad credentials, an expired signature, no permission). Not retried. */
  REMOTE_DENIED: 'REMOTE_DENIED',
  /** A bug in pagevault. Please report it. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Small, structured-cloneable facts about an error (ids, sizes, the operation). */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null | undefined | readonly (string | number)[]>>;

const ERROR_NAME = 'PagevaultError';

/** The error every pagevault API rejects with. Branch on `code`. */
export class PagevaultError extends Error {
  override readonly name = ERROR_NAME;
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/**
 * True for a {@link PagevaultError}, also one made in another realm (checks `name` and `code`
 * as well as `instanceof`, so it holds across iframes and bundles).
 */
export function isPagevaultError(value: unknown): value is PagevaultError {
  if (value instanceof PagevaultError) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; code?: unknown };
  return v.name === ERROR_NAME && typeof v.code === 'string' && v.code in ErrorCode;
}

/** The shape a `PagevaultError` takes on the wire between worker and page. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
}

/** Converts anything thrown into the wire shape; unknown errors become `INTERNAL`. */
export function errorToWire(error: unknown): WireError {
  if (isPagevaultError(error)) return { code: error.code, message: error.message, details: error.details };
  const message = error instanceof Error ? error.message : String(error);
  return { code: ErrorCode.INTERNAL, message: `Unexpected error: ${message}`, details: {} };
}

/** Rebuilds a `PagevaultError` from its wire shape. */
export function errorFromWire(wire: WireError): PagevaultError {
  return new PagevaultError(wire.code, wire.message, wire.details);
}
