// `pagevault remote list|verify|extract` against a real S3 protocol server (s3rver verifies SigV4).
import 'fake-indexeddb/auto';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/pagevault';
import { RemoteLayout } from '../../src/format/remote-layout';
import { s3Store } from '../../src/remote/s3';
import { bundleCli } from './cli-bundle';
import { makeDatabase } from './format-fixtures';
import { pushImage } from '../support/remote-fixture';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from '../support/s3-server';
import { addRows, call, openService } from '../support/vault-harness';

let s3: S3Server;
let dir: string;
let image1: Uint8Array;
let image2: Uint8Array;
const path = (name: string): string => join(dir, name);
const KEYS = { AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey };
const store = (prefix: string) => s3Store({ kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix, credentials: S3_CREDENTIALS });

async function cli(env: Record<string, string>, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), stderrIsTTY: false, env });
  return { code, out, err, json: () => JSON.parse(out) as Record<string, unknown>, error: () => (JSON.parse(out) as { error?: { code: string } }).error?.code };
}
/** The CLI as a user runs it against the test server, with its keys in the environment. */
const remote = (...argv: string[]) => cli(KEYS, 'remote', ...argv, '--endpoint', s3.endpoint, '--json');

beforeAll(async () => {
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), 'pagevault-cli-remote-'));
  const db = await makeDatabase(4000, 4096);
  image1 = db.export();
  db.run("UPDATE t SET body = 'changed' WHERE id IN (7, 2100, 3999)");
  image2 = db.export();
  db.close();
  await pushImage(store('plain/'), image1, { backupId: 'bk-old', createdAt: 1_700_000_000_000 });
  await pushImage(store('plain/'), image2, { backupId: 'bk-new', createdAt: 1_700_000_100_000, note: 'after edits' });
  await pushImage(store('enc/'), image2, { backupId: 'bk-enc', createdAt: 1_700_000_200_000 }, 'hunter2 hunter2');
  await writeFile(path('pass.txt'), 'hunter2 hunter2\n');
  await writeFile(path('wrong.txt'), 'not it\n');
}, 120_000); // three pushes and a PBKDF2 run: seconds on a loaded machine
afterAll(async () => {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe('pagevault remote (S3)', () => {
  it('list shows every backup under the prefix, newest first, with the contract fields', async () => {
    const listed = await remote('list', `s3://${S3_BUCKET}/plain/`);
    expect(listed.code).toBe(0);
    const { backups, encrypted } = listed.json() as { backups: Record<string, unknown>[]; encrypted: boolean };
    expect(encrypted).toBe(false);
    expect(backups.map((b) => b['backupId'])).toEqual(['bk-new', 'bk-old']);
    expect(backups[0]).toMatchObject({ createdAt: 1_700_000_100_000, sizeBytes: image2.length, note: 'after edits', tables: [{ name: 'empty_one', rows: 0 }, { name: 't', rows: 4000 }] });
    // The prefix without its trailing slash is the same repository; the human form has one line per backup.
    const human = await cli(KEYS, 'remote', 'list', `s3://${S3_BUCKET}/plain`, '--endpoint', s3.endpoint);
    expect(human.code).toBe(0);
    expect(human.out.split('\n').filter((l) => l.includes('bk-'))).toHaveLength(2);
  });

  it('extract writes a byte-identical database sqlite3 reads, and refuses an existing output', async () => {
    const done = await remote('extract', `s3://${S3_BUCKET}/plain/`, 'bk-new', '-o', path('new.sqlite'));
    expect(done.code).toBe(0);
    expect(done.json()).toMatchObject({ ok: true, backupId: 'bk-new', sizeBytes: image2.length });
    expect(new Uint8Array(await readFile(path('new.sqlite')))).toEqual(image2);
    expect(execFileSync('/usr/bin/sqlite3', [path('new.sqlite'), "SELECT count(*) FROM t WHERE body = 'changed'"]).toString().trim()).toBe('3');
    const again = await remote('extract', `s3://${S3_BUCKET}/plain/`, 'bk-old', '-o', path('new.sqlite'));
    expect([again.code, again.error()]).toEqual([2, 'OUTPUT_EXISTS']);
    expect(new Uint8Array(await readFile(path('new.sqlite')))).toEqual(image2);
  });

  it('verify checks one backup or all of them; a missing backup is NOT_FOUND (exit 2)', async () => {
    expect((await remote('verify', `s3://${S3_BUCKET}/plain/`, 'bk-old')).json()).toMatchObject({ ok: true, backupId: 'bk-old', integrity: 'ok' });
    const all = await remote('verify', `s3://${S3_BUCKET}/plain/`);
    expect(all.code).toBe(0);
    expect(all.json()).toMatchObject({ ok: true, verified: 2 });
    const missing = await remote('verify', `s3://${S3_BUCKET}/plain/`, 'bk-none');
    expect([missing.code, missing.error()]).toEqual([2, 'NOT_FOUND']);
    const empty = await remote('list', `s3://${S3_BUCKET}/nothing-here/`);
    expect([empty.code, empty.error()]).toEqual([2, 'NOT_FOUND']);
  });

  it('an encrypted repository: no passphrase, a wrong one and the right one give three outcomes', async () => {
    const url = `s3://${S3_BUCKET}/enc/`;
    const none = await remote('list', url);
    expect([none.code, none.error()]).toEqual([1, 'PASSPHRASE_REQUIRED']);
    const wrong = await remote('list', url, '--passphrase-file', path('wrong.txt'));
    expect([wrong.code, wrong.error()]).toEqual([1, 'WRONG_PASSPHRASE']);
    const right = await remote('list', url, '--passphrase-file', path('pass.txt'));
    expect(right.json()).toMatchObject({ encrypted: true, backups: [{ backupId: 'bk-enc', sizeBytes: image2.length }] });
    const out = await remote('extract', url, 'bk-enc', '-o', path('enc.sqlite'), '--passphrase-file', path('pass.txt'));
    expect(out.json()).toMatchObject({ ok: true, encrypted: true });
    expect(new Uint8Array(await readFile(path('enc.sqlite')))).toEqual(image2);
    // A plain repository is never read as if it were the encrypted one.
    const plainWithPass = await remote('list', `s3://${S3_BUCKET}/plain/`, '--passphrase-file', path('pass.txt'));
    expect(plainWithPass.error()).toBe('NOT_ENCRYPTED');
  });

  it('bad credentials are REMOTE_DENIED (exit 1), half of them a usage error; an unreachable endpoint is REMOTE_UNAVAILABLE (exit 3)', async () => {
    const url = `s3://${S3_BUCKET}/plain/`;
    const bad = await cli({ ...KEYS, AWS_SECRET_ACCESS_KEY: 'wrong' }, 'remote', 'list', url, '--endpoint', s3.endpoint, '--json');
    expect([bad.code, bad.error()]).toEqual([1, 'REMOTE_DENIED']);
    const half = await cli({ AWS_ACCESS_KEY_ID: 'S3RVER' }, 'remote', 'list', url, '--endpoint', s3.endpoint, '--json');
    expect([half.code, half.error()]).toEqual([2, 'INVALID_ARGUMENT']);
    s3.faults.failNext = 100;
    s3.faults.status = 503;
    try {
      const down = await cli(KEYS, 'remote', 'list', url, '--endpoint', s3.proxyEndpoint, '--json');
      expect([down.code, down.error()]).toEqual([3, 'REMOTE_UNAVAILABLE']);
    } finally {
      s3.faults.failNext = 0;
    }
  }, 20_000);

  it('usage: a bad URL, a missing BACKUP_ID, -o missing, an unknown remote command exit 2', async () => {
    for (const argv of [
      ['remote', 'list', 'http://x/y'],
      ['remote', 'list', 's3://Bad_Bucket/x'],
      ['remote', 'extract', `s3://${S3_BUCKET}/plain/`, '-o', path('x.sqlite')],
      ['remote', 'extract', `s3://${S3_BUCKET}/plain/`, 'bk-new'],
      ['remote', 'push', `s3://${S3_BUCKET}/plain/`],
      ['remote list', `s3://${S3_BUCKET}/plain/`],
      ['remote', 'list', `s3://${S3_BUCKET}/plain/`, '--note', 'x'],
    ]) {
      const r = await cli(KEYS, ...argv, '--json');
      expect([argv.join(' '), r.code, r.error()]).toEqual([argv.join(' '), 2, 'INVALID_ARGUMENT']);
    }
  });

  it('a damaged chunk on the server: verify and extract fail with INTEGRITY, no output appears, the other backup still verifies', async () => {
    const keys = await pushImage(store('damaged/'), image1, { backupId: 'bk-a', createdAt: 1 });
    const other = makeDatabase(50, 4096, 9);
    const small = (await other).export();
    await pushImage(store('damaged/'), small, { backupId: 'bk-b', createdAt: 2 });
    // A chunk only bk-a has, overwritten on the server with other bytes.
    const name = await new RemoteLayout().chunkName(keys[keys.length - 1]!);
    const put = await s3.client.fetch(s3.objectUrl(`damaged/${name}`), { method: 'PUT', body: new Uint8Array(300).fill(0x5a) });
    expect(put.ok).toBe(true);
    const url = `s3://${S3_BUCKET}/damaged/`;
    const one = await remote('verify', url, 'bk-a');
    expect([one.code, one.error()]).toEqual([1, 'INTEGRITY']);
    const out = await remote('extract', url, 'bk-a', '-o', path('damaged.sqlite'));
    expect([out.code, out.error()]).toEqual([1, 'INTEGRITY']);
    expect(existsSync(path('damaged.sqlite'))).toBe(false);
    const all = await remote('verify', url);
    expect(all.code).toBe(1);
    const report = all.json() as { ok: boolean; backups: { ok: boolean; backupId?: string; error?: { code: string } }[] };
    expect(report.backups.map((b) => [b.ok, b.backupId ?? null, b.error?.code ?? null])).toEqual(
      expect.arrayContaining([[true, 'bk-b', null], [false, null, 'INTEGRITY']]),
    );
  });

  it('a backup a vault pushed (encrypted, through the worker) lists, verifies and extracts with the CLI', async () => {
    const service = await openService('cli-remote-vault');
    try {
      await addRows(service, 3000, 4);
      await call(service.remoteAdd('offsite', { kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix: 'from-vault/', credentials: S3_CREDENTIALS, passphrase: 'hunter2 hunter2' }));
      const { backupId } = await call(service.backupCreate({}));
      await call(service.backupWait(backupId));
      await call(service.remotePush('offsite', {}));
      const [pushed] = await call(service.remoteList('offsite'));
      const url = `s3://${S3_BUCKET}/from-vault/`;
      const pass = ['--passphrase-file', path('pass.txt')];
      expect((await remote('list', url, ...pass)).json()).toMatchObject({ backups: [{ backupId, sha256: pushed!.sha256, vault: 'cli-remote-vault' }] });
      expect((await remote('verify', url, ...pass)).json()).toMatchObject({ ok: true, verified: 1 });
      const out = await remote('extract', url, backupId, '-o', path('vault.sqlite'), ...pass);
      expect(out.json()).toMatchObject({ ok: true, sha256: pushed!.sha256, tables: pushed!.tables });
      expect(execFileSync('/usr/bin/sqlite3', [path('vault.sqlite'), 'PRAGMA integrity_check']).toString().trim()).toBe('ok');
    } finally {
      await call(service.close({ force: true })).catch(() => undefined);
    }
  });

  it('an encrypted chunk damaged on the server fails authentication: INTEGRITY, no output', async () => {
    const keys = await pushImage(store('enc-damaged/'), image1, { backupId: 'bk-x', createdAt: 3 }, 'hunter2 hunter2');
    // The object names are keyed: find the chunk objects by listing, and flip one byte of one of them.
    const chunkKeys = (await s3.listKeys('enc-damaged/chunks/')).sort();
    expect(chunkKeys.length).toBe(new Set(keys).size);
    const target = chunkKeys[0]!;
    const bytes = new Uint8Array(await (await s3.client.fetch(s3.objectUrl(target))).arrayBuffer());
    bytes[20] = bytes[20]! ^ 1;
    expect((await s3.client.fetch(s3.objectUrl(target), { method: 'PUT', body: bytes })).ok).toBe(true);
    const url = `s3://${S3_BUCKET}/enc-damaged/`;
    const pass = ['--passphrase-file', path('pass.txt')];
    const verified = await remote('verify', url, 'bk-x', ...pass);
    expect([verified.code, verified.error()]).toEqual([1, 'INTEGRITY']);
    const out = await remote('extract', url, 'bk-x', '-o', path('enc-damaged.sqlite'), ...pass);
    expect([out.code, out.error()]).toEqual([1, 'INTEGRITY']);
    expect(existsSync(path('enc-damaged.sqlite'))).toBe(false);
  });

  it('the built CLI reads its keys from AWS_* in its environment and exits with the documented codes', async () => {
    const { bundle, remove } = await bundleCli('remote');
    const run = (env: Record<string, string>, ...argv: string[]) =>
      promisify(execFile)(process.execPath, [bundle, 'remote', ...argv, '--json'], { env: { PATH: process.env['PATH'] ?? '', ...env } }).then(
        ({ stdout }) => ({ code: 0, out: stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
      );
    try {
      const url = `s3://${S3_BUCKET}/plain/`;
      const ok = await run({ ...KEYS, AWS_ENDPOINT_URL_S3: s3.endpoint }, 'list', url);
      expect([ok.code, (JSON.parse(ok.out) as { backups: unknown[] }).backups.length]).toEqual([0, 2]);
      const denied = await run({ ...KEYS, AWS_SECRET_ACCESS_KEY: 'nope' }, 'list', url, '--endpoint', s3.endpoint);
      expect([denied.code, JSON.parse(denied.out)]).toEqual([1, { error: expect.objectContaining({ code: 'REMOTE_DENIED' }) }]);
      const usage = await run(KEYS, 'extract', url, 'bk-new');
      expect(usage.code).toBe(2);
    } finally {
      await remove();
    }
  }, 120_000);
});
