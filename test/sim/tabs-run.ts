/**
 * Entry point of the simulation with several tabs: run one seed (two tabs, or three on one seed
 * in four).
 */
import { sqlJs } from '../support/vault-harness';
import { loadSqlite, sqlJsOf } from '../../worker/engine/sqlite';
import { loadFingerprint } from '../../worker/jobs/image';
import { TOMBSTONE_DB } from '../../src/vault-marker';
import { trackDatabases } from './databases';
import { TabsWorld } from './tabs-world';
import type { SimReport } from './world';

/** Runs one seed of the simulation with several tabs to its end or its first violated invariant. */
export async function runTabsSeed(seed: number, steps: number): Promise<SimReport> {
  const SQL = await sqlJs();
  const engine = await loadSqlite();
  trackDatabases(sqlJsOf(engine));
  await loadFingerprint();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(TOMBSTONE_DB);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
  return new TabsWorld(seed, SQL, engine, seed % 4 === 3 ? 3 : 2).run(steps);
}
