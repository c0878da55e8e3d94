// vault.remote.* in a real browser against a real S3 protocol server (s3rver on 127.0.0.1, started
// by test/support/s3-global-setup.ts; it checks SigV4 and presigned URLs and answers CORS), with a
// fault-injecting proxy in front of it, and a folder (the origin-private file system) as a remote.
import { AwsClient } from 'aws4fetch';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { RemoteOptions, Vault } from '../../src/index';
import { contentDigest, fillMegabytes, fillRows, open, rejectsWith, uniqueName } from './helpers';

const s3 = inject('s3');
const client = new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: 's3', region: 'us-east-1', retries: 0 });
const FAST = { retries: 2, backoffMs: 5, timeoutMs: 20_000 } as const;
const opened: Vault[] = [];
afterEach(async () => {
  await control('set');
  for (const vault of opened.splice(0)) await vault.close({ force: true }).catch(() => undefined);
});

/** Sets the proxy's faults (`set?failNext=3&status=500`), or stops / starts the server. */
async function control(action: string): Promise<void> {
  const response = await fetch(`${s3.proxyEndpoint}/__faults/${action}`);
  expect(response.status).toBe(204);
}

function s3Remote(prefix: string, over: Record<string, unknown> = {}): RemoteOptions {
  return { kind: 's3', endpoint: s3.endpoint, bucket: s3.bucket, prefix, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, retry: FAST, ...over } as RemoteOptions;
}

async function vault(label: string): Promise<Vault> {
  const v = await open(uniqueName(label));
  opened.push(v);
  return v;
}

