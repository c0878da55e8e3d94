/**
 * The invariants of issue 12, checked against the model at quiescent points (no call in flight,
 * no job running): the live rows, what IndexedDB holds (no manifest without its chunks, no chunk
 * without an owner), and every listed backup (re-read through the store's checked path, a
 * consistent snapshot, never one that cancel() called cancelled).
 */
import type { SqlJsStatic } from 'sql.js';
import type { Row } from '../../src/protocol';
import { readImage } from '../../worker/jobs/chunk-io';
import { VaultStore } from '../../worker/store/vault-store';
import { LIVE_HEAD, type Manifest } from '../../worker/store/schema';
import { orphanChunks, readDisk } from '../support/vault-harness';
import type { SimWorker } from './adapter';
import { ROWS_SQL, SCHEMA_SQL, describeImage, isRow, ofItem, rowId, stateOf, type DbState, type Model } from './model';
import type { SimScheduler } from './scheduler';

/** What the checks need of a run. */
export interface Checker {
  readonly sched: SimScheduler;
  readonly model: Model;
  readonly name: string;
  readonly SQL: SqlJsStatic;
  readonly worker: SimWorker;
  /** Records a violation; throws (ends the run) unless the run goes on after it. */
  fail(invariant: string, detail: string): void;
  fatal(invariant: string, detail: string): never;
  readonly files: readonly { backupId: string; format: string; bytes: Uint8Array }[];
  settle<T>(pending: Promise<T>, what: string): Promise<T>;
  log(line: string): void;
}

const DRIVER_EPOCH = 0;

/** The live database's state, read through the public API. */
export async function readLive(c: Checker): Promise<DbState> {
  const q = async (sql: string): Promise<Row[]> => {
    const o = await c.settle(c.worker.query(sql), sql);
    if (!o.ok) c.fatal('live-readable', `${sql} answered ${o.code}`);
    return o.value;
  };
  const schema = await q(SCHEMA_SQL);
  const items = schema.some((r) => r['t'] === 'item') ? await q(ROWS_SQL) : null;
  const uv = Number((await q('PRAGMA user_version'))[0]?.['user_version'] ?? 0);
  return stateOf(schema, items, uv);
}

/**
 * `live` holds every fact of `expected` (classified by `classify` when one is missing), no row
 * that was never issued, and `expected`'s user_version unless unknown (-1) or lower.
 */
export function checkLive(c: Checker, live: DbState, expected: DbState, classify: (fact: string) => string): void {
  const missing = [...expected.facts].filter((f) => !live.facts.has(f));
  if (missing.length > 0) c.fail(classify(missing[0]!), `missing ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ` (+${missing.length - 6})` : ''}`);
  const phantom = [...live.facts].filter((f) => isRow(f) && rowId(f) >= c.model.nextId);
  if (phantom.length > 0) c.fail('live:row-never-written', phantom.join(', '));
  if (expected.userVersion > 0 && live.userVersion < expected.userVersion) {
    c.fail(classify('uv'), `user_version ${live.userVersion}, expected at least ${expected.userVersion}`);
  }
}

/** What IndexedDB holds: every referenced chunk present, every chunk referenced. */
export async function checkDisk(c: Checker): Promise<void> {
  const disk = await c.settle(c.sched.enter(DRIVER_EPOCH, () => readDisk(c.name)), 'readDisk');
  const present = new Set(disk.chunkKeys);
  const owners: [string, readonly string[]][] = [
    ...[...disk.heads].map(([name, h]): [string, readonly string[]] => [`head ${name}`, h.manifest.chunks]),
    ...[...disk.backups].map(([id, b]): [string, readonly string[]] => [`backup ${id}`, b.manifest.chunks]),
    // History points (issue 18) are restorable states: their chunks must be there too.
    ...[...disk.points].map(([at, p]): [string, readonly string[]] => [`point ${at}`, p.manifest.chunks]),
  ];
  for (const [owner, keys] of owners) {
    const gone = keys.filter((k) => !present.has(k));
    if (gone.length > 0) c.fail('disk:manifest-references-missing-chunk', `${owner} lacks ${gone[0]!.slice(0, 12)}`);
  }
  const orphans = orphanChunks(disk);
  if (orphans.length > 0) c.fail('disk:chunk-without-owner', `${orphans.length} chunk(s), e.g. ${orphans[0]!.slice(0, 12)}`);
  for (const job of disk.jobs) {
    if (job.state === 'running' || job.state === 'queued') c.fail('jobs:left-running-when-idle', `${job.kind} ${job.jobId}`);
  }
}

