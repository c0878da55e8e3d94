/**
 * The storage-adapter interface every remote kind implements (S3, HTTP, a folder), and the one
 * request loop the HTTP-based kinds share: a timeout per attempt, retries with exponential backoff
 * and full jitter on network failures, 429 and 5xx, and a cap on requests in flight.
 *
 * Invariants:
 * - 401 and 403 are `REMOTE_DENIED` at once (credentials or a signature will not improve by retrying).
 * - A failure that outlives the retries is `REMOTE_UNAVAILABLE` with `details.status` (0: no answer).
 * - A caller's abort is `CANCELLED`, never retried.
 * - Names are relative to the repository prefix (`chunks/ab12...`); adapters add the prefix.
 */
import { ErrorCode, PagevaultError } from '../errors';
import type { RetryOptions } from '../protocol';

export type { RetryOptions };

/** One object as a listing or a HEAD reports it. */
export interface RemoteObjectInfo {
  /** Name relative to the repository prefix. */
  readonly name: string;
  readonly size: number;
  /** The store's modification time (epoch ms), when it tells. */
  readonly lastModified?: number;
}

/** What the repository needs of a store. `list` is absent when the store cannot list. */
export interface RemoteStore {
  /** Where it points, for messages and for keying the local inventory (no secrets). */
  readonly location: string;
  put(name: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** The object's bytes, or undefined when it does not exist. */
  get(name: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  head(name: string, signal?: AbortSignal): Promise<RemoteObjectInfo | undefined>;
  /** Deleting a missing object succeeds. */
  delete(name: string, signal?: AbortSignal): Promise<void>;
  list?(prefix: string, signal?: AbortSignal): Promise<RemoteObjectInfo[]>;
}

/** Counts requests in flight and queues the rest. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(body: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await body();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const cancelled = () => new PagevaultError(ErrorCode.CANCELLED, 'The remote request was cancelled.', {});

/** What one attempt sends: made anew per attempt (a signature carries its time). */
export type MakeRequest = () => Promise<{ url: string; init: RequestInit }>;

/**
 * Sends a request with retries. Resolves with the response for 2xx, 3xx and 404 (the caller
 * decides what a missing object means).
 * @throws REMOTE_DENIED (401/403), REMOTE_UNAVAILABLE (network, timeout, 429/5xx after retries, other 4xx), CANCELLED.
 */
export async function send(make: MakeRequest, what: string, options: RetryOptions = {}, signal?: AbortSignal): Promise<Response> {
  const retries = options.retries ?? 4;
  const backoff = options.backoffMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let status = 0;
  let reason = '';
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw cancelled();
    // One controller per attempt, aborted by the caller or the timeout; its listener is removed after.
    const attemptController = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attemptController.abort();
    }, timeoutMs);
    const onAbort = () => attemptController.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { url, init } = await make();
      // `no-store`: the browser's HTTP cache must never answer for an object (a manifest or the index
      // replaced since, a chunk damaged since: what is checked is what the store holds now).
      const response = await fetch(url, { ...init, cache: 'no-store', signal: attemptController.signal });
      status = response.status;
      if (response.ok || status === 404 || (status >= 300 && status < 400)) {
        // The body is read inside the attempt: a connection cut mid-body is retried like any other.
        const empty = init.method === 'HEAD' || status === 204 || status === 205 || status === 304;
        const body = empty ? null : await response.arrayBuffer();
        return new Response(body, { status, headers: response.headers });
      }
      const body = await response.text().catch(() => '');
      if (status === 401 || status === 403) {
        throw new PagevaultError(ErrorCode.REMOTE_DENIED, `The remote store refused to ${what} (HTTP ${status}): check the credentials, the signature's expiry and the bucket policy.`, { status });
      }
      reason = `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
      if (status !== 429 && status < 500) throw new PagevaultError(ErrorCode.REMOTE_UNAVAILABLE, `The remote store could not ${what}: ${reason}.`, { status });
    } catch (error) {
      if (error instanceof PagevaultError) throw error;
      if (signal?.aborted) throw cancelled();
      status = 0;
      reason = timedOut ? `no answer within ${timeoutMs} ms` : `network error (${error instanceof Error ? error.message : String(error)})`;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (attempt >= retries) break;
    // Full jitter: a random wait up to the doubled ceiling, so clients that failed together spread out.
    await sleep(Math.random() * backoff * 2 ** attempt, signal);
  }
  throw new PagevaultError(ErrorCode.REMOTE_UNAVAILABLE, `The remote store could not ${what} after ${retries + 1} attempts: ${reason}.`, { status });
}

/** The bytes of a response body (undefined for a 404). */
export async function bodyOf(response: Response): Promise<Uint8Array | undefined> {
  if (response.status === 404) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Encodes each `/`-separated segment of a name for a URL path. */
export function encodePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
