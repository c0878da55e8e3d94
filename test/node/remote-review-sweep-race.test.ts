// Adversarial reproduction: collection's sweep decides from a chunk listing taken before its
// deletes (src/remote/collect.ts sweep: `chunks` map, `referenced` set), so a push from another
// device that re-writes a marked chunk (as REMOTE.md asks) and writes its manifest while the sweep
// is deleting still loses that chunk: the remote then lists a backup it cannot restore.
import 'fake-indexeddb/auto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import type { Service } from '../../worker/service';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from '../support/s3-server';
import { addRows, call, openService, settle } from '../support/vault-harness';

let s3: S3Server;
let proxy: Server;
let proxyUrl = '';
/** DELETEs of chunk objects are held this long (a slow store, or many candidates before this one). */
let deleteDelayMs = 0;
let deletesSeen = 0;
const open: Service[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  const port = new URL(s3.endpoint).port;
  proxy = createServer((req, res) => {
    const forward = () => {
      const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => req.socket.destroy());
      req.pipe(upstream);
    };
    if (req.method === 'DELETE' && req.url?.includes('/chunks/')) {
      deletesSeen++;
      setTimeout(forward, deleteDelayMs);
    } else forward();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  for (const service of open) await call(service.close({ force: true })).catch(() => undefined);
  await s3.close();
});

const FAST = { retries: 1, backoffMs: 5, timeoutMs: 20_000 } as const;
const remoteAt = (endpoint: string): RemoteOptions =>
  ({ kind: 's3', endpoint, bucket: S3_BUCKET, prefix: 'race/', credentials: S3_CREDENTIALS, retry: FAST }) as RemoteOptions;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function service(name: string): Promise<Service> {
  const s = await openService(name);
  open.push(s);
  return s;
}

describe('collection racing another device that reuses marked chunks', () => {
  it("a backup pushed by device B during device A's sweep stays restorable", async () => {
    const a = await service('race-a');
    await addRows(a, 1_500, 1);
    await call(a.remoteAdd('shared', remoteAt(proxyUrl)));
    const { backupId } = await call(a.backupCreate({}));
    await call(a.backupWait(backupId));
    await call(a.remotePush('shared', {}));

    // Device B has the same backup locally (it pulled it earlier).
    const b = await service('race-b');
    await call(b.remoteAdd('shared', remoteAt(s3.endpoint)));
    await call(b.remotePull('shared', backupId));

    // A drops it on the remote and marks its chunks, with a short grace period.
    await call(a.remoteDrop('shared', backupId));
    const marked = await call(a.remoteApplyRetention('shared', {}, { graceMs: 1_000 }));
    expect(marked.chunksMarked).toBeGreaterThan(0);
    await sleep(2_500); // the grace period has passed (and a whole second on the store's clock)

    // A sweeps; its first chunk DELETE is slow. Meanwhile B pushes the backup again: it sees the mark,
    // writes every marked chunk again (new modification time) and then its manifest.
    deleteDelayMs = 3_000;
    deletesSeen = 0;
    const sweep = call(a.remoteApplyRetention('shared', {}, { graceMs: 1_000 }));
    let sweepEnded = false;
    sweep.then(
      () => (sweepEnded = true),
      () => (sweepEnded = true),
    );
    // Until the sweep's first DELETE is on the wire (or the sweep ended having deleted nothing: a
    // lease it saw, or the store's clock, made it wait; B's backup must restore all the same).
    while (deletesSeen === 0 && !sweepEnded) await sleep(20);
    const pushed = await call(b.remotePush('shared', { backupId }));
    expect(pushed.objectsSkipped).toBe(0); // every reused chunk was written again
    await sweep;
    deleteDelayMs = 0;

    expect((await call(b.remoteList('shared'))).map((x) => x.backupId)).toContain(backupId);
    const c = await service('race-c');
    await call(c.remoteAdd('shared', remoteAt(s3.endpoint)));
    // Observed: INTEGRITY (a chunk B wrote again was deleted by A's sweep). Expected: restores.
    expect(await settle(call(c.backupRestore({ from: 'shared', backupId })))).toEqual({ ok: true });
  }, 90_000);
});
