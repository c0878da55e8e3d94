// Review findings (fixed): a second device turning continuous replication on next to a first device's
// remote points. Under the same vault name it thinned the first device's points with its own window
// (24 h); under another name it travelled in its own empty states (`{ vault }` now names whose).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RemoteOptions, S3RemoteOptions } from '../../src/protocol';
import { RemoteRepository } from '../../src/remote/repository';
import { s3Store } from '../../src/remote/s3';
import { s3RemoteAt, s3Suite, until } from '../support/s3-suite';
import { call } from '../support/vault-harness';
import { HOUR, MadeUpClock, openAt, rowNumbers, saveRow } from './history-support';

const suite = s3Suite(beforeAll, afterAll);
const s3At = (prefix: string, over: Partial<RemoteOptions> = {}): RemoteOptions => s3RemoteAt(suite.s3, prefix, over);
async function pointTimes(options: RemoteOptions): Promise<number[]> {
  const repo = await RemoteRepository.open(s3Store(options as S3RemoteOptions));
  return (await repo.listManifests(undefined, 'points/')).map((m) => m.manifest.createdAt).sort((a, b) => a - b);
}

function forget(vault: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const r = indexedDB.deleteDatabase(`pagevault:${vault}`);
    r.onsuccess = () => resolve();
    r.onerror = () => reject(r.error);
  });
}

/**
 * Device A (`notes`, keep 7 d, continuous) saves one row a day for three days, then closes; device B
 * opens `bName` in a fresh IndexedDB with continuous replication to the same prefix. Returns B, the
 * times A saved, and A's points listed after B pushed.
 */
async function secondDevice(prefix: string, bName: string) {
  const clock = new MadeUpClock(Date.UTC(2026, 0, 5, 9));
  const options = s3At(prefix);
  await forget('notes'); // device A starts empty too (one process holds every test's IndexedDB)
  const a = await openAt('notes', clock, { keep: '7d' });
  suite.open.push(a);
  await call(a.remoteAdd('live', { ...options, continuousMs: 50 } as RemoteOptions));
  await until(async () => (await suite.s3.listKeys(`${prefix}heads/`)).length === 1);
  const saved: number[] = [];
  for (let n = 1; n <= 3; n++) {
    const at = await saveRow(a, clock, n, 24 * HOUR); // one save a day
    saved.push(at);
    await until(async () => (await pointTimes(options)).includes(at));
  }
  await call(a.close({}));
  await forget(bName); // a new device has its own (empty) IndexedDB
  const before = await pointTimes(options);
  expect(before).toEqual(expect.arrayContaining(saved));
  clock.advance(HOUR);
  const b = await openAt(bName, clock);
  suite.open.push(b);
  await call(b.remoteAdd('live', { ...options, continuousMs: 50 } as RemoteOptions));
  await until(async () => (await pointTimes(options)).length !== before.length || (await pointTimes(options)).includes(clock.now()), 5_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1500));
  return { b, saved, after: await pointTimes(options) };
}

it("device B (same vault name, continuous on, no history policy) leaves device A's 7-day points alone", async () => {
  const { b, saved, after } = await secondDevice('xdev/', 'notes');
  expect(after).toEqual(expect.arrayContaining(saved)); // A's points are all still there
  // Device A's day-1 save must still restore.
  await call(b.backupRestore({ at: saved[0]!, from: 'live' }));
  expect(await rowNumbers(b)).toEqual([1]);
  await call(b.close({}));
}, 60_000);

it("device B (new vault name, continuous on) travels to device A's states when it names them with { vault }", async () => {
  const { b, saved, after } = await secondDevice('xname/', 'notes-phone');
  expect(after).toEqual(expect.arrayContaining(saved));
  await call(b.backupRestore({ at: saved[0]!, from: 'live', vault: 'notes' }));
  expect(await rowNumbers(b)).toEqual([1]);
  await call(b.close({}));
}, 60_000);
