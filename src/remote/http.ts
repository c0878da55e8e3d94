/**
 * Any HTTP store that answers PUT, GET, HEAD and DELETE under a base URL (WebDAV, a small app
 * endpoint). It cannot list: the repository keeps its manifest names in the `index` object
 * (REMOTE.md, "Stores that cannot list").
 */
import { ErrorCode, PagevaultError } from '../errors';
import type { HttpRemoteOptions } from '../protocol';
import { bodyOf, encodePath, Limiter, send, type RemoteStore } from './store';

/** @throws INVALID_ARGUMENT when `url` is not an http(s) URL. */
export function httpStore(options: HttpRemoteOptions): RemoteStore {
  let base: string;
  try {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    base = url.href.endsWith('/') ? url.href : `${url.href}/`;
  } catch {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The HTTP remote url ${String(options.url)} is not an http(s) URL.`, {});
  }
  const limiter = new Limiter(options.retry?.parallel ?? 4);
  const call = (method: string, name: string, what: string, signal?: AbortSignal, body?: Uint8Array) =>
    limiter.run(() =>
      send(
        async () => {
          const headers = { ...(options.headers ?? {}), ...((await options.getHeaders?.()) ?? {}) };
          return { url: base + encodePath(name), init: { method, headers, ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}) } };
        },
        what,
        options.retry,
        signal,
      ),
    );
  return {
    location: `http:${base}`,
    async put(name, bytes, signal) {
      const r = await call('PUT', name, `store ${name}`, signal, bytes);
      await r.body?.cancel().catch(() => undefined);
      if (r.status === 404) throw new PagevaultError(ErrorCode.REMOTE_UNAVAILABLE, `The HTTP store answered 404 to storing ${name}.`, { status: 404 });
    },
    async get(name, signal) {
      return bodyOf(await call('GET', name, `read ${name}`, signal));
    },
    async head(name, signal) {
      const r = await call('HEAD', name, `check ${name}`, signal);
      return r.status === 404 ? undefined : { name, size: Number(r.headers.get('content-length') ?? 0) };
    },
    async delete(name, signal) {
      const r = await call('DELETE', name, `delete ${name}`, signal);
      await r.body?.cancel().catch(() => undefined);
    },
  };
}
