/**
 * Time travel in the simulation (issue 18): the vault opens with history on (some seeds with a
 * small byte budget), the virtual clock jumps (idle minutes to hours, so every thinning tier is
 * met), and the workload lists points and restores, backs up and downloads the state at random
 * instants (between points, before the first, in the future).
 *
 * What a state "at T" must be, from polls of the model taken at every step (before and after its
 * calls are issued, at the step's virtual time):
 * - no row issued after T: every row id is below the `nextId` of the last poll at or before T;
 * - every row the model held durable at a poll at or before T, when no poll from then to T saw a
 *   restore in flight or finished, or a kill, and T lies in the dense tier (the last hour, where
 *   every save is a point) of a run without a byte budget.
 * Invariants at checkpoints: history-only bytes within `maxBytes`; chunks of points exist
 * (invariants.ts); a listed point is restorable (downloaded and integrity-checked).
 */
import { openDB } from 'idb';
import type { HistoryPoint } from '../../src/protocol';
import { DENSE_MS, pointRecordBytes } from '../../worker/store/history-plan';
import { DB_PREFIX, type BackupRecord, type HeadRecord, type PointRecord, type StagingRecord } from '../../worker/store/schema';
import { newBackup } from './workload';
import { isRow, rowId } from './model';
import type { World } from './world';

const DRIVER_EPOCH = 0;
const KEEPS = ['2h', '8h', '24h'] as const;
const HOUR = 3_600_000;
/** How far ahead of the clock a save's stamp may run (see expectAt). */
const STAMP_DRIFT_MS = 1_000;

interface Poll {
  readonly now: number;
  readonly nextId: number;
  readonly durableRows: readonly number[];
  /** A restore in flight or finished since the last poll, or a kill: the state may have gone back. */
  readonly disrupted: boolean;
}

export class HistoryOps {
  readonly option: { keep: string; maxBytes?: number };
  private readonly polls: Poll[] = [];
  private lastRestoreSeq = 0;
  private lastEpoch = 0;
  private ownRestores = 0;
  /** Points last listed (their `at`), to pick instants between them. */
  private points: number[] = [];
  /** Checks to run between steps (they read IndexedDB or a Blob). */
  private readonly queued: (() => Promise<void>)[] = [];
  private intoBusy = false;
  stats = { restores: 0, creates: 0, downloads: 0, lists: 0, checked: 0 };

  constructor(private readonly world: World) {
    const keep = world.pick(KEEPS)!;
    this.option = world.chance(0.35) ? { keep, maxBytes: 2_000 + Math.floor(world.sched.choice() * 30_000) } : { keep };
  }

  get intoName(): string {
    return `${this.world.name}-at`;
  }

  /** Records the model's state at this instant (the world calls it before and after each step's calls). */
  poll(): void {
    const w = this.world;
    const m = w.model;
    const disrupted = m.restoresInFlight > 0 || this.ownRestores > 0 || m.restoreSeq !== this.lastRestoreSeq || w.worker.epoch !== this.lastEpoch;
    this.lastRestoreSeq = m.restoreSeq;
    this.lastEpoch = w.worker.epoch;
    const durableRows = [...m.durable.facts].filter(isRow).map(rowId);
    this.polls.push({ now: w.sched.now, nextId: m.nextId, durableRows, disrupted });
    if (this.polls.length > 600) this.polls.splice(0, 100);
  }

  /** A kill may lose what was not saved: the next poll is disrupted. */
  killed(): void {
    this.lastEpoch = -1;
    this.killedSinceCheck = true;
  }

  /**
   * A kill since the last checkpoint: the budget may be over until the next save (a reader's hold
   * at the last save kept chunks out of history's share, and nothing re-applies the budget at
   * open; seed 511, reported, not fixed here).
   */
  private killedSinceCheck = false;

  /**
   * Rows the state at `at` may hold (ids below `bound`) and must hold (undefined: no claim). The
   * claim needs the saved point that answered (`servedAt`, to the second) in the dense tier, where
   * thinning removes nothing (in older tiers a point stands for its 5-minute or hourly slot), and
   * takes what was durable a second before `at`: a save stamps `max(now, previous + 1)`, so saves
   * faster than one per millisecond (the virtual clock stands still while tasks run) are stamped
   * a little ahead of the clock.
   */
  private expectAt(at: number, servedAt?: number): { bound: number; must: readonly number[] | undefined } {
    const upTo = this.polls.filter((p) => p.now <= at);
    const last = upTo[upTo.length - 1];
    const bound = last ? last.nextId : 1;
    const dense = servedAt !== undefined && servedAt >= this.world.sched.now - DENSE_MS + 5_000;
    if (!dense || this.option.maxBytes !== undefined) return { bound, must: undefined };
    let i = upTo.length - 1;
    while (i >= 0 && upTo[i]!.now > at - STAMP_DRIFT_MS) i--;
    if (i < 0 || upTo.slice(i).some((p) => p.disrupted)) return { bound, must: undefined };
    return { bound, must: upTo[i]!.durableRows };
  }

