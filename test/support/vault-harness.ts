/**
 * Driving the real worker service in Node (fake-indexeddb + sql.js's Node build), and reading
 * what IndexedDB holds behind its back, to check the promises of README.md "Reliability".
 */
import { openDB } from 'idb';
import initSqlJs, { type SqlJsStatic } from 'sql.js';
import { errorFromWire, isPagevaultError } from '../../src/errors';
import type { Result, Row } from '../../src/protocol';
import { readImage } from '../../worker/jobs/chunk-io';
import { createService, type Service } from '../../worker/service';
import { VaultStore } from '../../worker/store/vault-store';
import { DB_PREFIX, LIVE_HEAD, type BackupRecord, type HeadRecord, type PointRecord, type StagingRecord, type StoredJob } from '../../worker/store/schema';

let sqlPromise: Promise<SqlJsStatic> | undefined;
export const sqlJs = (): Promise<SqlJsStatic> => (sqlPromise ??= initSqlJs());

/** Unwraps a worker Result, throwing its PagevaultError. */
export async function call<T>(pending: Promise<Result<T>>): Promise<T> {
  const result = await pending;
  if (!result.ok) throw errorFromWire(result.error);
  return result.value;
}

export type Settled =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly details: Readonly<Record<string, unknown>> };

/** Resolves with how `pending` ended; a rejection that is not a PagevaultError has code `RAW`. */
export async function settle(pending: Promise<unknown>): Promise<Settled> {
  try {
    await pending;
    return { ok: true };
  } catch (error) {
    if (isPagevaultError(error)) return { ok: false, code: error.code, message: error.message, details: error.details };
    return { ok: false, code: 'RAW', message: String(error), details: {} };
  }
}

/** A service with a vault open on `name`; autosave is off (saves happen on flush) so operation counts are stable. */
export async function openService(name: string): Promise<Service> {
  const service = createService();
  await call(service.open({ name, autosaveMs: 3_600_000 }));
  return service;
}

export async function rows(service: Service, sql: string): Promise<Row[]> {
  return call(service.query(sql));
}