async function backupOf(v: Vault): Promise<string> {
  const { backupId } = await v.backup.create();
  await v.backup.wait(backupId);
  return backupId;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const xml = await (await client.fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`, { cache: 'no-store' })).text();
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
}

async function objectBytes(key: string): Promise<Uint8Array> {
  return new Uint8Array(await (await client.fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { cache: 'no-store' })).arrayBuffer());
}

describe('remote replication to S3 (real browser, real S3 protocol server)', () => {
  it('pushes, pushes about 1% after a 1% change, and restores into a fresh vault', async () => {
    const prefix = `${uniqueName('inc')}/`;
    const a = await vault('remote-a');
    await a.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    await a.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) INSERT INTO blob (data) SELECT randomblob(16000) FROM c');
    await a.remote.add('offsite', s3Remote(prefix));
    await backupOf(a);
    const percents: number[] = [];
    const cold = await a.remote.push('offsite', { onProgress: (p) => void percents.push(p.percent) });
    expect(cold.objectsSkipped).toBe(0);
    expect(cold.bytesSent).toBeGreaterThan(6_000_000);
    expect(percents.at(-1)).toBe(100);
    await a.exec('UPDATE blob SET data = randomblob(16000) WHERE id IN (50, 150, 250, 350)');
    const second = await backupOf(a);
    const warm = await a.remote.push('offsite');
    expect(warm.backupId).toBe(second);
    expect(warm.bytesSent / cold.bytesSent).toBeLessThan(0.05);
    expect((await a.remote.list('offsite')).map((b) => b.backupId)[0]).toBe(second);

    const fresh = await vault('remote-fresh');
    await fresh.remote.add('offsite', s3Remote(prefix));
    const restored = await fresh.remote.restoreLatest('offsite');
    expect(restored.backupId).toBe(second);
    expect(await contentDigest(fresh)).toBe(await contentDigest(a));
  });

  it('encrypted: no object holds a plaintext marker, and another vault restores with the passphrase', async () => {
    const prefix = `${uniqueName('enc')}/`;
    const a = await vault('remote-enc');
    await fillRows(a, 3000);
    await a.exec("CREATE TABLE secret_ledger (v TEXT); INSERT INTO secret_ledger VALUES ('top secret value')");
    await a.remote.add('safe', s3Remote(prefix, { passphrase: 'correct horse battery' }));
    const backupId = await backupOf(a);
    await a.remote.push('safe');
    const keys = await keysUnder(prefix);
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) {
      const text = new TextDecoder('latin1').decode(await objectBytes(key));
      for (const marker of ['SQLite format 3', 'secret_ledger', 'top secret value', 'item']) expect(text, key).not.toContain(marker);
    }
    const b = await vault('remote-enc-b');
    await rejectsWith(b.remote.add('safe', s3Remote(prefix, { passphrase: 'wrong' })), 'WRONG_PASSPHRASE');
    await b.remote.add('safe', s3Remote(prefix, { passphrase: 'correct horse battery' }));
    await b.backup.restore({ backupId, from: 'safe' });
    expect(await b.query('SELECT v FROM secret_ledger')).toEqual([{ v: 'top secret value' }]);
  });

  it('the server stopped mid-push, then started: nothing half-written is listed, and the push resumes', async () => {
    const prefix = `${uniqueName('stop')}/`;
    const a = await vault('remote-stop');
    await fillMegabytes(a, 3);
    await a.remote.add('offsite', s3Remote(prefix, { endpoint: s3.proxyEndpoint }));
    const backupId = await backupOf(a);
    await control('set?stopAfterPuts=15');
    await rejectsWith(a.remote.push('offsite'), 'REMOTE_UNAVAILABLE');
    await control('start');
    expect(await a.remote.list('offsite')).toEqual([]);
    const arrived = (await keysUnder(`${prefix}chunks/`)).length;
    expect(arrived).toBeGreaterThanOrEqual(10);
    const resumed = await a.remote.push('offsite');
    expect(resumed).toMatchObject({ backupId, objectsSkipped: arrived });
    expect((await a.remote.list('offsite')).map((b) => b.backupId)).toEqual([backupId]);
  });

  it('500s are retried; a slow push is cancelled and lists nothing', async () => {
    const prefix = `${uniqueName('flaky')}/`;
    const a = await vault('remote-flaky');
    await fillMegabytes(a, 2);
    await a.remote.add('offsite', s3Remote(prefix, { endpoint: s3.proxyEndpoint, retry: { retries: 8, backoffMs: 5, timeoutMs: 20_000 } }));
    await backupOf(a);
    await control('set?failNext=5&status=500&match=^PUT');
    await a.remote.push('offsite');
    expect((await a.remote.list('offsite')).length).toBe(1);
    await fillRows(a, 5000);
    await backupOf(a);
    await control('set?delayMs=300');
    const slow = a.remote.push('offsite');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await a.remote.cancel('offsite')).toEqual({ status: 'cancelled' });
    await rejectsWith(slow, 'CANCELLED');
    await control('set');
    expect((await a.remote.list('offsite')).length).toBe(1);
  });

  it('bad credentials and an expired presigned URL are REMOTE_DENIED', async () => {
    const prefix = `${uniqueName('denied')}/`;
    const a = await vault('remote-denied');
    await rejectsWith(a.remote.add('bad', s3Remote(prefix, { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: 'wrong' } })), 'REMOTE_DENIED');
    // The app's server presigns (here: the page, with keys it would never ship); back-dated, expired.
    const presign = (ageMs: number) => async ({ method, url }: { method: string; url: string }) => {
      const datetime = new Date(Date.now() - ageMs).toISOString().replace(/[:-]|\.\d{3}/g, '');
      const signed = await client.sign(`${url}${url.includes('?') ? '&' : '?'}X-Amz-Expires=60`, { method, aws: { signQuery: true, datetime } });
      return { url: signed.url };
    };
    await fillRows(a, 500);
    await backupOf(a);
    await a.remote.add('presigned', s3Remote(prefix, { credentials: undefined, sign: presign(0) }));
    await a.remote.push('presigned');
    expect((await a.remote.list('presigned')).length).toBe(1);
    await rejectsWith(a.remote.add('expired', s3Remote(prefix, { credentials: undefined, sign: presign(120_000) })), 'REMOTE_DENIED');
  });

  it('two vaults push to one prefix; a chunk damaged on the server is INTEGRITY and the live database is untouched', async () => {
    const prefix = `${uniqueName('two')}/`;
    const a = await vault('remote-two-a');
    const b = await vault('remote-two-b');
    await fillRows(a, 2000);
    await fillRows(b, 3000);
    await a.remote.add('shared', s3Remote(prefix));
    await b.remote.add('shared', s3Remote(prefix));
    const fromA = await backupOf(a);
    const fromB = await backupOf(b);
    await Promise.all([a.remote.push('shared'), b.remote.push('shared')]);
    expect(new Set((await a.remote.list('shared')).map((x) => x.backupId))).toEqual(new Set([fromA, fromB]));

    const keys = await keysUnder(`${prefix}chunks/`);
    for (const key of keys) {
      const bytes = await objectBytes(key);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
      const put = await client.fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer> });
      expect(put.status).toBe(200);
    }
    const c = await vault('remote-two-c');
    await fillRows(c, 100);
    const before = await contentDigest(c);
    await c.remote.add('shared', s3Remote(prefix));
    await rejectsWith(c.backup.restore({ backupId: fromA, from: 'shared' }), 'INTEGRITY');
    expect(await contentDigest(c)).toBe(before);
    expect(await c.backup.list()).toEqual([]);
  });
});

// WebKit has no FileSystemFileHandle.createWritable (the folder kind is for Chromium desktop).
const canWriteFiles = typeof FileSystemFileHandle !== 'undefined' && 'createWritable' in FileSystemFileHandle.prototype;

describe.skipIf(!canWriteFiles)('a folder as a remote', () => {
  it('pushes to a directory handle and restores from it', async () => {
    const root = await navigator.storage.getDirectory();
    const handle = await root.getDirectoryHandle(uniqueName('folder-remote'), { create: true });
    const a = await vault('remote-dir');
    await fillRows(a, 2000);
    await a.remote.add('disk', { kind: 'directory', handle });
    const backupId = await backupOf(a);
    const pushed = await a.remote.push('disk');
    expect(pushed.objectsSent).toBeGreaterThan(1);
    const b = await vault('remote-dir-b');
    await b.remote.add('disk', { kind: 'directory', handle });
    expect((await b.remote.list('disk')).map((x) => x.backupId)).toEqual([backupId]);
    await b.remote.restoreLatest('disk');
    expect(await contentDigest(b)).toBe(await contentDigest(a));
  });
});
