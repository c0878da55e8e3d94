// The remote layout and the S3 store against a real S3 protocol server (s3rver verifies SigV4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressChunk } from '../../src/format/codec';
import { RemoteLayout, createRemoteConfig, encodeRemoteConfig, openRemoteConfig, type RemoteChunkRef } from '../../src/format/remote-layout';
import { sha256Hex } from '../../src/format/sha256';
import { RemoteRepository } from '../../src/remote/repository';
import { s3Store } from '../../src/remote/s3';
import { settle } from '../support/vault-harness';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from '../support/s3-server';

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

// Short backoff; a timeout long enough for a loaded machine (the timeout test sets its own).
const FAST = { retries: 2, backoffMs: 5, timeoutMs: 20_000 } as const;
const marker = new TextEncoder().encode('SQLite format 3\0 secret_table');

async function chunkOf(plain: Uint8Array) {
  const key = await sha256Hex(plain);
  const stored = compressChunk(plain);
  return { key, ...stored, size: plain.length };
}

describe('remote layout', () => {
  it('a plain chunk object is its stored form under its SHA-256; decoding re-checks the hash', async () => {
    const plain = new Uint8Array(65536).fill(7);
    plain.set(marker, 100);
    const chunk = await chunkOf(plain);
    const layout = new RemoteLayout();
    const name = await layout.chunkName(chunk.key);
    expect(name).toBe(`chunks/${chunk.key}`);
    const bytes = await layout.encodeChunk(name, chunk);
    expect(bytes).toEqual(chunk.data);
    const ref: RemoteChunkRef = { key: chunk.key, size: chunk.size };
    expect((await layout.decodeChunk(name, bytes, ref)).plain).toEqual(plain);
    const other = { ...ref, key: await sha256Hex(new Uint8Array(3)) };
    expect((await settle(layout.decodeChunk(name, bytes, other))).ok ? 'ok' : 'INTEGRITY').toBe('INTEGRITY');
  });

  it('encrypted: keyed names, no plaintext in any object, tampering and moves fail with INTEGRITY', async () => {
    const { config, keys } = await createRemoteConfig('correct horse', 600_000);
    const layout = new RemoteLayout(keys);
    const plain = new Uint8Array(65536);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 7919) & 0xff;
    plain.set(marker, 0);
    const chunk = { ...(await chunkOf(plain)), codec: 'raw' as const, data: plain };
    const name = await layout.chunkName(chunk.key);
    expect(name).not.toContain(chunk.key);
    const bytes = await layout.encodeChunk(name, chunk);
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text).not.toContain('SQLite format 3');
    expect(text).not.toContain('secret_table');
    const ref: RemoteChunkRef = { key: chunk.key, size: plain.length };
    expect((await layout.decodeChunk(name, bytes, ref)).plain).toEqual(plain);
    const damaged = bytes.slice();
    damaged[40] = damaged[40]! ^ 1;
    expect(await settle(layout.decodeChunk(name, damaged, ref))).toMatchObject({ ok: false, code: 'INTEGRITY' });
    expect(await settle(layout.decodeChunk(`chunks/${'0'.repeat(64)}`, bytes, ref))).toMatchObject({ ok: false, code: 'INTEGRITY' });
    const manifestName = await layout.backupName('bk-1');
    const sealed = await layout.encodeJson(manifestName, { tables: ['secret_table'] });
    expect(new TextDecoder('latin1').decode(sealed)).not.toContain('secret_table');
    expect(sealed.length).toBeGreaterThanOrEqual(4096);

    const configBytes = encodeRemoteConfig(config);
    expect(await settle(openRemoteConfig(configBytes, 'wrong'))).toMatchObject({ ok: false, code: 'WRONG_PASSPHRASE' });
    expect(await settle(openRemoteConfig(configBytes))).toMatchObject({ ok: false, code: 'PASSPHRASE_REQUIRED' });
    const plainConfig = encodeRemoteConfig((await createRemoteConfig()).config);
    expect(await settle(openRemoteConfig(plainConfig, 'x'))).toMatchObject({ ok: false, code: 'NOT_ENCRYPTED' });
    const reopened = await openRemoteConfig(configBytes, 'correct horse');
    expect(await new RemoteLayout(reopened.keys).chunkName(chunk.key)).toBe(name);
  });
});

