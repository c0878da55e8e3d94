// Review hardening: names that reach remote object keys (remote names, backup ids) are restricted
// to letters, digits, ".", "_" and "-" without "..", so none can name another object or folder.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import type { Service } from '../../worker/service';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from '../support/s3-server';
import { call, openService, settle } from '../support/vault-harness';

let s3: S3Server;
let service: Service;
beforeAll(async () => {
  s3 = await startS3Server();
  service = await openService('names');
});
afterAll(async () => {
  await call(service.close({ force: true })).catch(() => undefined);
  await s3.close();
});

const remote = (): RemoteOptions => ({ kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix: 'names/', credentials: S3_CREDENTIALS }) as RemoteOptions;
const code = async (pending: Promise<unknown>) => {
  const s = await settle(pending as never);
  return s.ok ? 'ok' : s.code;
};

describe('names reaching object keys', () => {
  it('refuses remote names and backup ids outside [A-Za-z0-9._-] or with ".."', async () => {
    expect(await code(call(service.remoteAdd('../other', remote())))).toBe('INVALID_ARGUMENT');
    expect(await code(call(service.remoteAdd('a/b', remote())))).toBe('INVALID_ARGUMENT');
    expect(await code(call(service.remoteAdd('offsite', remote())))).toBe('ok');
    for (const backupId of ['../config', 'a/b', 'x..y', 'sp ace']) {
      expect(await code(call(service.remotePull('offsite', backupId)))).toBe('INVALID_ARGUMENT');
      expect(await code(call(service.remoteDrop('offsite', backupId)))).toBe('INVALID_ARGUMENT');
    }
    expect(await code(call(service.remotePull('offsite', 'bk-absent.1_2')))).toBe('NOT_FOUND');
  }, 30_000);
});
