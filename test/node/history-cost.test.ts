/**
 * What time travel costs (README "Time travel"): bytes only history holds, for two workloads on a
 * 10 MB database over a made-up clock. A measurement, run on demand:
 *   PAGEVAULT_HISTORY_COST=1 npx vitest run --project node test/node/history-cost.test.ts
 * - `random`: one row (of ~35,000, 300 bytes of hex text each) rewritten at random every second,
 *   saved every second (autosave);
 * - `append`: one 300-byte row inserted every second, saved every second.
 * The last hour keeps every save; before it, the run saves once per 5 minutes after 300 writes
 * (thinning keeps one point per 5 minutes there anyway, so the chunks kept are the same).
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { call } from '../support/vault-harness';
import { HOUR, MINUTE, MadeUpClock, openAt } from './history-support';

const SECOND = 1_000;
const ROWS = 35_000;

type Workload = 'random' | 'append';

async function write(service: Service, workload: Workload, n: number): Promise<void> {
  if (workload === 'append') await call(service.exec('INSERT INTO item (body) VALUES (hex(randomblob(150)))'));
  else await call(service.exec('UPDATE item SET body = hex(randomblob(150)) WHERE id = ?', [1 + ((n * 7919) % ROWS)]));
}

async function measure(workload: Workload, denseSeconds: number, thinnedHours: number): Promise<{ dense: number; total: number; points: number; live: number }> {
  const clock = new MadeUpClock(Date.UTC(2026, 10, 1));
  const service = await openAt(`history-cost-${workload}-${Math.random().toString(36).slice(2)}`, clock, { keep: '24h' });
  try {
    await call(service.exec('CREATE TABLE item (id INTEGER PRIMARY KEY, body TEXT NOT NULL)'));
    await call(service.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) INSERT INTO item (body) SELECT hex(randomblob(150)) FROM c`));
    await call(service.flush());
    let n = 0;
    for (let slot = 0; slot < thinnedHours * 12; slot++) {
      for (let i = 0; i < 300; i++) await write(service, workload, n++);
      clock.advance(5 * MINUTE);
      await call(service.flush());
    }
    clock.advance(HOUR); // the thinned part is now older than an hour
    await call(service.flush());
    const before = (await call(service.storage())).historyBytes;
    for (let s = 0; s < denseSeconds; s++) {
      await write(service, workload, n++);
      clock.advance(SECOND);
      await call(service.flush());
    }
    const report = await call(service.storage());
    return { dense: ((report.historyBytes - before) * 3600) / denseSeconds, total: report.historyBytes, points: (await call(service.historyList({}))).length, live: report.liveBytes };
  } finally {
    await service.close({ force: true });
  }
}

describe.skipIf(!process.env['PAGEVAULT_HISTORY_COST'])('history cost (measurement)', () => {
  for (const workload of ['random', 'append'] as const) {
    it(`${workload}: bytes only history holds`, { timeout: 1_800_000 }, async () => {
      const dense = Number(process.env['PAGEVAULT_HISTORY_DENSE_S'] ?? 600);
      const hours = Number(process.env['PAGEVAULT_HISTORY_HOURS'] ?? 5);
      const result = await measure(workload, dense, hours);
      console.log(
        `${workload}: live ${(result.live / 1e6).toFixed(1)} MB stored; dense tier ${(result.dense / 1e6).toFixed(1)} MB per hour (${dense} saves measured); ` +
          `${hours} h thinned + ${dense} s dense: ${(result.total / 1e6).toFixed(1)} MB in ${result.points} points`,
      );
      expect(result.total).toBeGreaterThan(0);
    });
  }
});