describe('S3 store against s3rver', () => {
  const store = (over: Record<string, unknown> = {}) =>
    s3Store({ kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix: 'layout/', credentials: S3_CREDENTIALS, retry: FAST, ...over });

  it('puts, gets, heads, lists and deletes signed objects', async () => {
    const s = store();
    await s.put('chunks/a', new Uint8Array([1, 2, 3]));
    expect(await s.get('chunks/a')).toEqual(new Uint8Array([1, 2, 3]));
    expect(await s.head('chunks/a')).toMatchObject({ name: 'chunks/a', size: 3 });
    expect(await s.get('chunks/none')).toBeUndefined();
    expect(await s.head('chunks/none')).toBeUndefined();
    expect((await s.list!('chunks/')).map((o) => o.name)).toEqual(['chunks/a']);
    await s.delete('chunks/a');
    expect(await s.get('chunks/a')).toBeUndefined();
  });

  it('bad credentials are REMOTE_DENIED, not retried', async () => {
    const before = s3.seen.length;
    const s = store({ endpoint: s3.proxyEndpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' } });
    expect(await settle(s.get('config'))).toMatchObject({ ok: false, code: 'REMOTE_DENIED', details: { status: 403 } });
    expect(s3.seen.length - before).toBe(1);
  });

  it('5xx answers are retried; past the retries REMOTE_UNAVAILABLE with the status', async () => {
    const s = store({ endpoint: s3.proxyEndpoint });
    s3.faults.failNext = 2;
    s3.faults.status = 503;
    await s.put('chunks/b', new Uint8Array([9]));
    expect(await s.get('chunks/b')).toEqual(new Uint8Array([9]));
    s3.faults.failNext = 10;
    s3.faults.status = 500;
    expect(await settle(s.get('chunks/b'))).toMatchObject({ ok: false, code: 'REMOTE_UNAVAILABLE', details: { status: 500 } });
    s3.faults.failNext = 0;
  });

  it('a slow server times out into REMOTE_UNAVAILABLE with status 0', async () => {
    const s = store({ endpoint: s3.proxyEndpoint, retry: { retries: 1, backoffMs: 5, timeoutMs: 150 } });
    s3.faults.delayMs = 400;
    expect(await settle(s.get('chunks/b'))).toMatchObject({ ok: false, code: 'REMOTE_UNAVAILABLE', details: { status: 0 } });
    s3.faults.delayMs = 0;
  });

  it('a sign callback presigns; an expired presigned URL is REMOTE_DENIED', async () => {
    // The app's server presigns with its own keys; `ageMs` back-dates the signature.
    const signer = (expires: number, ageMs: number) => async ({ method, url }: { method: string; url: string }) => {
      const datetime = new Date(Date.now() - ageMs).toISOString().replace(/[:-]|\.\d{3}/g, '');
      const signed = await s3.client.sign(`${url}${url.includes('?') ? '&' : '?'}X-Amz-Expires=${expires}`, { method, aws: { signQuery: true, datetime } });
      return { url: signed.url };
    };
    const s = store({ credentials: undefined, sign: signer(60, 0) });
    await s.put('chunks/c', new Uint8Array([4, 5]));
    expect(await s.get('chunks/c')).toEqual(new Uint8Array([4, 5]));
    const stale = store({ credentials: undefined, sign: signer(1, 10_000) });
    expect(await settle(stale.get('chunks/c'))).toMatchObject({ ok: false, code: 'REMOTE_DENIED' });
  });

  it('a repository on an empty prefix lists nothing, writes its config at the first push, and checks the passphrase', async () => {
    const s = store({ prefix: 'repo-enc/' });
    const empty = await RemoteRepository.open(s, 'pw');
    expect(await empty.listManifests()).toEqual([]);
    const repo = await empty.ensureConfig();
    expect(repo.layout.encrypted).toBe(true);
    expect(await settle(RemoteRepository.open(s, 'other'))).toMatchObject({ ok: false, code: 'WRONG_PASSPHRASE' });
    expect(await settle(RemoteRepository.open(s))).toMatchObject({ ok: false, code: 'PASSPHRASE_REQUIRED' });
  });
});

describe('S3 listing past one page', () => {
  it('lists more than 1000 objects', { timeout: 180_000 }, async () => {
    const s = s3Store({ kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix: 'many/', credentials: S3_CREDENTIALS, retry: FAST });
    const names = Array.from({ length: 1010 }, (_, i) => `chunks/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < names.length; i += 8) await Promise.all(names.slice(i, i + 8).map((n) => s.put(n, new Uint8Array([1]))));
    expect((await s.list!('chunks/')).map((o) => o.name)).toEqual(names);
  });
});