  /** An instant: between two listed points, before the first, at one, or in the future. */
  private instant(): number {
    const w = this.world;
    const r = w.sched.choice();
    const pts = this.points;
    if (pts.length === 0 || r < 0.1) return w.sched.now + Math.floor(w.sched.choice() * HOUR);
    if (r < 0.2) return pts[0]! - 1 - Math.floor(w.sched.choice() * HOUR);
    const i = Math.floor(w.sched.choice() * pts.length);
    if (r < 0.4) return pts[i]!;
    const next = pts[i + 1] ?? w.sched.now;
    return pts[i]! + Math.floor(w.sched.choice() * Math.max(1, next - pts[i]!));
  }

  /** One random history call, or the clock moving on (the app idle for a while). */
  act(): void {
    const w = this.world;
    const m = w.model;
    const r = w.sched.choice();
    if (r < 0.3) {
      const ms = w.chance(0.6) ? Math.floor(w.sched.choice() * 10 * 60_000) : Math.floor(w.sched.choice() * 4 * HOUR);
      w.sched.now += ms;
      w.log(`idle ${Math.round(ms / 1000)} s`);
      return;
    }
    if (r < 0.45) {
      this.stats.lists++;
      w.issue('history list', w.worker.call((s) => s.historyList({})), (o) => {
        if (o.ok) this.points = (o.value as HistoryPoint[]).map((p) => p.at);
      });
      return;
    }
    const at = this.instant();
    if (r < 0.65) {
      this.stats.downloads++;
      w.issue(`download at ${at}`, w.worker.call((s) => s.download({ at, format: 'sqlite' })), (o) => {
        if (!o.ok) return;
        const stamp = /-at-(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)Z\./.exec(o.value.filename);
        const servedAt = stamp ? Date.parse(`${stamp[1]}:${stamp[2]}:${stamp[3]}Z`) : undefined;
        const expected = this.expectAt(at, servedAt);
        w.log(`  = point ${servedAt} (now ${w.sched.now}), rows < ${expected.bound}${expected.must ? `, ${expected.must.length} durable` : ''}`);
        const blob = o.value.blob;
        this.queued.push(async () => this.checkImage(`download at ${at}`, new Uint8Array(await blob.arrayBuffer()), expected));
      });
      return;
    }
    if (r < 0.8) {
      this.stats.creates++;
      w.issue(`create at ${at}`, w.worker.create({ at } as never), (o) => {
        if (!o.ok) return;
        const expected = this.expectAt(at);
        const id = o.value.backupId;
        const b = newBackup(id, 'create', expected.must ? new Set(expected.must.map((n) => `row:${n}`)) : undefined, undefined);
        b.issuedBound = expected.bound;
        m.backups.set(id, b);
      });
      return;
    }
    this.stats.restores++;
    if (r < 0.9 && !this.intoBusy) {
      this.intoBusy = true;
      w.issue(`restore at ${at} into`, w.worker.call((s) => s.backupRestore({ at, into: this.intoName })), (o) => {
        if (!o.ok) {
          this.intoBusy = false;
          return;
        }
        const expected = this.expectAt(at);
        this.queued.push(async () => {
          try {
            const image = await this.readInto();
            if (image) await this.checkImage(`restore at ${at} into`, image, expected);
          } finally {
            this.intoBusy = false;
          }
        });
      });
      return;
    }
    m.restoreStarted();
    this.ownRestores++;
    w.issue(`restore at ${at}`, w.worker.call((s) => s.backupRestore({ at })), (o) => {
      this.ownRestores--;
      m.restoreEnded();
      if (o.ok) m.restored(undefined, false, w.opSeq);
    });
  }

  /** Runs the checks queued by acknowledgements (between steps). */
  async drain(): Promise<void> {
    for (const check of this.queued.splice(0)) await check();
  }

  private async readInto(): Promise<Uint8Array | undefined> {
    const w = this.world;
    const { VaultStore } = await import('../../worker/store/vault-store');
    const { readImage } = await import('../../worker/jobs/chunk-io');
    const { LIVE_HEAD } = await import('../../worker/store/schema');
    const store = await w.settle(w.sched.enter(DRIVER_EPOCH, () => VaultStore.open(this.intoName)), 'open restored');
    try {
      const head = store.head(LIVE_HEAD);
      if (!head) {
        w.fail('history:restore-into-has-no-head', this.intoName);
        return undefined;
      }
      return await w.settle(w.sched.enter(DRIVER_EPOCH, () => readImage(store, head.manifest)), 'read restored');
    } finally {
      w.sched.enter(DRIVER_EPOCH, () => store.close());
    }
  }

