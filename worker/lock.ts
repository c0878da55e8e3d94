/**
 * One owner per database: a Web Lock named after it, held for as long as the vault is open.
 * The browser releases it when the worker ends or its tab dies, so a crash never leaves it held.
 */
import { ErrorCode, PagevaultError } from '../src/errors';

export const LOCK_PREFIX = 'pagevault:';

/** The part of the Web Locks API (`navigator.locks`) the vault's lock needs. */
export interface LockRequester {
  request(name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<void> | undefined): Promise<unknown>;
}

/**
 * Takes the lock for `name` from `locks`, waiting up to `timeoutMs` (0: fail at once when it is held).
 * @returns a function that releases it.
 * @throws LOCKED when another owner keeps it past the timeout.
 */
export function acquireLock(name: string, timeoutMs: number, locks: LockRequester | undefined = (globalThis.navigator as Navigator | undefined)?.locks): Promise<() => void> {
  // Web Locks exist in every browser pagevault supports (Chromium 69+, Firefox 96+, Safari 15.4+);
  // without them (Node tests) there is no other tab to exclude.
  if (!locks) return Promise.resolve(() => undefined);
  const locked = () =>
    new PagevaultError(ErrorCode.LOCKED, `The database "${name}" is open in another tab or worker. Close it there, or open it with a longer lockTimeoutMs.`, {
      name,
      timeoutMs,
    });
  return new Promise((resolve, reject) => {
    const options: LockOptions = timeoutMs > 0 ? { mode: 'exclusive', signal: AbortSignal.timeout(timeoutMs) } : { mode: 'exclusive', ifAvailable: true };
    locks
      .request(LOCK_PREFIX + name, options, (lock) => {
        if (!lock) {
          reject(locked());
          return undefined;
        }
        // Hold the lock until the returned function is called.
        return new Promise<void>((release) => resolve(release));
      })
      .catch((error: unknown) => {
        const errName = error instanceof DOMException || error instanceof Error ? error.name : '';
        if (errName === 'AbortError' || errName === 'TimeoutError') reject(locked());
        else reject(new PagevaultError(ErrorCode.INTERNAL, `Web Locks failed: ${String(error)}`, { name }));
      });
  });
}
