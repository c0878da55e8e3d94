/**
 * Deterministic simulation with several tabs (issue 17): two or three tabs share one vault
 * through worker/tabs/, with hand-overs at any step. See test/sim/README.md. Replay one seed:
 * SIM_SEED=<n> npx vitest run --project node test/node/simulation-tabs.test.ts
 */
import { describe, expect, it } from 'vitest';
import { runShard } from '../sim/suite';
import { runTabsSeed } from '../sim/tabs-run';

describe('deterministic simulation with several tabs', () => {
  it('keeps every invariant over its seeds', () => runShard(0, 1, { run: runTabsSeed, seedsVar: 'PAGEVAULT_SIM_TABS_SEEDS', defaultSeeds: 200, file: 'test/node/simulation-tabs.test.ts' }), 3_600_000);

  it('replays a seed exactly (two tabs, and three)', async () => {
    for (const seed of [6, 7]) {
      const first = await runTabsSeed(seed, 120);
      const second = await runTabsSeed(seed, 120);
      expect(second.traceHash).toBe(first.traceHash);
      expect(second.tasks).toBe(first.tasks);
      expect(second.failure?.invariant).toBe(first.failure?.invariant);
      expect(first.tasks).toBeGreaterThan(100);
    }
  }, 120_000);
});
