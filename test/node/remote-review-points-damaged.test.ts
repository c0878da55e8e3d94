// Review finding (fixed): damaged remote points under restore({ at, from }); argument checks.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RemoteOptions, S3RemoteOptions } from '../../src/protocol';
import { RemoteRepository } from '../../src/remote/repository';
import { s3Store } from '../../src/remote/s3';
import { s3RemoteAt, s3Suite, until } from '../support/s3-suite';
import { call, openService } from '../support/vault-harness';
import { MINUTE, MadeUpClock, openAt, rowNumbers, saveRow } from './history-support';

const suite = s3Suite(beforeAll, afterAll);
const s3At = (prefix: string, over: Partial<RemoteOptions> = {}): RemoteOptions => s3RemoteAt(suite.s3, prefix, over);
async function points(options: RemoteOptions) {
  const repo = await RemoteRepository.open(s3Store(options as S3RemoteOptions));
  return { repo, listed: (await repo.listManifests(undefined, 'points/')).sort((a, b) => a.manifest.createdAt - b.manifest.createdAt) };
}
async function put(key: string, body: string): Promise<void> {
  const res = await suite.s3.client.fetch(suite.s3.objectUrl(key), { method: 'PUT', body });
  expect(res.ok).toBe(true);
}

async function setup(prefix: string) {
  const clock = new MadeUpClock(Date.UTC(2026, 0, 5, 9));
  const options = s3At(prefix);
  const a = await openAt(`dmg-${prefix.slice(0, -1)}`, clock, { keep: '2h' });
  suite.open.push(a);
  await call(a.remoteAdd('live', { ...options, continuousMs: 50 } as RemoteOptions));
  await until(async () => (await suite.s3.listKeys(`${prefix}heads/`)).length === 1);
  const saved: number[] = [];
  for (let n = 1; n <= 3; n++) {
    const at = await saveRow(a, clock, n, 10 * MINUTE);
    saved.push(at);
    await until(async () => (await points(options)).listed.some((m) => m.manifest.createdAt === at));
  }
  await call(a.close({}));
  const b = await openService(`dmg-${prefix.slice(0, -1)}-b`);
  suite.open.push(b);
  await call(b.remoteAdd('live', options));
  await call(b.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)'));
  await call(b.exec("INSERT INTO t VALUES (99, 'mine')"));
  await call(b.flush());
  return { options, saved, b };
}

it('a damaged point object: restore({ at }) must not silently restore an older state', async () => {
  const { options, saved, b } = await setup('dmgpoint/');
  const { listed } = await points(options);
  const second = listed.find((m) => m.manifest.createdAt === saved[1]);
  expect(second).toBeDefined();
  await put(`dmgpoint/${second!.name}`, 'garbage');
  const outcome = await call(b.backupRestore({ at: saved[1]! + MINUTE, from: 'live' })).then(() => 'restored', (e: { code: string }) => e.code);
  expect(['INTEGRITY', 'INVALID_BACKUP']).toContain(outcome);
  expect(await rowNumbers(b)).toEqual([99]);
}, 60_000);

it('a damaged chunk of a point: restore({ at }) fails and the live database is unchanged', async () => {
  const { options, saved, b } = await setup('dmgchunk/');
  const { repo, listed } = await points(options);
  const second = listed.find((m) => m.manifest.createdAt === saved[1])!.manifest;
  const others = new Set(listed.filter((m) => m.manifest.createdAt !== saved[1]).flatMap((m) => m.manifest.chunks));
  const only = second.chunks.filter((k) => !others.has(k));
  expect(only.length).toBeGreaterThan(0);
  await put(`dmgchunk/${await repo.layout.chunkName(only[0]!)}`, 'garbage');
  const outcome = await call(b.backupRestore({ at: saved[1]!, from: 'live' })).then(() => 'restored', (e: { code: string }) => e.code);
  expect(outcome).not.toBe('restored');
  expect(await rowNumbers(b)).toEqual([99]);
}, 60_000);

it('argument checks', async () => {
  const b = await openService('dmg-args');
  suite.open.push(b);
  const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code: string }) => e.code);
  const r = (at: unknown, from: unknown) => code(call(b.backupRestore({ at, from } as never)));
  const out = {
    unknownFrom: await r(1, 'nope'),
    fromEmpty: await r(1, ''),
    fromNumber: await r(1, 5),
    atNaN: await r(Number.NaN, 'nope'),
    listUnknown: await code(call(b.historyList({ from: 'nope' } as never))),
    listFromObj: await code(call(b.historyList({ from: {} } as never))),
  };
  await call(b.remoteAdd('live', s3At('dmgargs/')));
  const out2 = {
    atNaN: await r(Number.NaN, 'live'),
    atNeg: await r(-1, 'live'),
    atHuge: await r(8.64e15 + 1, 'live'),
    atStr: await r('2026-01-01', 'live'),
    atBadDate: await r(new Date('x'), 'live'),
    atFloat: await r(1.5, 'live'),
    atMissing: await r(undefined, 'live'),
    sinceBad: await code(call(b.historyList({ from: 'live', since: -5 } as never))),
  };
  for (const v of Object.values({ ...out, ...out2 })) expect(['INVALID_ARGUMENT', 'NOT_FOUND']).toContain(v);
}, 60_000);
