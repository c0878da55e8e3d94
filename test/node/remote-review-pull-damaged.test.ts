// Adversarial check: a pull that fails with INTEGRITY after some batches were staged leaves the
// local catalog as it was (no backup, no staging record, no orphan chunk).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import {S3_BUCKET, S3_CREDENTIALS } from '../support/s3-server';
import { s3Suite } from '../support/s3-suite';
import { addRows, call, jobsIdle, liveSummary, openService, orphanChunks, readDisk, settle } from '../support/vault-harness';

const suite = s3Suite(beforeAll, afterAll);
const { open } = suite;

const remote = (prefix: string) => ({ kind: 's3', endpoint: suite.s3.endpoint, bucket: S3_BUCKET, prefix, credentials: S3_CREDENTIALS, retry: { retries: 1, backoffMs: 5, timeoutMs: 20_000 } }) as RemoteOptions;

describe('a pull that fails late', () => {
  it('a chunk of the last batch swapped for another valid chunk: INTEGRITY, catalog unchanged', async () => {
    const a = await openService('pd-a');
    open.push(a);
    await addRows(a, 15_000, 1); // > 64 chunks: several staging batches
    await call(a.remoteAdd('r', remote('pd/')));
    const { backupId } = await call(a.backupCreate({}));
    await call(a.backupWait(backupId));
    await call(a.remotePush('r', {}));
    const manifest = JSON.parse(await (await suite.s3.client.fetch(suite.s3.objectUrl(`pd/backups/${backupId}`))).text()) as { chunks: string[] };
    expect(manifest.chunks.length).toBeGreaterThan(70);
    const last = manifest.chunks.at(-2)!;
    const other = manifest.chunks[3]!;
    const otherBytes = await (await suite.s3.client.fetch(suite.s3.objectUrl(`pd/chunks/${other}`))).arrayBuffer();
    await suite.s3.client.fetch(suite.s3.objectUrl(`pd/chunks/${last}`), { method: 'PUT', body: otherBytes });

    const b = await openService('pd-b');
    open.push(b);
    await addRows(b, 10, 9);
    await call(b.remoteAdd('r', remote('pd/')));
    const before = await readDisk('pd-b');
    const liveBefore = await liveSummary(b);
    expect(await settle(call(b.remotePull('r', backupId)))).toMatchObject({ ok: false, code: 'INTEGRITY' });
    expect(await settle(call(b.backupRestore({ from: 'r', backupId })))).toMatchObject({ ok: false, code: 'INTEGRITY' });
    await jobsIdle(b);
    expect(await liveSummary(b)).toBe(liveBefore);
    const after = await readDisk('pd-b');
    expect({ backups: [...after.backups.keys()], staging: after.staging.length, orphans: orphanChunks(after), chunks: after.chunkKeys.length }).toEqual({
      backups: [...before.backups.keys()],
      staging: 0,
      orphans: [],
      chunks: before.chunkKeys.length,
    });
  }, 90_000);

  it('S3: a push after the server lost chunk objects sends them again (the listed backup restores)', async () => {
    const a = await openService('pd-lost');
    open.push(a);
    await addRows(a, 1_000, 4);
    await call(a.remoteAdd('r', remote('lost/')));
    const first = await call(a.backupCreate({}));
    await call(a.backupWait(first.backupId));
    await call(a.remotePush('r', {}));
    for (const key of await suite.s3.listKeys('lost/chunks/')) await suite.s3.client.fetch(suite.s3.objectUrl(key), { method: 'DELETE' });
    await call(a.exec('UPDATE item SET body = upper(body) WHERE id = 1'));
    const second = await call(a.backupCreate({}));
    await call(a.backupWait(second.backupId));
    await call(a.remotePush('r', {}));
    const c = await openService('pd-lost-c');
    open.push(c);
    await call(c.remoteAdd('r', remote('lost/')));
    expect(await settle(call(c.backupRestore({ from: 'r', backupId: second.backupId })))).toEqual({ ok: true });
  }, 60_000);
});
