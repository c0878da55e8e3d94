/**
 * A real S3 protocol server for the remote tests: @20minutes/s3rver on 127.0.0.1 (it verifies
 * SigV4 signatures and presigned URLs, and serves CORS), with a small fault-injecting HTTP proxy in
 * front of it (5xx answers, slow answers) and a stop/start that keeps its port and its data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';
import { AwsClient } from 'aws4fetch';

export const S3_BUCKET = 'pagevault-test';
/** Path prefix of the proxy's control requests (never forwarded). */
export const CONTROL = '/__faults/';
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const CORS = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>
<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedMethod>DELETE</AllowedMethod>
<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

/** What the proxy does to the next requests. */
export interface Faults {
  /** Answer this many requests (matching `match`) with `status` instead of forwarding them. */
  failNext: number;
  status: number;
  /** Hold every answer this long (ms). */
  delayMs: number;
  /** Only requests whose method + path match (default: all). */
  match?: RegExp | undefined;
  /** After this many more forwarded PUTs, stop the server (0: off). */
  stopAfterPuts: number;
}

export interface S3Server {
  /** The real server's endpoint. */
  readonly endpoint: string;
  /** The fault-injecting proxy's endpoint. */
  readonly proxyEndpoint: string;
  readonly faults: Faults;
  /** Requests the proxy saw, as `METHOD path`. */
  readonly seen: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /** A signed client straight to the real server (to read, damage or list objects). */
  readonly client: AwsClient;
  objectUrl(key: string): string;
  listKeys(prefix: string): Promise<string[]>;
}

/** Starts s3rver with a fresh bucket (CORS for every origin) and the proxy before it. */
export async function startS3Server(): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'pv-s3-'));
  let port = 0;
  let server: S3rver | undefined;
  const start = async () => {
    server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: S3_BUCKET, configs: [CORS] }] });
    const info = await server.run();
    port = (info as AddressInfo).port;
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    // Keep-alive sockets would hold close() open: a stopped server drops them, as a crash would.
    running?.httpServer?.closeAllConnections();
    await running?.close();
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const faults: Faults = { failNext: 0, status: 500, delayMs: 0, stopAfterPuts: 0 };
  const seen: string[] = [];
  const proxy: Server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    if (req.url?.startsWith(CONTROL)) {
      // Test control from a browser page: `/__faults/set?failNext=3&status=500`, `/__faults/stop`, `/__faults/start`.
      void control(new URL(req.url, 'http://x')).then(
        () => res.writeHead(204, { 'access-control-allow-origin': '*' }).end(),
        (error: unknown) => res.writeHead(500, { 'access-control-allow-origin': '*' }).end(String(error)),
      );
      return;
    }
    seen.push(line);
    const answer = () => {
      if (faults.failNext > 0 && (faults.match === undefined || faults.match.test(line))) {
        faults.failNext--;
        req.resume();
        res.writeHead(faults.status, { 'access-control-allow-origin': '*' }).end('injected');
        return;
      }
      if (!server) {
        req.socket.destroy();
        return;
      }
      const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        if (req.method === 'PUT' && faults.stopAfterPuts > 0 && --faults.stopAfterPuts === 0) up.on('end', () => void stop());
      });
      upstream.on('error', () => req.socket.destroy());
      req.pipe(upstream);
    };
    if (faults.delayMs > 0) setTimeout(answer, faults.delayMs);
    else answer();
  });
  const control = async (url: URL) => {
    const action = url.pathname.slice(CONTROL.length);
    if (action === 'stop') return stop();
    if (action === 'start') return server ? undefined : start();
    const q = url.searchParams;
    faults.failNext = Number(q.get('failNext') ?? 0);
    faults.status = Number(q.get('status') ?? 500);
    faults.delayMs = Number(q.get('delayMs') ?? 0);
    faults.stopAfterPuts = Number(q.get('stopAfterPuts') ?? 0);
    faults.match = q.get('match') ? new RegExp(q.get('match')!) : undefined;
  };
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const client = new AwsClient({ ...S3_CREDENTIALS, service: 's3', region: 'us-east-1', retries: 0 });
  const objectUrl = (key: string) => `${endpoint}/${S3_BUCKET}/${key}`;
  return {
    endpoint,
    proxyEndpoint,
    faults,
    seen,
    stop,
    start,
    client,
    objectUrl,
    async listKeys(prefix) {
      const keys: string[] = [];
      let marker: string | undefined;
      do {
        const q = new URLSearchParams({ prefix });
        if (marker !== undefined) q.set('marker', marker);
        const xml = await (await client.fetch(`${endpoint}/${S3_BUCKET}?${q}`)).text();
        const page = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
        keys.push(...page);
        marker = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? page.at(-1) : undefined;
      } while (marker !== undefined);
      return keys;
    },
    async close() {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
