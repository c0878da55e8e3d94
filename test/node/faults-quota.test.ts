/**
 * The browser refusing to store more (QuotaExceededError on the k-th write, for every k) and a
 * compressor returning damaged output (restic's lesson): typed errors with the storage figures,
 * nothing half-stored, earlier backups intact.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { installFaults } from '../support/faulty-idb';
import { SCENARIOS } from '../support/scenarios';
import { addRows, call, diskSnapshot, jobsIdle, openService, orphanChunks, readDisk, settle } from '../support/vault-harness';

/** When set, fflate's deflate compresses one flipped byte: a valid stream of the wrong content. */
const compressor = vi.hoisted(() => ({ damaged: false }));
vi.mock('fflate', async (importOriginal) => {
  const fflate = await importOriginal<typeof import('fflate')>();
  return {
    ...fflate,
    deflateSync: (data: Uint8Array, options?: import('fflate').DeflateOptions) => {
      if (!compressor.damaged || data.length === 0) return fflate.deflateSync(data, options);
      const wrong = data.slice();
      wrong[wrong.length >> 1]! ^= 0x01;
      return fflate.deflateSync(wrong, options);
    },
  };
});

const faults = installFaults();
const ESTIMATE = { usage: 9_876_543, quota: 10_000_000 };
let writesRefused = 0;

beforeAll(() => {
  // Node has no navigator; the worker reads the figures from navigator.storage.estimate().
  Object.defineProperty(globalThis, 'navigator', { value: { storage: { estimate: async () => ESTIMATE } }, configurable: true });
});
afterAll(() => {
  Reflect.deleteProperty(globalThis, 'navigator');
  console.log(`quota: ${writesRefused} writes refused`);
});

let counter = 0;
const uniqueName = (label: string) => `quota-${label.replace(/\W+/g, '-')}-${++counter}`;

/** The backups part of a disk snapshot. */
const backupsOf = (snapshot: string) => snapshot.slice(snapshot.indexOf('backups'));

describe('QuotaExceededError on the k-th write, for every k', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: QUOTA_EXCEEDED with the figures, nothing half-stored, earlier backups intact, then it succeeds`, async () => {
      for (let k = 1; ; k++) {
        const name = uniqueName(scenario.name);
        const service = await openService(name);
        let context: Record<string, string>;
        try {
          context = await scenario.setup(service);
        } catch (error) {
          if (String(error).includes('not served yet')) return;
          throw error;
        }
        const before = await diskSnapshot(name);
        faults.arm({ at: k, effect: 'fail', kinds: ['put', 'commit'], error: 'QuotaExceededError' });
        const ended = await settle(scenario.run(service, context));
        faults.disarm();
        await jobsIdle(service);
        const where = `${scenario.name}, write ${k} refused`;
        if (!faults.fired) {
          expect(ended.ok, where).toBe(true);
          expect(k, 'at least one write').toBeGreaterThan(1);
          break;
        }
        writesRefused++;
        const now = await diskSnapshot(name);
        if (!ended.ok) {
          expect(ended.code, `${where}: ${ended.message}`).toBe('QUOTA_EXCEEDED');
          expect(ended.details, where).toMatchObject({ usageBytes: ESTIMATE.usage, quotaBytes: ESTIMATE.quota });
        }
        // A refused operation leaves every backup listed before, byte for byte (diskSnapshot re-hashes them).
        if (!ended.ok) for (const line of backupsOf(before).slice(9, -1).split(' ').filter(Boolean)) expect(backupsOf(now), where).toContain(line);
        const disk = await readDisk(name);
        expect(orphanChunks(disk), `${where}: orphans`).toEqual([]);
        expect(disk.staging, `${where}: staging left`).toEqual([]);
        // With space again, the operation succeeds (it may already have: the refused write was its last record).
        if (!ended.ok) expect(await settle((scenario.retry ?? scenario.run)(service, context)), `${where}: retry`).toEqual({ ok: true });
        faults.kill();
      }
    });
  }
});

describe('damaged compressor output', () => {
  it('a backup whose compressed chunks decode to other bytes is CORRUPT and never listed; earlier backups stay intact', async () => {
    const name = uniqueName('damaged-backup');
    const service = await openService(name);
    await addRows(service, 300, 1);
    const { backupId: first } = await call(service.backupCreate({}));
    await call(service.backupWait(first));
    await call(service.exec('DELETE FROM item WHERE id % 2 = 0'));
    const before = await diskSnapshot(name);
    compressor.damaged = true;
    const { backupId } = await call(service.backupCreate({ method: 'vacuum' }));
    const waited = await settle(call(service.backupWait(backupId)));
    compressor.damaged = false;
    expect(waited.ok ? 'OK' : waited.code).toBe('CORRUPT');
    expect((await call(service.backupList())).map((b) => b.backupId)).toEqual([first]);
    expect(await diskSnapshot(name)).toBe(before);
    expect(orphanChunks(await readDisk(name), { staging: false })).toEqual([]);
    faults.kill();
  });

  it('an upload whose compressed chunks decode to other bytes is CORRUPT and never listed', async () => {
    const name = uniqueName('damaged-upload');
    const service = await openService(name);
    await addRows(service, 200, 1);
    await call(service.flush());
    const SQL = (await import('sql.js')).default;
    const db = new (await SQL()).Database();
    db.run("CREATE TABLE t (x); INSERT INTO t SELECT hex(randomblob(100)) FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 500) SELECT n FROM c)");
    const file = new Blob([db.export() as BlobPart]);
    db.close();
    compressor.damaged = true;
    const uploaded = await settle(call(service.backupUpload(file, {})));
    compressor.damaged = false;
    expect(uploaded.ok ? 'OK' : uploaded.code).toBe('CORRUPT');
    expect(await call(service.backupList())).toEqual([]);
    expect(orphanChunks(await readDisk(name), { staging: false })).toEqual([]);
    faults.kill();
  });

  it('a save whose compressed chunks decode to other bytes is CORRUPT and leaves the saved database as it was', async () => {
    const name = uniqueName('damaged-save');
    const service = await openService(name);
    await addRows(service, 200, 1);
    await call(service.flush());
    const before = await diskSnapshot(name);
    await addRows(service, 200, 2);
    compressor.damaged = true;
    const saved = await settle(call(service.flush()));
    compressor.damaged = false;
    expect(saved.ok ? 'OK' : saved.code).toBe('CORRUPT');
    expect(await diskSnapshot(name)).toBe(before);
    // The next save, with a sound compressor, stores the changes.
    await call(service.flush());
    faults.kill();
    const again = await openService(name);
    expect(await call(again.query('SELECT count(*) AS n FROM item'))).toEqual([{ n: 400 }]);
    faults.kill();
  });
});
