import 'fake-indexeddb/auto';
/**
 * A warm `pages` backup is the saved head (worker/jobs/head-backup.ts): no page copy, no chunk
 * written, the head's manifest recorded with its own metadata, consistent with the bytes it names
 * even when a save or a drop lands while it is taken.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { LIVE_HEAD } from '../../worker/store/schema';
import { addRows, call, diskSnapshot, liveSummary, readDisk, servicesOf, settle } from '../support/vault-harness';

const { start } = servicesOf('head-backup', afterEach);

async function backup(service: Service) {
  const { backupId } = await call(service.backupCreate({ method: 'pages' }));
  return call(service.backupWait(backupId));
}

/** Resolves after `turns` trips through the event loop (lets a queued job reach a given step). */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

describe('a pages backup of a saved database is its head', () => {
  it('records the head manifest, writes no chunk, and verifies, restores and downloads', async () => {
    const { name, service } = await start('saved');
    await addRows(service, 400, 1);
    await call(service.flush());
    const chunksBefore = (await readDisk(name)).chunkKeys.length;
    const info = await backup(service);
    const disk = await readDisk(name);
    const head = disk.heads.get(LIVE_HEAD)!;
    expect({
      source: info.source,
      storedBytes: info.storedBytes,
      chunks: disk.chunkKeys.length,
      sameManifest: disk.backups.get(info.backupId)!.manifest.chunks.join() === head.manifest.chunks.join(),
      tables: info.tables,
    }).toEqual({ source: 'head', storedBytes: 0, chunks: chunksBefore, sameManifest: true, tables: [{ name: 'item', rows: 400 }] });
    const verified = await call(service.backupVerify(info.backupId));
    expect({ ok: verified.ok, sha256Match: verified.sha256Match }).toEqual({ ok: true, sha256Match: true });
    await addRows(service, 10, 2);
    await call(service.backupRestore({ backupId: info.backupId }));
    expect(await liveSummary(service)).toBe('1:400');
  });

  it('with unsaved changes it takes the page copy, which holds them (a failed backup must not leave a save behind)', async () => {
    const { name, service } = await start('dirty');
    await addRows(service, 100, 1);
    await call(service.flush());
    await addRows(service, 50, 2); // not saved
    const info = await backup(service);
    expect({ source: info.source, tables: info.tables }).toEqual({ source: 'page-copy', tables: [{ name: 'item', rows: 150 }] });
    expect(await diskSnapshot(name)).toBe('live 1:100; backups [pages:1:100,2:50]');
  });

  it('takes the stepped page copy while a transaction is open, and the backup holds only what was committed', async () => {
    const { name, service } = await start('in-transaction');
    await addRows(service, 100, 1);
    await call(service.flush());
    await call(service.exec('BEGIN'));
    await addRows(service, 7, 3);
    const { backupId } = await call(service.backupCreate({ method: 'pages' }));
    await turns(5);
    await call(service.exec('ROLLBACK'));
    const info = await call(service.backupWait(backupId));
    expect(info.source).toBe('page-copy');
    expect(await diskSnapshot(name)).toBe('live 1:100; backups [pages:1:100]');
  });

  it('a vacuum backup is not the head', async () => {
    const { service } = await start('vacuum');
    await addRows(service, 20, 1);
    await call(service.flush());
    const { backupId } = await call(service.backupCreate({ method: 'vacuum' }));
    expect((await call(service.backupWait(backupId))).source).toBe('vacuum');
  });
});

describe('races', () => {
  // A write and a save land at each point of the backup job in turn: before it starts, while it
  // waits for the head's hash, between the hold and the commit. Whatever wins, the backup must be
  // one consistent state: its tables, its image hash and its chunks agree.
  for (const delay of [0, 1, 2, 3, 4, 6, 8, 12]) {
    it(`a save ${delay} turns after the backup was asked for`, async () => {
      const { name, service } = await start(`save-${delay}`);
      await addRows(service, 200, 1);
      await call(service.flush());
      const { backupId } = await call(service.backupCreate({ method: 'pages' }));
      await turns(delay);
      await addRows(service, 30, 2);
      await call(service.flush());
      const info = await call(service.backupWait(backupId));
      const verified = await call(service.backupVerify(backupId));
      const rowsInBackup = info.tables.find((t) => t.name === 'item')?.rows;
      const snapshot = await diskSnapshot(name);
      expect({ verified: verified.ok, sha256Match: verified.sha256Match, tablesMatchImage: snapshot.includes(rowsInBackup === 200 ? 'pages:1:200]' : 'pages:1:200,2:30]') }).toEqual({
        verified: true,
        sha256Match: true,
        tablesMatchImage: true,
      });
      expect([200, 230]).toContain(rowsInBackup);
    });
  }

  // The earlier backup and the saved head share chunks; a save then replaces the head, so the
  // drop frees every chunk the backup being taken names unless that backup holds them. Both land
  // while the new backup verifies itself (after it took the head, before its commit).
  it('a save and a drop of an earlier backup sharing its chunks, between taking the head and the commit', async () => {
    const { name, service } = await start('drop');
    await addRows(service, 200, 1);
    await call(service.flush());
    const first = await backup(service);
    let racing: Promise<unknown> | undefined;
    const { backupId } = await call(
      service.backupCreate({ method: 'pages', verify: true }, () => {
        if (racing !== undefined) return; // the first report comes once the head is taken
        racing = (async () => {
          await call(service.exec('DELETE FROM item'));
          await addRows(service, 30, 2);
          await call(service.flush());
          return settle(call(service.backupDrop(first.backupId)));
        })();
      }),
    );
    const info = await call(service.backupWait(backupId));
    const dropped = await racing;
    const verified = await call(service.backupVerify(backupId));
    expect({ dropped, source: info.source, tables: info.tables, verified: verified.ok }).toEqual({ dropped: { ok: true }, source: 'head', tables: [{ name: 'item', rows: 200 }], verified: true });
    expect(await diskSnapshot(name)).toBe('live 2:30; backups [pages:1:200]');
  });
});
