/**
 * The simulation is deterministic: one seed run twice gives the same trace (every task, every
 * call and its outcome) and the same verdict. Without this, a printed seed would not replay.
 */
import { expect, it } from 'vitest';
import { runSeed } from '../sim/run';

it('replays a seed exactly', async () => {
  for (const seed of [7, 12345]) {
    const first = await runSeed(seed, 120);
    const second = await runSeed(seed, 120);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.tasks).toBe(first.tasks);
    expect(second.failure?.invariant).toBe(first.failure?.invariant);
    expect(second.failure?.step).toBe(first.failure?.step);
    expect(first.tasks).toBeGreaterThan(100);
  }
}, 120_000);
