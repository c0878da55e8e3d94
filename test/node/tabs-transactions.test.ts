/**
 * Transactions belong to the tab that began them (README "Several tabs"): one SQLite connection
 * serves every tab, so without that a tab's BEGIN swallowed the other tabs' writes (its ROLLBACK,
 * close or crash removed them) and their durable saves met its open transaction (BUSY taken as
 * "at its COMMIT"). Found by a review of the tab layer; several tabs in one process share fake Web
 * Locks (test/support/fake-locks.ts).
 */
import { describe, expect, it } from 'vitest';
import { call, diskSnapshot } from '../support/vault-harness';
import { openTab, within, outcome } from '../support/fake-locks';


describe('transactions across tabs', () => {
  it('sanity: the second tab is a follower that forwards to the first', async () => {
    const name = `atk-sanity-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name);
    await call(b.api.exec('CREATE TABLE t (x)'));
    await call(b.api.exec('INSERT INTO t VALUES (1)'));
    expect(await call(a.api.query('SELECT x FROM t'))).toEqual([{ x: 1 }]);
    await call(b.api.close());
    await call(a.api.close());
  });

  it("runs another tab's durable write after tab A's transaction ended, so A's ROLLBACK cannot take it along", async () => {
    const name = `atk-tx-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name, { durability: 'commit' });
    await call(a.api.exec('CREATE TABLE t (x)'));
    await call(a.api.exec('BEGIN'));
    await call(a.api.exec('INSERT INTO t VALUES (1)'));
    // Tab B's durable write waits while A's transaction is open...
    const write = b.api.exec('INSERT INTO t VALUES (42)');
    expect(await within(write, 200)).toBe('HANG');
    // ...A's own statements still run, and A gives up its own work.
    expect(await call(a.api.query('SELECT x FROM t'))).toEqual([{ x: 1 }]);
    await call(a.api.exec('ROLLBACK'));
    expect(outcome(await write)).toBe('OK');
    expect(await call(b.api.query('SELECT x FROM t'))).toEqual([{ x: 42 }]);
    expect((await call(b.api.info())).dirty).toBe(false); // acknowledged once saved
    await call(b.api.close());
    await call(a.api.close());
  });

  it('answers BUSY (without running it) a write of another tab that waited too long for a transaction to end', async () => {
    const name = `atk-tx-busy-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name);
    await call(a.api.exec('CREATE TABLE t (x)'));
    await call(a.api.exec('BEGIN'));
    expect(outcome(await b.api.exec('INSERT INTO t VALUES (42)'))).toBe('BUSY');
    await call(a.api.exec('COMMIT'));
    expect(await call(b.api.query('SELECT x FROM t'))).toEqual([]);
    await call(b.api.close());
    await call(a.api.close());
  }, 15_000);

  it("never acknowledges a durable write that waited for a transaction of the owner tab when the owner crashes", async () => {
    const name = `atk-tx-crash-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name, { durability: 'commit' });
    await call(a.api.exec('CREATE TABLE t (x)'));
    await call(a.api.flush());
    await call(a.api.exec('BEGIN'));
    const write = b.api.exec('INSERT INTO t VALUES (42)');
    await new Promise((r) => setTimeout(r, 100));
    a.kill(); // A's tab crashes mid-transaction: B takes over from the saved state
    const answered = outcome(await write);
    expect(['OK', 'INTERRUPTED']).toContain(answered);
    let rows: unknown;
    for (let i = 0; i < 20 && rows === undefined; i++) {
      const r = await b.api.query('SELECT x FROM t');
      if (r.ok) rows = r.value;
    }
    // It waited behind A's transaction, so it never ran at A: INTERRUPTED, and nothing there.
    expect({ answered, rows }).toEqual({ answered: 'INTERRUPTED', rows: [] });
    await call(b.api.close());
  });

  it("keeps a durable write whose save waited behind an autosave while another tab began a transaction", async () => {
    const name = `atk-tx-race-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name, { durability: 'commit' });
    await call(a.api.exec('CREATE TABLE t (x); CREATE TABLE other (y)'));
    await call(a.api.flush());
    // Tab A's page starts a transaction of its own the moment it hears of B's write (any moment would do
    // while B's save waits for the save in progress).
    let begun = false;
    await call(
      a.api.onChange((event) => {
        if (!begun && event.kind === 'data' && event.tables.includes('t')) {
          begun = true;
          void a.api.exec('BEGIN');
        }
      }),
    );
    await call(a.api.exec('INSERT INTO other VALUES (1)'));
    const saving = a.api.flush(); // a save in progress holds the save mutex (as an autosave would)
    const acked = await b.api.exec('INSERT INTO t VALUES (42)');
    expect(acked.ok).toBe(true); // acknowledged as saved
    await saving;
    a.kill(); // A crashes with its transaction open
    let rows: unknown;
    for (let i = 0; i < 20 && rows === undefined; i++) {
      const r = await b.api.query('SELECT x FROM t');
      if (r.ok) rows = r.value;
    }
    // Before the fix: [] (B's flush met A's open transaction, BUSY was taken as success). Expected: [{ x: 42 }].
    expect(rows).toEqual([{ x: 42 }]);
    await call(b.api.close());
  });

  it('saves the writes every tab makes after a follower tab died inside its own transaction', async () => {
    const name = `atk-tx-dead-${crypto.randomUUID()}`;
    const a = await openTab(name, { durability: 'commit' });
    const b = await openTab(name);
    await call(a.api.exec('CREATE TABLE item (seed, x)'));
    await call(b.api.exec('BEGIN'));
    await call(b.api.exec('INSERT INTO item VALUES (1, 1)'));
    b.killFollower(); // tab B is closed by its user between BEGIN and COMMIT
    // The owner tab goes on; its durable writes are acknowledged as saved.
    for (let i = 0; i < 3; i++) await call(a.api.exec('INSERT INTO item VALUES (2, ?)', [i]));
    expect(await call(a.api.query('SELECT count(*) AS n FROM item WHERE seed = 2'))).toEqual([{ n: 3 }]);
    await call(a.api.close()); // closes "successfully"
    // Before the fix: 'live ' (nothing saved: the close rolled back B's never-ended transaction, and with it
    // every write acknowledged since). Expected: the three acknowledged rows of seed 2 ('2:3').
    expect(await diskSnapshot(name)).toContain('2:3');
  });

  it('rolls back the transaction a tab left open when it closes its vault; the other tabs go on at once', async () => {
    const name = `atk-tx-close-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const b = await openTab(name);
    await call(a.api.exec('CREATE TABLE t (x)'));
    await call(b.api.exec('BEGIN; INSERT INTO t VALUES (1)'));
    await call(b.api.close());
    expect(outcome(await within(a.api.exec('INSERT INTO t VALUES (2)'), 2_000))).toBe('OK');
    expect(await call(a.api.query('SELECT x FROM t'))).toEqual([{ x: 2 }]);
    await call(a.api.close());
  });
});
