// Adversarial check (encrypted remote, end to end): no object name or byte reveals a chunk hash,
// the table name or row text; the passphrase and secret key never reach IndexedDB; a manifest
// moved onto another backup's name, or replayed from another repository with the same
// passphrase, is not accepted; a wrong passphrase is WRONG_PASSPHRASE.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions } from '../../src/protocol';
import {S3_BUCKET } from '../support/s3-server';
import { s3Suite } from '../support/s3-suite';
import { addRows, call, openService, readDisk, settle } from '../support/vault-harness';

const suite = s3Suite(beforeAll, afterAll);
const { open } = suite;

const PASS = 'correct horse battery staple 7781';
const remote = (prefix: string, passphrase = PASS) =>
  ({ kind: 's3', endpoint: suite.s3.endpoint, bucket: S3_BUCKET, prefix, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, passphrase, retry: { retries: 1, backoffMs: 5, timeoutMs: 20_000 } }) as RemoteOptions;
const get = async (key: string) => new Uint8Array(await (await suite.s3.client.fetch(suite.s3.objectUrl(key))).arrayBuffer());
const put = (key: string, body: Uint8Array) => suite.s3.client.fetch(suite.s3.objectUrl(key), { method: 'PUT', body: body as Uint8Array<ArrayBuffer> });

describe('encrypted remote, end to end', () => {
  it('reveals nothing, persists no secret, refuses moved and replayed manifests', async () => {
    const a = await openService('enc-a');
    open.push(a);
    await call(a.exec('CREATE TABLE secret_ledger (id INTEGER PRIMARY KEY, note TEXT)'));
    await call(a.exec("INSERT INTO secret_ledger (note) VALUES ('plaintext-canary-123'), ('plaintext-canary-456')"));
    await addRows(a, 300, 1);
    await call(a.remoteAdd('e', remote('enc1/')));
    const one = await call(a.backupCreate({ note: 'note-canary' }));
    await call(a.backupWait(one.backupId));
    await call(a.remotePush('e', {}));
    await call(a.exec("INSERT INTO secret_ledger (note) VALUES ('x')"));
    const two = await call(a.backupCreate({}));
    await call(a.backupWait(two.backupId));
    await call(a.remotePush('e', {}));
    // Same data, same passphrase, another repository.
    await call(a.remoteAdd('e2', remote('enc2/')));
    await call(a.remotePush('e2', { backupId: one.backupId }));

    const disk = await readDisk('enc-a');
    const localHashes = disk.chunkKeys;
    const keys = await suite.s3.listKeys('enc1/');
    const text = new TextDecoder('latin1');
    for (const key of keys) {
      const body = text.decode(await get(key));
      for (const needle of ['secret_ledger', 'plaintext-canary', 'note-canary', 'enc-a', one.backupId, ...localHashes.slice(0, 50)]) {
        expect(key.includes(needle) || (key !== 'enc1/config' && body.includes(needle)), `${key} reveals ${needle}`).toBe(false);
      }
    }
    const persisted = JSON.stringify([...disk.jobs, ...disk.backups.values(), ...disk.heads.values(), ...disk.points.values()]);
    expect(persisted.includes(PASS) || persisted.includes('S3RVER')).toBe(false);

    // Move backup two's manifest onto backup one's name, and replay enc2's manifest of one into enc1.
    const backupsKeys = keys.filter((k) => k.startsWith('enc1/backups/'));
    expect(backupsKeys).toHaveLength(2);
    const b = await openService('enc-b');
    open.push(b);
    await call(b.remoteAdd('e', remote('enc1/')));
    const listed = async () => (await call(b.remoteList('e'))).map((x) => x.backupId).sort();
    const [k1, k2] = backupsKeys as [string, string];
    const original1 = await get(k1);
    await put(k1, await get(k2));
    expect(await listed()).not.toContain(undefined);
    expect((await listed()).length).toBe(1);
    await put(k1, original1);
    const replayKey = (await suite.s3.listKeys('enc2/backups/'))[0]!;
    await put(k1, await get(replayKey));
    expect((await listed()).length).toBe(1);
    await put(k1, original1);
    expect(await listed()).toEqual([one.backupId, two.backupId].sort());

    const c = await openService('enc-c');
    open.push(c);
    expect(await settle(call(c.remoteAdd('e', remote('enc1/', 'wrong passphrase 1234'))))).toMatchObject({ ok: false, code: 'WRONG_PASSPHRASE' });
    expect(await settle(call(c.remoteAdd('e', (({ passphrase: _p, ...rest }) => rest as RemoteOptions)(remote('enc1/') as RemoteOptions & { passphrase?: string }))))).toMatchObject({ ok: false, code: 'PASSPHRASE_REQUIRED' });
  }, 120_000);
});
