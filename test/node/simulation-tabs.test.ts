/**
 * Deterministic simulation with several tabs (issue 17): two or three tabs share one vault
 * through worker/tabs/, with hand-overs at any step. See test/sim/README.md. Replay one seed:
 * SIM_SEED=<n> npx vitest run --project node test/node/simulation-tabs.test.ts
 */
import { describe, it } from 'vitest';
import { runShard } from '../sim/suite';
import { runTabsSeed } from '../sim/tabs-run';

describe('deterministic simulation with several tabs', () => {
  it('keeps every invariant over its seeds', () => runShard(0, 1, { run: runTabsSeed, seedsVar: 'PAGEVAULT_SIM_TABS_SEEDS', defaultSeeds: 200, file: 'test/node/simulation-tabs.test.ts' }), 3_600_000);
});
