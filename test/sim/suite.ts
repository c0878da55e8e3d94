/**
 * The body of each simulation test file: run this file's share of the seeds, then fail with the
 * first failures described (seed, invariant, step, trace tail) and a count per invariant.
 * `PAGEVAULT_SIM_CENSUS=1` goes on after each violation and prints, per invariant, the first seed
 * that violated it (how many seeds the simulator needs to find each defect).
 */
import { expect } from 'vitest';
import { describeFailure, runSeed, shardSeeds, SIM_STEPS } from './run';
import type { RunOptions, SimReport } from './world';

/** Which simulation a test file runs (the one of a single tab by default). */
export interface ShardOptions {
  readonly run?: (seed: number, steps: number, options: RunOptions) => Promise<SimReport>;
  /** The variable giving the seed count, and its default. */
  readonly seedsVar?: string;
  readonly defaultSeeds?: number;
  /** The test file, for the replay command. */
  readonly file?: string;
}

export async function runShard(shard: number, shards: number, options: ShardOptions = {}): Promise<void> {
  const census = process.env['PAGEVAULT_SIM_CENSUS'] === '1';
  const run = options.run ?? runSeed;
  const describe = (report: SimReport) => describeFailure(report, options.file);
  const seeds = shardSeeds(shard, shards, options.seedsVar, options.defaultSeeds);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const failed: SimReport[] = [];
  const byInvariant = new Map<string, { count: number; firstSeed: number }>();
  let steps = 0;
  for (const seed of seeds) {
    const report = await run(seed, SIM_STEPS, { census });
    steps += report.steps;
    if (!report.failure) continue;
    if (census && seeds.length === 1) for (const f of report.findings) console.log(describe({ ...report, failure: f }));
    failed.push(report);
    for (const f of census ? report.findings : [report.failure]) {
      const entry = byInvariant.get(f.invariant) ?? { count: 0, firstSeed: seed };
      entry.count++;
      byInvariant.set(f.invariant, entry);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = ((cpu.user + cpu.system) / 1e6).toFixed(1);
  const table = [...byInvariant].sort((a, b) => a[1].firstSeed - b[1].firstSeed).map(([inv, e]) => `  ${inv}: ${e.count} seed(s), first seed ${e.firstSeed}`);
  console.log(
    [`simulation shard ${shard + 1}/${shards}: ${seeds.length} seeds x ${SIM_STEPS} steps (${steps} steps run) in ${seconds} s (${cpuSeconds} s CPU); ${failed.length} seed(s) failed`, ...table].join('\n'),
  );
  expect(failed.slice(0, 3).map(describe).join('\n\n')).toBe('');
}