/** Every listed backup reads back intact and holds a consistent snapshot; no cancelled one is listed. */
export async function checkBackups(c: Checker, full: boolean): Promise<void> {
  const m = c.model;
  const store = await c.settle(c.sched.enter(DRIVER_EPOCH, () => VaultStore.open(c.name)), 'open store');
  try {
    const head = store.head(LIVE_HEAD);
    if (head) {
      const failed = await c.settle(c.sched.enter(DRIVER_EPOCH, () => readImage(store, head.manifest)), 'read head').then(
        () => undefined,
        (error: unknown) => String(error),
      );
      // This second connection read the head when it opened; the live worker (its autosave) may
      // have saved a new head and collected the old one's chunks since: only a head that is
      // still current and unreadable is a finding.
      if (failed && (await stillOnDisk(c, (now) => now.head(LIVE_HEAD)?.manifest, head.manifest))) c.fail('disk:live-head-unreadable', failed);
    }
    for (const record of store.listBackups()) {
      const id = record.info.backupId;
      const known = m.backups.get(id);
      if (known?.cancelled) c.fail('cancel-answered-cancelled-but-listed', id);
      // Chunks are content-addressed and never rewritten, and checkDisk sees a deleted one: a
      // backup read back intact once stays intact, so each is re-read only on a full check.
      if (known?.content && !full) continue;
      const image = await c
        .settle(c.sched.enter(DRIVER_EPOCH, () => readImage(store, record.manifest, { checkImageHash: true })), `read ${id}`)
        .catch(async (error: unknown) => {
          // Dropped (or removed by retention) since this connection opened: not a finding.
          if (await stillOnDisk(c, (now) => now.backup(id)?.manifest, record.manifest)) c.fail(`backup-verifies${record.info.auto ? ':auto' : ''}`, `${id}: ${String(error)}`);
          return undefined;
        });
      if (!image) continue;
      const content = describeImage(c.SQL, image);
      let b = m.backups.get(id);
      if (!b) {
        // Made by the worker itself (before-restore): only its integrity is checked.
        b = { id, kind: 'auto', requiredFacts: undefined, issuedBound: undefined, tables: undefined, content: undefined, cancelled: false };
        m.backups.set(id, b);
      }
      b.content ??= content;
      b.issuedBound ??= m.nextId;
      checkSnapshot(c, b.id, content, b.requiredFacts, b.issuedBound, b.tables);
    }
    for (const file of await filesOf(c)) {
      const source = m.backups.get(file.backupId)?.content;
      if (source && !sameFacts(source, file.state)) c.fail('download-matches-backup', `${file.backupId} ${file.format}`);
    }
  } finally {
    c.sched.enter(DRIVER_EPOCH, () => store.close());
  }
}

/** True when the manifest `pick` finds in the store as it is now is still `manifest`. */
async function stillOnDisk(c: Checker, pick: (store: VaultStore) => Manifest | undefined, manifest: Manifest): Promise<boolean> {
  const now = await c.settle(c.sched.enter(DRIVER_EPOCH, () => VaultStore.open(c.name)), 'reopen store');
  try {
    const current = pick(now);
    return current !== undefined && current.chunks.length === manifest.chunks.length && current.chunks.every((key, i) => key === manifest.chunks[i]);
  } finally {
    c.sched.enter(DRIVER_EPOCH, () => now.close());
  }
}

function checkSnapshot(c: Checker, id: string, content: DbState, required: Set<string> | undefined, bound: number, tables: readonly string[] | undefined): void {
  for (const fact of required ?? []) {
    if (tables && !ofItem(fact)) continue;
    if (!content.facts.has(fact)) c.fail('backup:misses-write-acked-before-request', `${id} lacks ${fact}`);
  }
  const late = [...content.facts].filter((f) => isRow(f) && rowId(f) >= bound);
  if (late.length > 0) c.fail('backup:holds-write-issued-after-completion', `${id} holds ${late[0]}`);
}

async function filesOf(c: Checker) {
  return c.files.filter((f) => f.format === 'sqlite').map((f) => ({ ...f, state: describeImage(c.SQL, f.bytes) }));
}

function sameFacts(a: DbState, b: DbState): boolean {
  return a.userVersion === b.userVersion && a.facts.size === b.facts.size && [...a.facts].every((f) => b.facts.has(f));
}
