/**
 * Review findings: remote.* across tabs (real S3 protocol server, several services sharing fake Web Locks):
 * what a restore from a remote tells the other tabs, and what a hand-over keeps of the remotes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent, RemoteOptions } from '../../src/protocol';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from '../support/s3-server';
import { call } from '../support/vault-harness';
import { openTab } from '../support/fake-locks';

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3.close();
});

const remoteAt = (prefix: string): RemoteOptions =>
  ({ kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix, credentials: S3_CREDENTIALS, retry: { retries: 1, backoffMs: 5, timeoutMs: 3000 } }) as RemoteOptions;

describe('remotes across tabs', () => {
  it('tells the other tabs that the data changed after remote.restoreLatest replaced it', async () => {
    const name = `atk-rr-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name);
    await call(a.api.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)'));
    await call(a.api.remoteAdd('off', remoteAt(`${name}/`)));
    const { backupId } = await call(a.api.backupCreate({}));
    await call(a.api.backupWait(backupId));
    await call(a.api.remotePush('off', { backupId }));
    await call(a.api.exec('INSERT INTO t VALUES (2)'));
    await new Promise((r) => setTimeout(r, 100));
    const seen: ChangeEvent[] = [];
    await call(b.api.onChange((event: ChangeEvent) => void seen.push(event)));
    await call(a.api.remoteRestoreLatest('off', {})); // the live data goes back to [1]
    await new Promise((r) => setTimeout(r, 500));
    // Before the fix: [] (no event until some tab happens to run SQL: B's UI keeps showing row 2).
    // Expected: a data event with all: true (as backup.restore sends) and a catalog event.
    const before = [...seen];
    expect(await call(b.api.query('SELECT x FROM t'))).toEqual([{ x: 1 }]);
    expect(before).toContainEqual({ kind: 'data', tables: [], all: true });
    await call(b.api.close());
    await call(a.api.close());
  });

  it('keeps the remotes of the shared vault across a hand-over (the tab that stays never reopened)', async () => {
    const name = `atk-rh-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name);
    await call(b.api.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)'));
    // Tab B adds the remote (plain credentials, so it may from a follower) and uses it.
    await call(b.api.remoteAdd('off', remoteAt(`${name}/`)));
    expect((await call(b.api.remoteList('off'))).length).toBe(0);
    await call(a.api.close()); // the other tab closes: B takes over
    const listed = await b.api.remoteList('off');
    // Before the fix: NOT_FOUND (the remote lived in A's service). Expected: the remote B added still works.
    expect(listed.ok ? 'OK' : listed.error.code).toBe('OK');
    await call(b.api.close());
  });
});