/** Resolves once no job of the service is queued or running. */
export async function jobsIdle(service: Service): Promise<void> {
  for (;;) {
    const jobs = await call(service.backupHistory());
    if (!jobs.some((j) => j.state === 'queued' || j.state === 'running')) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Adds `count` rows of ~300 bytes of incompressible text to table `item` (created if needed). */
export async function addRows(service: Service, count: number, seed: number): Promise<void> {
  await call(service.exec('CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, body TEXT NOT NULL, seed INTEGER NOT NULL)'));
  await call(
    service.exec(
      `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
       INSERT INTO item (body, seed) SELECT hex(randomblob(150)), ? FROM c`,
      [count, seed],
    ),
  );
}

/** What a database image holds, in a form two states can be compared by: row count per seed. */
export function summarize(image: Uint8Array, SQL: SqlJsStatic): string {
  if (image.byteLength === 0) return 'empty';
  const db = new SQL.Database(image);
  try {
    const result = db.exec("SELECT name FROM sqlite_schema WHERE name = 'item'");
    if (result.length === 0) return 'no item table';
    const counts = db.exec('SELECT seed, count(*) FROM item GROUP BY seed ORDER BY seed')[0]?.values ?? [];
    const integrity = String(db.exec('PRAGMA integrity_check')[0]?.values[0]?.[0]);
    return `${counts.map(([seed, n]) => `${String(seed)}:${String(n)}`).join(',')}${integrity === 'ok' ? '' : ` (${integrity})`}`;
  } finally {
    db.close();
  }
}

/** The same summary, of the live database of an open service. */
export async function liveSummary(service: Service): Promise<string> {
  const tables = await rows(service, "SELECT name FROM sqlite_schema WHERE name = 'item'");
  if (tables.length === 0) return 'no item table';
  const counts = await rows(service, 'SELECT seed, count(*) AS n FROM item GROUP BY seed ORDER BY seed');
  return counts.map((r) => `${String(r['seed'])}:${String(r['n'])}`).join(',');
}

/** Everything IndexedDB holds for a vault, read directly. */
export interface DiskState {
  readonly chunkKeys: string[];
  readonly heads: Map<string, HeadRecord>;
  /** History points (time travel), by `at`. */
  readonly points: Map<number, PointRecord>;
  readonly backups: Map<string, BackupRecord>;
  readonly staging: StagingRecord[];
  readonly jobs: StoredJob[];
}

export async function readDisk(name: string): Promise<DiskState> {
  const db = await openDB(DB_PREFIX + name);
  try {
    const tx = db.transaction(['chunks', 'heads', 'points', 'backups', 'staging', 'jobs'], 'readonly');
    // Its reads resolve before it finishes: a simulated kill may abort it then, which is no finding.
    tx.done.catch(() => undefined);
    const [chunkKeys, headKeys, headValues, pointValues, backupValues, staging, jobs] = await Promise.all([
      tx.objectStore('chunks').getAllKeys(),
      tx.objectStore('heads').getAllKeys(),
      tx.objectStore('heads').getAll(),
      tx.objectStore('points').getAll(),
      tx.objectStore('backups').getAll(),
      tx.objectStore('staging').getAll(),
      tx.objectStore('jobs').getAll(),
    ]);
    return {
      chunkKeys: chunkKeys.map(String),
      heads: new Map(headKeys.map((key, i) => [String(key), headValues[i] as HeadRecord])),
      points: new Map((pointValues as PointRecord[]).map((p) => [p.at, p])),
      backups: new Map((backupValues as BackupRecord[]).map((b) => [b.info.backupId, b])),
      staging: staging as StagingRecord[],
      jobs: jobs as StoredJob[],
    };
  } finally {
    db.close();
  }
}

/** Chunks no head, history point, backup or staging record references (with `staging: false`, staging does not count). */
export function orphanChunks(disk: DiskState, options: { staging: boolean } = { staging: true }): string[] {
  const referenced = new Set<string>();
  for (const head of disk.heads.values()) for (const key of head.manifest.chunks) referenced.add(key);
  for (const point of disk.points.values()) for (const key of point.manifest.chunks) referenced.add(key);
  for (const backup of disk.backups.values()) for (const key of backup.manifest.chunks) referenced.add(key);
  if (options.staging) for (const record of disk.staging) for (const key of record.keys) referenced.add(key);
  return disk.chunkKeys.filter((key) => !referenced.has(key));
}

/**
 * Reads every manifest on disk back through the store's checked path (every chunk re-hashed,
 * backups against their image SHA-256) and describes the vault as one comparable string:
 * the live database's summary and each backup's method and summary, sorted.
 * A half-written manifest cannot hide here: it reads back as CORRUPT and the test fails.
 */
export async function diskSnapshot(name: string): Promise<string> {
  const SQL = await sqlJs();
  const store = await VaultStore.open(name);
  try {
    const head = store.head(LIVE_HEAD);
    const live = head ? summarize(await readImage(store, head.manifest), SQL) : 'no head';
    const backups: string[] = [];
    for (const b of store.listBackups()) {
      backups.push(`${b.info.auto ?? b.info.method}:${summarize(await readImage(store, b.manifest, { checkImageHash: true }), SQL)}`);
    }
    return `live ${live}; backups [${backups.sort().join(' ')}]`;
  } finally {
    store.close();
  }
}

/**
 * Services a test file opens, each under a fresh name, all closed (forcefully) after each test:
 * `start` opens a new vault, `reopen` opens one again as the next page load would.
 */
export function servicesOf(prefix: string, afterEachTest: (cleanUp: () => Promise<void>) => void): {
  start(label: string): Promise<{ name: string; service: Service }>;
  reopen(name: string): Promise<Service>;
} {
  let counter = 0;
  const open: Service[] = [];
  afterEachTest(async () => {
    for (const service of open.splice(0)) await service.close({ force: true }).catch(() => undefined);
  });
  const reopen = async (name: string) => {
    const service = await openService(name);
    open.push(service);
    return service;
  };
  return {
    start: async (label) => {
      const name = `${prefix}-${label}-${++counter}`;
      return { name, service: await reopen(name) };
    },
    reopen,
  };
}
