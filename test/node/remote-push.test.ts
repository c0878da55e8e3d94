// vault.remote.* through the worker service (fake-indexeddb, real sql.js) against a real S3
// protocol server (s3rver, SigV4 checked), with faults from the proxy in front of it.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import type { Service } from '../../worker/service';
import {S3_BUCKET, S3_CREDENTIALS } from '../support/s3-server';
import { s3Suite } from '../support/s3-suite';
import { addRows, call, liveSummary, openService, rows, settle } from '../support/vault-harness';

const suite = s3Suite(beforeAll, afterAll);
const { open } = suite;

// Short backoff; a timeout long enough for a loaded machine.
const FAST = { retries: 2, backoffMs: 5, timeoutMs: 20_000 } as const;
const remoteAt = (prefix: string, over: Partial<RemoteOptions> = {}): RemoteOptions =>
  ({ kind: 's3', endpoint: suite.s3.endpoint, bucket: S3_BUCKET, prefix, credentials: S3_CREDENTIALS, retry: FAST, ...over }) as RemoteOptions;

async function vaultWith(name: string, rowsCount: number): Promise<Service> {
  const service = await openService(name);
  open.push(service);
  if (rowsCount > 0) await addRows(service, rowsCount, 1);
  return service;
}

async function backup(service: Service): Promise<string> {
  const { backupId } = await call(service.backupCreate({}));
  await call(service.backupWait(backupId));
  return backupId;
}

async function objectBytes(key: string): Promise<Uint8Array> {
  return new Uint8Array(await (await suite.s3.client.fetch(suite.s3.objectUrl(key))).arrayBuffer());
}

describe('remote push and restore', () => {
  it('pushes, pushes ~1% of the bytes after a ~1% change, lists, and restores into a fresh vault', async () => {
    const a = await vaultWith('rp-a', 12_000); // ~4 MB
    await call(a.remoteAdd('offsite', remoteAt('inc/')));
    const first = await backup(a);
    const cold = await call(a.remotePush('offsite', {}));
    expect(cold).toMatchObject({ backupId: first, objectsSkipped: 0 });
    expect(cold.bytesSent).toBeGreaterThan(1_500_000);
    await call(a.exec('UPDATE item SET body = upper(body) WHERE id % 100 = 0')); // ~1% of the rows, spread out
    await call(a.exec("UPDATE item SET body = 'x' || substr(body, 2) WHERE id <= 60"));
    const second = await backup(a);
    const warm = await call(a.remotePush('offsite', {}));
    expect(warm.backupId).toBe(second);
    // A 1% row change touches a larger share of 64 KiB chunks; the rest must be skipped.
    expect(warm.objectsSkipped).toBeGreaterThan(0);
    const listed = await call(a.remoteList('offsite'));
    expect(listed.map((b) => b.backupId)).toEqual([second, first]);
    expect(listed[0]).toMatchObject({ vault: 'rp-a', tables: [{ name: 'item', rows: 12_000 }] });
    const history = await call(a.backupHistory());
    expect(history.filter((j) => j.kind === 'push').map((j) => j.bytesSent)).toEqual([warm.bytesSent, cold.bytesSent]);

    const b = await vaultWith('rp-b', 0);
    await call(b.remoteAdd('offsite', remoteAt('inc/')));
    const restored = await call(b.remoteRestoreLatest('offsite', {}));
    expect(restored.backupId).toBe(second);
    expect(await liveSummary(b)).toBe(await liveSummary(a));
    expect(await rows(b, "SELECT count(*) AS n FROM item WHERE body LIKE 'x%'")).toEqual([{ n: 60 }]);
  });

  it('an incremental push after a 1% change sends about 1% of the cold bytes', async () => {
    const a = await vaultWith('rp-pct', 0);
    await call(a.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB NOT NULL)'));
    await call(a.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) INSERT INTO blob (data) SELECT randomblob(16000) FROM c'));
    await call(a.remoteAdd('offsite', remoteAt('pct/')));
    await backup(a);
    const cold = await call(a.remotePush('offsite', {}));
    // 1%: 4 of 400 rows rewritten in place (same size).
    await call(a.exec('UPDATE blob SET data = randomblob(16000) WHERE id IN (50, 150, 250, 350)'));
    await backup(a);
    const warm = await call(a.remotePush('offsite', {}));
    const ratio = warm.bytesSent / cold.bytesSent;
    expect(cold.bytesSent).toBeGreaterThan(6_000_000);
    expect(ratio).toBeLessThan(0.05);
    expect(ratio).toBeGreaterThan(0.005);
  });

  it('encrypted: no object holds a plaintext marker; the passphrase is checked at add', async () => {
    const a = await vaultWith('rp-enc', 3000);
    await call(a.exec("CREATE TABLE secret_ledger (v TEXT); INSERT INTO secret_ledger VALUES ('top secret value')"));
    await call(a.remoteAdd('safe', remoteAt('enc/', { passphrase: 'a long passphrase' })));
    await backup(a);
    await call(a.remotePush('safe', {}));
    const keys = await suite.s3.listKeys('enc/');
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) {
      const text = new TextDecoder('latin1').decode(await objectBytes(key));
      for (const marker of ['SQLite format 3', 'secret_ledger', 'top secret value', 'item', 'rp-enc']) expect(text, key).not.toContain(marker);
    }
    const b = await vaultWith('rp-enc-b', 0);
    expect(await settle(call(b.remoteAdd('safe', remoteAt('enc/', { passphrase: 'wrong' }))))).toMatchObject({ ok: false, code: 'WRONG_PASSPHRASE' });
    expect(await settle(call(b.remoteAdd('safe', remoteAt('enc/'))))).toMatchObject({ ok: false, code: 'PASSPHRASE_REQUIRED' });
    await call(b.remoteAdd('safe', remoteAt('enc/', { passphrase: 'a long passphrase' })));
    await call(b.remoteRestoreLatest('safe', {}));
    expect(await rows(b, 'SELECT v FROM secret_ledger')).toEqual([{ v: 'top secret value' }]);
  });

  it('bad credentials are REMOTE_DENIED at add', async () => {
    const a = await vaultWith('rp-denied', 0);
    const bad = remoteAt('inc/', { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'nope' } } as Partial<RemoteOptions>);
    expect(await settle(call(a.remoteAdd('offsite', bad)))).toMatchObject({ ok: false, code: 'REMOTE_DENIED' });
  });
});

