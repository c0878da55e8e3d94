// Adversarial reproduction: collection treats a manifest it cannot read (a newer layout version,
// skipped by listManifests/skipDamaged) as absent, so an older build's retention deletes the chunks
// of a backup a newer build pushed (src/remote/collect.ts referencedNames).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import {S3_BUCKET, S3_CREDENTIALS } from '../support/s3-server';
import { s3Suite } from '../support/s3-suite';
import { addRows, call, openService, settle } from '../support/vault-harness';

const suite = s3Suite(beforeAll, afterAll);
const { open } = suite;

const remote = { kind: 's3', bucket: S3_BUCKET, prefix: 'compat/', credentials: S3_CREDENTIALS, retry: { retries: 1, backoffMs: 5, timeoutMs: 20_000 } } as const;

describe('a manifest this build cannot read', () => {
  it('keeps the chunks it names out of collection', async () => {
    const a = await openService('compat-a');
    open.push(a);
    await addRows(a, 1_000, 1);
    await call(a.remoteAdd('r', { ...remote, endpoint: suite.s3.endpoint } as RemoteOptions));
    const { backupId } = await call(a.backupCreate({}));
    await call(a.backupWait(backupId));
    await call(a.remotePush('r', {}));
    const chunksBefore = (await suite.s3.listKeys('compat/chunks/')).length;
    // A newer build wrote this manifest (layout version 2, say with a field this build does not know).
    const url = suite.s3.objectUrl(`compat/backups/${backupId}`);
    const manifest = JSON.parse(await (await suite.s3.client.fetch(url)).text()) as Record<string, unknown>;
    await suite.s3.client.fetch(url, { method: 'PUT', body: JSON.stringify({ ...manifest, version: 2 }) });
    // An older device runs its retention (any policy; {} keeps every backup it can read).
    // Collection stops with a typed error instead of treating the unreadable manifest as absent.
    const outcome = await settle(call(a.remoteApplyRetention('r', {}, { graceMs: 0 })));
    expect(outcome.ok ? 'ok' : outcome.code).toBe('UNSUPPORTED_VERSION');
    // Before the fix: 0 (every chunk of the newer build's backup was deleted). Now: all kept.
    expect((await suite.s3.listKeys('compat/chunks/')).length).toBe(chunksBefore);
  }, 60_000);
});
