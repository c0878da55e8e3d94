/**
 * A minimal object store over HTTP for the `http` remote kind: PUT, GET, HEAD and DELETE of any
 * path, in memory, with no listing (as a small app endpoint would be), and an optional bearer token.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpObjectServer {
  readonly url: string;
  readonly objects: Map<string, Uint8Array>;
  close(): Promise<void>;
}

export async function startHttpObjectServer(token?: string): Promise<HttpObjectServer> {
  const objects = new Map<string, Uint8Array>();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
    if (req.method === 'PUT') {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        objects.set(path, new Uint8Array(Buffer.concat(parts)));
        res.writeHead(201).end();
      });
      return;
    }
    const body = objects.get(path);
    if (req.method === 'DELETE') {
      objects.delete(path);
      return void res.writeHead(204).end();
    }
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/store/`,
    objects,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