describe('remote faults', () => {
  it('the server stopped mid-push: REMOTE_UNAVAILABLE, nothing listed; started again, the push resumes without resending', async () => {
    const a = await vaultWith('rp-stop', 12_000);
    await call(a.remoteAdd('offsite', remoteAt('stop/', { endpoint: suite.s3.proxyEndpoint })));
    const backupId = await backup(a);
    suite.s3.faults.stopAfterPuts = 25;
    const failed = await settle(call(a.remotePush('offsite', {})));
    expect(failed).toMatchObject({ ok: false, code: 'REMOTE_UNAVAILABLE' });
    await suite.s3.start();
    expect(await call(a.remoteList('offsite'))).toEqual([]);
    const arrived = (await suite.s3.listKeys('stop/chunks/')).length;
    expect(arrived).toBeGreaterThanOrEqual(20);
    const resumed = await call(a.remotePush('offsite', {}));
    expect(resumed.backupId).toBe(backupId);
    expect(resumed.objectsSkipped).toBe(arrived);
    expect((await call(a.remoteList('offsite'))).map((b) => b.backupId)).toEqual([backupId]);
  });

  it('5xx answers are retried; a slow push is cancelled', async () => {
    const a = await vaultWith('rp-flaky', 6000);
    await call(a.remoteAdd('offsite', remoteAt('flaky/', { endpoint: suite.s3.proxyEndpoint, retry: { retries: 8, backoffMs: 5, timeoutMs: 20_000 } })));
    await backup(a);
    suite.s3.faults.failNext = 6;
    suite.s3.faults.status = 503;
    suite.s3.faults.match = /^PUT /;
    const pushed = await call(a.remotePush('offsite', {}));
    expect(suite.s3.faults.failNext).toBe(0);
    expect((await call(a.remoteList('offsite'))).map((b) => b.backupId)).toEqual([pushed.backupId]);

    await addRows(a, 3000, 2);
    await backup(a);
    suite.s3.faults.match = undefined;
    suite.s3.faults.delayMs = 300;
    const slow = call(a.remotePush('offsite', {}));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await call(a.remoteCancel('offsite'))).toEqual({ status: 'cancelled' });
    suite.s3.faults.delayMs = 0;
    expect(await settle(slow)).toMatchObject({ ok: false, code: 'CANCELLED' });
    expect((await call(a.remoteList('offsite'))).length).toBe(1);
    expect((await call(a.backupHistory())).find((j) => j.kind === 'push')?.state).toBe('cancelled');
  });

  it('a push holds its backup: a local drop meanwhile is BUSY, and a remote retention waits for the manifest', async () => {
    const a = await vaultWith('rp-hold', 4000);
    await call(a.remoteAdd('offsite', remoteAt('hold/', { endpoint: suite.s3.proxyEndpoint })));
    const backupId = await backup(a);
    suite.s3.faults.delayMs = 100;
    const pushing = call(a.remotePush('offsite', {}));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await settle(call(a.backupDrop(backupId)))).toMatchObject({ ok: false, code: 'BUSY' });
    const retention = call(a.remoteApplyRetention('offsite', {}, { graceMs: 0 }));
    await pushing;
    suite.s3.faults.delayMs = 0;
    expect((await retention).chunksDeleted).toBe(0);
    const b = await vaultWith('rp-hold-b', 0);
    await call(b.remoteAdd('offsite', remoteAt('hold/')));
    await call(b.backupRestore({ backupId, from: 'offsite' }));
    expect(await liveSummary(b)).toBe(await liveSummary(a));
  });

  it('a chunk damaged on the server is INTEGRITY at restore, and the live database is untouched', async () => {
    const a = await vaultWith('rp-dmg', 3000);
    await call(a.remoteAdd('offsite', remoteAt('dmg/')));
    const backupId = await backup(a);
    await call(a.remotePush('offsite', {}));
    const chunk = (await suite.s3.listKeys('dmg/chunks/'))[3]!;
    const bytes = await objectBytes(chunk);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await suite.s3.client.fetch(suite.s3.objectUrl(chunk), { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer> });
    const b = await vaultWith('rp-dmg-b', 500);
    const before = await liveSummary(b);
    await call(b.remoteAdd('offsite', remoteAt('dmg/')));
    expect(await settle(call(b.backupRestore({ backupId, from: 'offsite' })))).toMatchObject({ ok: false, code: 'INTEGRITY' });
    expect(await liveSummary(b)).toBe(before);
    expect(await call(b.backupList())).toEqual([]);
  });
});

