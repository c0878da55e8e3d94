/**
 * Review checks that held: the owner closing between receiving a follower's call and replying, at
 * several moments; two followers racing for the lock; exclusive against a shared owner.
 */
import { describe, expect, it } from 'vitest';
import { call } from '../support/vault-harness';
import { openTab, tab, within, outcome } from '../support/fake-locks';


describe('held', () => {
  it('runs a write exactly once, or says INTERRUPTED, when the owner closes while it is in flight (several timings)', async () => {
    for (const delayMs of [0, 1, 2, 5, 10]) {
      for (const durability of ['memory', 'commit'] as const) {
        const name = `atk-held-${crypto.randomUUID()}`;
        const a = await openTab(name);
        const b = await openTab(name, { durability });
        const c = await openTab(name);
        await call(a.api.exec('CREATE TABLE t (x)'));
        const writes = [b.api.exec('INSERT INTO t VALUES (1)'), c.api.exec('INSERT INTO t VALUES (2)')];
        await new Promise((r) => setTimeout(r, delayMs));
        const closed = a.api.close();
        const codes = (await Promise.all(writes.map((w) => within(w, 10_000)))).map(outcome);
        expect(outcome(await closed)).toBe('OK');
        let rows: { x: number }[] | undefined;
        for (let i = 0; i < 20 && !rows; i++) {
          const r = await b.api.query('SELECT x FROM t ORDER BY x');
          if (r.ok) rows = r.value as { x: number }[];
        }
        const xs = rows?.map((r) => r.x) ?? [];
        // each write: OK and present once, or INTERRUPTED and present at most once
        codes.forEach((code, i) => {
          expect(['OK', 'INTERRUPTED']).toContain(code);
          const n = xs.filter((x) => x === i + 1).length;
          expect(n).toBeLessThanOrEqual(1);
          if (code === 'OK') expect(n).toBe(1);
        });
        await call(c.api.close());
        await call(b.api.close());
      }
    }
  });

  it('keeps exclusive: an exclusive opener is LOCKED while a shared owner serves; a shared opener of an exclusive vault too', async () => {
    const name = `atk-exclusive-${crypto.randomUUID()}`;
    const a = await openTab(name);
    const x = tab(name);
    expect(outcome(await x.api.open({ name, exclusive: true, lockTimeoutMs: 200 }))).toBe('LOCKED');
    await call(a.api.close());
    const y = await openTab(name, { exclusive: true });
    const z = tab(name);
    expect(outcome(await z.api.open({ name, lockTimeoutMs: 200 }))).toBe('LOCKED');
    await call(y.api.close());
  });
});
