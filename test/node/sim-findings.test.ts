// What the deterministic simulation found once history and remotes joined it (test/sim/README.md),
// each reduced to a plain test: both fail on the code before their fix.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { call, settle } from '../support/vault-harness';
import { MadeUpClock, openAt, saveRow } from './history-support';

describe('found by the simulation', () => {
  it('keeps the history byte budget when a drop leaves chunks to history alone (seed 14)', async () => {
    const clock = new MadeUpClock(Date.UTC(2026, 0, 1));
    const maxBytes = 1_500;
    const vault = await openAt('sim-found-budget', clock, { keep: '24h', maxBytes });
    // Rows that do not compress: the head's chunk costs far more than the budget.
    await call(vault.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)'));
    await call(vault.exec('WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20) INSERT INTO t (n, body) SELECT n, hex(randomblob(300)) FROM s'));
    await call(vault.flush());
    const { backupId } = await call(vault.backupCreate({}));
    await call(vault.backupWait(backupId));
    // The next save turns that head into a point; its chunk is still the backup's, so history holds
    // only the point record and the budget keeps the point.
    await saveRow(vault, clock, 1_000);
    expect((await call(vault.historyList({}))).filter((p) => !p.current).length).toBeGreaterThan(0);
    expect((await call(vault.storage())).historyBytes).toBeLessThanOrEqual(maxBytes);
    // Dropping the backup leaves that chunk to history alone: the drop's commit applies the budget.
    await call(vault.backupDrop(backupId));
    expect((await call(vault.storage())).historyBytes).toBeLessThanOrEqual(maxBytes);
    await call(vault.close());
  });

  it('answers CLOSED to a remote.add that was still reading its remote when close() ran, and starts no replication (seed 2)', async () => {
    const vault = await openAt('sim-found-add-close', new MadeUpClock(Date.UTC(2026, 0, 1)));
    let answer: () => void = () => undefined;
    const reads: string[] = [];
    // A folder whose first read answers only when the test says so (a slow disk or network share).
    const handle = {
      kind: 'directory',
      name: 'slow',
      getFileHandle: (name: string) => {
        reads.push(name);
        return new Promise((_, reject) => {
          answer = () => reject(new DOMException(`${name} not found`, 'NotFoundError'));
        });
      },
      getDirectoryHandle: () => Promise.reject(new DOMException('not found', 'NotFoundError')),
    } as unknown as FileSystemDirectoryHandle;
    const adding = vault.remoteAdd('slow', { kind: 'directory', handle, continuousMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await call(vault.close());
    answer();
    expect(await settle(call(adding))).toMatchObject({ ok: false, code: 'CLOSED' });
    // Nothing runs for the closed vault: continuous replication would read the folder again.
    const seen = reads.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(reads.length).toBe(seen);
  });
});