describe('two devices, one prefix', () => {
  it('both vaults list; retention on one drops its old backup and collects only unreferenced chunks', async () => {
    const a = await vaultWith('rp-two-a', 2000);
    const b = await vaultWith('rp-two-b', 2500);
    await call(a.remoteAdd('shared', remoteAt('two/')));
    await call(b.remoteAdd('shared', remoteAt('two/')));
    const a1 = await backup(a);
    await call(a.remotePush('shared', {}));
    const b1 = await backup(b);
    await call(b.remotePush('shared', {}));
    await call(a.exec('DELETE FROM item WHERE id > 1000'));
    const a2 = await backup(a);
    await call(a.remotePush('shared', {}));
    expect(new Set((await call(a.remoteList('shared'))).map((x) => x.backupId))).toEqual(new Set([a1, a2, b1]));
    await call(a.remoteDrop('shared', a1));
    const result = await call(a.remoteApplyRetention('shared', {}, { graceMs: 0 }));
    expect(result.chunksDeleted).toBeGreaterThan(0);
    expect(new Set((await call(b.remoteList('shared'))).map((x) => x.backupId))).toEqual(new Set([a2, b1]));
    const c = await vaultWith('rp-two-c', 0);
    await call(c.remoteAdd('shared', remoteAt('two/')));
    await call(c.backupRestore({ backupId: b1, from: 'shared' }));
    expect(await liveSummary(c)).toBe(await liveSummary(b));
    await call(c.backupRestore({ backupId: a2, from: 'shared' }));
    expect(await liveSummary(c)).toBe(await liveSummary(a));
  });

  it('with a grace period, marked chunks survive until it passes, and a push reusing one writes it again', async () => {
    const a = await vaultWith('rp-grace', 2000);
    await call(a.remoteAdd('g', remoteAt('grace/')));
    const a1 = await backup(a);
    await call(a.remotePush('g', {}));
    await call(a.remoteDrop('g', a1));
    const marked = await call(a.remoteApplyRetention('g', {}, { graceMs: 3_600_000 }));
    expect(marked).toMatchObject({ chunksDeleted: 0 });
    expect(marked.chunksMarked).toBeGreaterThan(0);
    // Another push of the same data reuses the marked chunks: each is sent again.
    const again = await call(a.remotePush('g', { backupId: a1 }));
    expect(again.objectsSkipped).toBe(0);
    expect(again.objectsSent).toBe(marked.chunksMarked + 1);
  });
});
