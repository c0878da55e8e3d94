/**
 * Deterministic simulation of the worker (issue 12), shard 2 of 2 (vitest runs the shards on
 * both cores). See test/sim/. Replay one seed: SIM_SEED=<n> npx vitest run --project node test/node/simulation-b.test.ts
 */
import { describe, it } from 'vitest';
import { runShard } from '../sim/suite';

describe('deterministic simulation', () => {
  it('keeps every invariant over this shard of the seeds', () => runShard(1, 2), 3_600_000);
});
