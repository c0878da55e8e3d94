/**
 * Entry points of the simulation: run one seed, pick the seeds of a test file, describe a failure
 * so it can be replayed (`SIM_SEED=<n>`).
 */
import { sqlJs } from '../support/vault-harness';
import { loadSqlite, sqlJsOf } from '../../worker/engine/sqlite';
import { loadFingerprint } from '../../worker/jobs/image';
import { TOMBSTONE_DB } from '../../src/vault-marker';
import { trackDatabases } from './databases';
import { World, type RunOptions, type SimReport } from './world';

/** Steps per seed (`PAGEVAULT_SIM_STEPS`, default 200). */
export const SIM_STEPS = Number(process.env['PAGEVAULT_SIM_STEPS'] ?? 200);

/** Runs one seed to its end or its first violated invariant. */
export async function runSeed(seed: number, steps = SIM_STEPS, options: RunOptions = {}): Promise<SimReport> {
  const SQL = await sqlJs();
  const engine = await loadSqlite();
  trackDatabases(sqlJsOf(engine)); // the wasm loads once, on Node's own loop, before any simulated task
  await loadFingerprint(); // so does the fingerprint's (hash-wasm): its compile resolves outside the scheduler
  // The one IndexedDB database all vaults of an origin share (deleteVault's tombstones): each run
  // starts without it, as a fresh origin would, or a run would depend on the runs before it.
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(TOMBSTONE_DB);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
  return new World(seed, SQL, engine, options).run(steps);
}

/**
 * The seeds of shard `shard` of `shards`: `SIM_SEED` alone when set (replay), else every seed
 * below `PAGEVAULT_SIM_SEEDS` (default 1000) whose remainder is `shard`, from `PAGEVAULT_SIM_FIRST` (default 1).
 */
export function shardSeeds(shard: number, shards: number, seedsVar = 'PAGEVAULT_SIM_SEEDS', defaultSeeds = 1000): number[] {
  const one = process.env['SIM_SEED'];
  if (one !== undefined) return shard === 0 ? [Number(one)] : [];
  const count = Number(process.env[seedsVar] ?? defaultSeeds);
  const first = Number(process.env['PAGEVAULT_SIM_FIRST'] ?? 1);
  const seeds: number[] = [];
  for (let s = first; s < first + count; s++) if (s % shards === shard) seeds.push(s);
  return seeds;
}

/** A failure as a human replays it. */
export function describeFailure(report: SimReport, file = 'test/node/simulation-a.test.ts'): string {
  const f = report.failure;
  if (!f) return `seed ${report.seed}: ok`;
  return [
    `seed ${report.seed} violated ${f.invariant} at step ${f.step}: ${f.detail}`,
    `replay: SIM_SEED=${report.seed} npx vitest run --project node ${file}`,
    'trace tail:',
    ...f.tail.map((line) => `  ${line}`),
  ].join('\n');
}
