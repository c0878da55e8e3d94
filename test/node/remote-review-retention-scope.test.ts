// Adversarial reproduction: remote.applyRetention plans over every manifest in the prefix, whichever
// vault pushed it (worker/remote/retention.ts), so one vault's policy (by default its own local
// policy) deletes another vault's backups on a shared prefix (README: "Any number of vaults and
// devices may push to one prefix").
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import type { Service } from '../../worker/service';
import {S3_BUCKET, S3_CREDENTIALS } from '../support/s3-server';
import { s3Suite } from '../support/s3-suite';
import { addRows, call, openService } from '../support/vault-harness';

const suite = s3Suite(beforeAll, afterAll);
const { open } = suite;

const remote = () => ({ kind: 's3', endpoint: suite.s3.endpoint, bucket: S3_BUCKET, prefix: 'scope/', credentials: S3_CREDENTIALS, retry: { retries: 1, backoffMs: 5, timeoutMs: 20_000 } }) as RemoteOptions;

async function vaultPushing(name: string, seed: number): Promise<{ service: Service; backupId: string }> {
  const service = await openService(name);
  open.push(service);
  await addRows(service, 200, seed);
  await call(service.remoteAdd('shared', remote()));
  const { backupId } = await call(service.backupCreate({}));
  await call(service.backupWait(backupId));
  await call(service.remotePush('shared', {}));
  return { service, backupId };
}

describe('remote retention on a shared prefix', () => {
  it("one vault's keepLast: 1 keeps the other vault's only backup", async () => {
    const other = await vaultPushing('scope-other', 1);
    const mine = await vaultPushing('scope-mine', 2);
    await call(mine.service.remoteApplyRetention('shared', { keepLast: 1 }, { graceMs: 0 }));
    const left = (await call(other.service.remoteList('shared'))).map((b) => b.backupId);
    // Observed: only mine.backupId is left (the other vault's only backup and its chunks are gone).
    expect(left).toContain(other.backupId);
  }, 60_000);
});
