// Remote time travel: continuous replication keeps each pushed head as a point on the remote, so a
// fresh vault restores the state at a moment ({ at, from }); collection keeps the points' chunks,
// and points fall out of the window as local history does.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions, S3RemoteOptions } from '../../src/protocol';
import { collectChunks } from '../../src/remote/collect';
import { RemoteRepository } from '../../src/remote/repository';
import { s3Store } from '../../src/remote/s3';
import type { Service } from '../../worker/service';
import { s3RemoteAt, s3Suite, until } from '../support/s3-suite';
import { call, openService } from '../support/vault-harness';
import { HOUR, MINUTE, MadeUpClock, openAt, rowNumbers, saveRow } from './history-support';

const suite = s3Suite(beforeAll, afterAll);
const { open } = suite;

const s3At = (prefix: string, over: Partial<RemoteOptions> = {}): RemoteOptions => s3RemoteAt(suite.s3, prefix, over);

/** The `at` of every point the remote holds, oldest first. */
async function pointTimes(options: RemoteOptions): Promise<number[]> {
  const repo = await RemoteRepository.open(s3Store(options as S3RemoteOptions), options.passphrase);
  return (await repo.listManifests(undefined, 'points/')).map((m) => m.manifest.createdAt).sort((a, b) => a - b);
}

async function freshVault(name: string, options: RemoteOptions): Promise<Service> {
  const service = await openService(name);
  open.push(service);
  await call(service.remoteAdd('live', options));
  return service;
}

describe.each([
  ['plain', 'tt-plain/', {}],
  ['encrypted', 'tt-sealed/', { passphrase: 'correct horse battery' }],
] as const)('remote time travel (%s)', (kind, prefix, secret) => {
  it('a fresh vault restores the state at a moment between two saves; collection keeps the points; the window thins them', async () => {
    const opened = Date.UTC(2026, 0, 5, 9);
    const clock = new MadeUpClock(opened);
    const a = await openAt(`tt-${kind}`, clock, { keep: '2h' });
    open.push(a);
    const options = s3At(prefix, secret);
    await call(a.remoteAdd('live', { ...options, continuousMs: 50 }));
    // The state at open (an empty database) is pushed first, and kept as a point too. The config
    // is written before the head: read through a repository only once the head is there.
    await until(async () => (await suite.s3.listKeys(`${prefix}heads/`)).length === 1);
    await until(async () => (await pointTimes(options)).includes(opened));
    const saved: number[] = [];
    for (let n = 1; n <= 3; n++) {
      const at = await saveRow(a, clock, n, 10 * MINUTE);
      saved.push(at);
      await until(async () => (await pointTimes(options)).includes(at));
    }
    expect(await pointTimes(options)).toEqual([opened, ...saved]);
    if (kind === 'encrypted') {
      // Keyed names: neither the vault name nor a time shows.
      const keys = await suite.s3.listKeys(`${prefix}points/`);
      expect(keys.some((k) => k.includes(`tt-${kind}`) || saved.some((at) => k.includes(String(at))))).toBe(false);
    }

    // Every chunk no manifest names goes at once (no grace): the points' chunks must stay.
    const repo = await RemoteRepository.open(s3Store(options as S3RemoteOptions), options.passphrase);
    await collectChunks(repo, 0);

    const b = await freshVault(`tt-${kind}-b`, options);
    const listed = await call(b.historyList({ from: 'live' }));
    expect(listed.map((p) => p.at)).toEqual([opened, ...saved]);
    expect(await call(b.historyList({ from: 'live', since: saved[1]! }))).toHaveLength(2);
    await call(b.backupRestore({ at: saved[1]! + 5 * MINUTE, from: 'live' }));
    expect(await rowNumbers(b)).toEqual([1, 2]);
    const c = await freshVault(`tt-${kind}-c`, options);
    await call(c.backupRestore({ at: new Date(saved[0]! + MINUTE), from: 'live' }));
    expect(await rowNumbers(c)).toEqual([1]);
    await call(c.backupRestore({ at: saved[0]! - 1, from: 'live' }));
    expect(await rowNumbers(c)).toEqual([]);
    // Before the vault was opened the remote holds nothing.
    await expect(call(c.backupRestore({ at: opened - 1, from: 'live' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Three hours later, with a 2 h window, the old points fall out at the next push.
    clock.advance(3 * HOUR);
    const late = await saveRow(a, clock, 4, 0);
    await until(async () => (await pointTimes(options)).includes(late));
    expect(await pointTimes(options)).toEqual([late]);
    // The thinned points' chunks go at the next collection; the newest state still restores.
    expect((await collectChunks(repo, 0)).deleted).toBeGreaterThan(0);
    const e = await freshVault(`tt-${kind}-e`, options);
    await call(e.backupRestore({ at: late, from: 'live' }));
    expect(await rowNumbers(e)).toEqual([1, 2, 3, 4]);
    const d = await freshVault(`tt-${kind}-d`, options);
    await expect(call(d.backupRestore({ at: saved[2]!, from: 'live' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 60_000);
});
