/**
 * Time travel in a real browser: real IndexedDB, a real worker, the real clock. History survives a
 * reopen; a restore at an instant between two saves gives the earlier one's rows; the byte budget holds.
 */
import { describe, expect, it } from 'vitest';
import type { Vault } from '../../src/index';
import { open, rejectsWith, sleep, uniqueName } from './helpers';

async function numbers(vault: Vault): Promise<number[]> {
  return (await vault.query<{ n: number }>('SELECT n FROM t ORDER BY n')).map((row) => row.n);
}

async function saveRow(vault: Vault, n: number): Promise<number> {
  await vault.exec('INSERT INTO t (n) VALUES (?)', [n]);
  await vault.flush();
  return (await vault.info()).savedAt!;
}

describe('time travel (history points in IndexedDB)', () => {
  it('survives a reopen, and a restore at an instant between two saves gives the earlier one', async () => {
    const name = uniqueName('history');
    const vault = await open(name, { history: { keep: '1h' } });
    await vault.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    const first = await saveRow(vault, 1);
    await sleep(30);
    const between = Date.now();
    await sleep(30);
    const second = await saveRow(vault, 2);
    await saveRow(vault, 3);
    expect(first).toBeLessThan(between);
    expect(second).toBeGreaterThan(between);
    await vault.close();

    const again = await open(name);
    const list = await again.history.list();
    expect(list.map((p) => p.at)).toEqual(expect.arrayContaining([first, second]));
    expect(list.at(-1)!.current).toBe(true);
    const { previousBackupId } = await again.backup.restore({ at: new Date(between) });
    expect(await numbers(again)).toEqual([1]);
    expect(previousBackupId).toBeTruthy();
    // The restore is a point too: the moment just before it still has every row.
    const file = await again.download({ at: Date.now() - 1 });
    expect(file.filename).toMatch(/\.sqlite$/);
    await again.backup.restore({ at: second });
    expect(await numbers(again)).toEqual([1, 2]);
    await rejectsWith(again.backup.restore({ at: first - 60_000 }), 'NOT_FOUND');
    await rejectsWith(again.backup.restore({ at: 'noon' as never }), 'INVALID_ARGUMENT');
    await again.close();
  });

  it('keeps what only history holds within maxBytes, dropping the oldest points', async () => {
    const maxBytes = 300_000;
    const vault = await open(uniqueName('history-budget'), { history: { keep: '24h', maxBytes } });
    await vault.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB)');
    await vault.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60) INSERT INTO b SELECT x, randomblob(10000) FROM c');
    await vault.flush();
    for (let step = 0; step < 8; step++) {
      await vault.exec('UPDATE b SET data = randomblob(10000) WHERE id > ? AND id <= ?', [step * 7, step * 7 + 7]);
      await vault.flush();
      expect((await vault.storage()).historyBytes).toBeLessThanOrEqual(maxBytes);
    }
    const list = await vault.history.list();
    expect(list.length).toBeLessThan(10);
    expect((await vault.storage()).historyBytes).toBeGreaterThan(0);
    await vault.close();
  });
});
