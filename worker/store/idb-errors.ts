/**
 * IndexedDB failures as typed errors: every IndexedDB call of the store runs through `guard`, so a
 * `DOMException` never reaches a caller (README "Reliability": every failure is a PagevaultError).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';

/** Runs an IndexedDB operation, turning its failures into typed errors. @throws QUOTA_EXCEEDED, STORAGE. */
export async function guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw await storageError(error, operation);
  }
}

/** Maps a DOMException from IndexedDB to a PagevaultError (QUOTA_EXCEEDED carries the estimate). */
export async function storageError(error: unknown, operation: string): Promise<PagevaultError> {
  if (error instanceof PagevaultError) return error;
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  const message = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  if (name === 'QuotaExceededError' || /quota/i.test(message)) {
    const estimate = await (globalThis.navigator as Navigator | undefined)?.storage?.estimate?.().catch(() => undefined);
    return new PagevaultError(
      ErrorCode.QUOTA_EXCEEDED,
      `The browser refused to store more data while trying to ${operation}. Free space by dropping old backups, or ask for persistent storage.`,
      { operation, usageBytes: estimate?.usage ?? null, quotaBytes: estimate?.quota ?? null },
      { cause: error },
    );
  }
  if (name === 'VersionError') {
    return new PagevaultError(ErrorCode.STORAGE, 'A newer version of pagevault owns this database (opened in another tab); reload this page.', { operation }, { cause: error });
  }
  return new PagevaultError(ErrorCode.STORAGE, `IndexedDB failed to ${operation}: ${name || 'Error'}: ${message}`, { operation }, { cause: error });
}