  /** The state at an instant: intact, no row issued after it, every row durable before it. */
  private checkImage(what: string, image: Uint8Array, expected: { bound: number; must: readonly number[] | undefined }): void {
    const w = this.world;
    this.stats.checked++;
    const db = new w.SQL.Database(image);
    try {
      const integrity = String(db.exec('PRAGMA integrity_check')[0]?.values[0]?.[0]);
      if (integrity !== 'ok') w.fail('history:state-fails-integrity', `${what}: ${integrity}`);
      const hasItem = db.exec("SELECT 1 FROM sqlite_schema WHERE name = 'item'").length > 0;
      const ids = new Set(hasItem ? (db.exec('SELECT id FROM item')[0]?.values ?? []).map((v) => Number(v[0])) : []);
      const late = [...ids].filter((id) => id >= expected.bound);
      if (late.length > 0) w.fail('history:holds-write-issued-after-instant', `${what} holds row ${late[0]} (rows issued by then < ${expected.bound})`);
      const missing = (expected.must ?? []).filter((id) => !ids.has(id));
      if (missing.length > 0) w.fail('history:misses-row-flushed-before-instant', `${what} lacks row ${missing.join(',')} (holds ${[...ids].sort((a, b) => a - b).join(',')})`);
    } finally {
      db.close();
    }
  }

  /** At a checkpoint (quiescent): the byte budget holds, and a listed point is restorable. */
  async check(): Promise<void> {
    const w = this.world;
    await this.checkBudget();
    const listed = await w.settle(w.worker.call((s) => s.historyList({})), 'history list');
    if (!listed.ok) return;
    const pts = (listed.value as HistoryPoint[]).filter((p) => !p.current);
    this.points = (listed.value as HistoryPoint[]).map((p) => p.at);
    const pick = w.chance(0.5) ? pts[0] : w.pick(pts);
    if (!pick) return;
    const got = await w.settle(w.worker.call((s) => s.download({ at: pick.at, format: 'sqlite' })), 'download point');
    if (!got.ok) {
      // A save meanwhile (an autosave timer) may have thinned it or let it fall out of the window.
      const again = await w.settle(w.worker.call((s) => s.historyList({})), 'history list');
      if (again.ok && (again.value as HistoryPoint[]).some((p) => p.at === pick.at)) w.fail('history:listed-point-not-restorable', `point ${pick.at}: ${got.code}`);
      return;
    }
    const image = new Uint8Array(await got.value.blob.arrayBuffer());
    if (image.byteLength !== pick.sizeBytes) w.fail('history:listed-point-size', `point ${pick.at}: ${image.byteLength} bytes, listed ${pick.sizeBytes}`);
    this.checkImage(`listed point ${pick.at}`, image, { bound: Number.POSITIVE_INFINITY, must: undefined });
  }

  /**
   * Bytes only history holds (as the README defines them), computed from disk, against `maxBytes`.
   * A reader's hold keeps a replaced head's chunks out of history's share until it ends (a
   * continuous push is no job, so it may still run here): over budget counts only once the remote
   * has answered everything and the release has committed.
   */
  private async checkBudget(): Promise<void> {
    const w = this.world;
    const max = this.option.maxBytes;
    const afterKill = this.killedSinceCheck;
    this.killedSinceCheck = false;
    if (max === undefined) return;
    for (let attempt = 0; ; attempt++) {
      const { bytes, points } = await this.historyBytes();
      if (bytes <= max) return;
      if (afterKill) {
        w.log(`history over budget after a kill: ${bytes} > ${max}`);
        return;
      }
      if ((w.remote?.remote.pending ?? 0) === 0 || attempt >= 50) {
        w.fail('history:over-byte-budget', `${bytes} bytes only history holds (${points} points), maxBytes ${max}`);
        return;
      }
      await w.sched.run(100);
    }
  }

  private async historyBytes(): Promise<{ bytes: number; points: number }> {
    const w = this.world;
    const disk = await w.settle(w.sched.enter(DRIVER_EPOCH, () => readStore(w.name)), 'read store');
    const elsewhere = new Set<string>();
    for (const h of disk.heads) for (const k of h.manifest.chunks) elsewhere.add(k);
    for (const b of disk.backups) for (const k of b.manifest.chunks) elsewhere.add(k);
    for (const s of disk.staging) for (const k of s.keys) elsewhere.add(k);
    const only = new Set<string>();
    let bytes = 0;
    for (const p of disk.points) {
      bytes += pointRecordBytes(p);
      for (const k of p.manifest.chunks) if (!elsewhere.has(k)) only.add(k);
    }
    for (const k of only) bytes += disk.sizes.get(k) ?? 0;
    return { bytes, points: disk.points.length };
  }
}

/** What the budget is computed from, read in one transaction awaited to its end (a kill later must find nothing running). */
async function readStore(name: string) {
  const db = await openDB(DB_PREFIX + name);
  try {
    const tx = db.transaction(['chunks', 'heads', 'points', 'backups', 'staging'], 'readonly');
    const [keys, values, heads, points, backups, staging] = await Promise.all([
      tx.objectStore('chunks').getAllKeys(),
      tx.objectStore('chunks').getAll(),
      tx.objectStore('heads').getAll(),
      tx.objectStore('points').getAll(),
      tx.objectStore('backups').getAll(),
      tx.objectStore('staging').getAll(),
    ]);
    await tx.done;
    return {
      sizes: new Map(keys.map((k, i) => [String(k), (values[i] as { data: Uint8Array }).data.byteLength])),
      heads: heads as HeadRecord[],
      points: points as PointRecord[],
      backups: backups as BackupRecord[],
      staging: staging as StagingRecord[],
    };
  } finally {
    db.close();
  }
}
