/**
 * An S3-compatible bucket as a remote store: SigV4 by aws4fetch (a maintained, worker-friendly
 * signer), or the app's `sign` callback; path-style URLs `<endpoint>/<bucket>/<prefix><name>`;
 * listing by ListObjects.
 */
import { AwsV4Signer } from 'aws4fetch';
import { ErrorCode, PagevaultError } from '../errors';
import type { S3RemoteOptions } from '../protocol';
import { bodyOf, encodePath, Limiter, send, type MakeRequest, type RemoteObjectInfo, type RemoteStore } from './store';

const xmlText = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlText(m[1]!) : undefined;
};

/** @throws INVALID_ARGUMENT when neither credentials nor `sign` is given, or the endpoint is not a URL. */
export function s3Store(options: S3RemoteOptions): RemoteStore {
  let endpoint: URL;
  try {
    endpoint = new URL(options.endpoint);
  } catch {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The S3 endpoint ${String(options.endpoint)} is not a URL.`, {});
  }
  if (!options.credentials && !options.sign) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'An S3 remote needs `credentials` or a `sign` callback.', {});
  const prefix = options.prefix ?? '';
  const base = `${endpoint.origin}${endpoint.pathname.replace(/\/$/, '')}/${encodeURIComponent(options.bucket)}`;
  const limiter = new Limiter(options.retry?.parallel ?? 4);
  const region = options.region ?? 'us-east-1';

  const make = (method: string, url: string, body?: Uint8Array): MakeRequest => async () => {
    const headers: Record<string, string> = {};
    if (options.sign) {
      const signed = await options.sign({ method, url, headers });
      return { url: signed.url, init: { method, headers: signed.headers ?? {}, ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}) } };
    }
    const c = options.credentials!;
    const signer = new AwsV4Signer({
      method,
      url,
      headers,
      ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}),
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      service: 's3',
      region,
    });
    const s = await signer.sign();
    return { url: s.url.toString(), init: { method, headers: s.headers, ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}) } };
  };
  const objectUrl = (name: string) => `${base}/${encodePath(prefix + name)}`;
  const call = (method: string, url: string, what: string, signal?: AbortSignal, body?: Uint8Array) =>
    limiter.run(() => send(make(method, url, body), what, options.retry, signal));

  return {
    location: `s3:${endpoint.origin}/${options.bucket}/${prefix}`,
    async put(name, bytes, signal) {
      const r = await call('PUT', objectUrl(name), `store ${name}`, signal, bytes);
      await r.body?.cancel().catch(() => undefined);
      if (r.status === 404) throw new PagevaultError(ErrorCode.REMOTE_UNAVAILABLE, `The bucket ${options.bucket} does not exist.`, { status: 404 });
    },
    async get(name, signal) {
      return bodyOf(await call('GET', objectUrl(name), `read ${name}`, signal));
    },
    async head(name, signal) {
      const r = await call('HEAD', objectUrl(name), `check ${name}`, signal);
      if (r.status === 404) return undefined;
      const modified = r.headers.get('last-modified');
      return { name, size: Number(r.headers.get('content-length') ?? 0), ...(modified ? { lastModified: Date.parse(modified) } : {}) };
    },
    async delete(name, signal) {
      const r = await call('DELETE', objectUrl(name), `delete ${name}`, signal);
      await r.body?.cancel().catch(() => undefined);
    },
    async list(listPrefix, signal) {
      const out: RemoteObjectInfo[] = [];
      // ListObjects (v1) paged by `marker` = the last key: every S3-compatible store answers it,
      // and it needs no continuation token (which some test servers cannot make).
      let marker: string | undefined;
      do {
        const query = new URLSearchParams({ prefix: prefix + listPrefix });
        if (marker !== undefined) query.set('marker', marker);
        const r = await call('GET', `${base}?${query.toString()}`, `list ${listPrefix}`, signal);
        if (r.status === 404) throw new PagevaultError(ErrorCode.REMOTE_UNAVAILABLE, `The bucket ${options.bucket} does not exist.`, { status: 404 });
        const xml = await r.text();
        let last: string | undefined;
        for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
          const key = tag(m[1]!, 'Key') ?? '';
          const modified = tag(m[1]!, 'LastModified');
          out.push({ name: key.slice(prefix.length), size: Number(tag(m[1]!, 'Size') ?? 0), ...(modified ? { lastModified: Date.parse(modified) } : {}) });
          last = key;
        }
        marker = tag(xml, 'IsTruncated') === 'true' && last !== undefined ? last : undefined;
      } while (marker !== undefined);
      return out;
    },
  };
}
