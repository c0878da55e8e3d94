/**
 * One simulated run: a seeded workload of concurrent public calls against the worker's service,
 * kills and reopens, and the invariants checked against the model (./model.ts) at every
 * checkpoint, after every reopen and at the end. The first violated invariant ends the run.
 */
import { installFaults } from '../support/faulty-idb';
import type { Outcome } from './adapter';
import { SimWorker } from './adapter';
import { checkBackups, checkDisk, checkLive, readLive, type Checker } from './invariants';
import { Model, isRow, type DbState } from './model';
import { SimScheduler, SimStall } from './scheduler';
import { Workload } from './workload';
import { HistoryOps } from './history-ops';
import { RemoteOps } from './remote-ops';
import { stopSandbox, type SqlEngine } from '../../worker/engine';
import { VaultStore } from '../../worker/store/vault-store';
import { closeDatabases } from './databases';
import type { SqlJsStatic } from 'sql.js';

/** Codes a call may answer in a healthy vault under this workload (anything else is a finding). */
const EXPECTED = new Set(['SQLITE', 'BUSY', 'NOT_FOUND', 'INVALID_ARGUMENT', 'CANCELLED', 'INTERRUPTED', 'CLOSED', 'LOCKED', 'INVALID_BACKUP', 'REMOTE_UNAVAILABLE', 'REMOTE_DENIED']);
const AUTOSAVE_MS = [0, 50, 250, 3_600_000] as const;
/** The driver's own reads of IndexedDB run as this epoch (never killed). */
export const DRIVER_EPOCH = 0;

export interface Failure {
  readonly invariant: string;
  readonly step: number;
  readonly detail: string;
  readonly tail: readonly string[];
}

export interface SimReport {
  readonly seed: number;
  readonly steps: number;
  readonly tasks: number;
  readonly traceHash: string;
  readonly failure: Failure | undefined;
  /** With `census`, the first violation of every invariant the run met (it goes on after each). */
  readonly findings: readonly Failure[];
}

export interface RunOptions {
  /** Go on after a violation where the run can (record each invariant once). */
  readonly census?: boolean;
}

/** Violations after which a run cannot go on. */
const FATAL = new Set(['stall', 'call-never-answers', 'reopens', 'live-readable', 'harness-error']);

class Found extends Error {}

let runs = 0;

export class World implements Checker {
  readonly sched: SimScheduler;
  readonly model = new Model();
  readonly name: string;
  worker!: SimWorker;
  step = 0;
  failure: Failure | undefined;
  readonly findings: Failure[] = [];
  private epoch = 0;
  private readonly dead = new Set<number>();
  private readonly trace: string[] = [];
  private readonly pending = new Map<Promise<void>, number>();
  opSeq = 0;
  /** Calls to issue at a later step (the COMMIT of a transaction left open), for one worker. */
  deferred: { epoch: number; step: number; run: () => void }[] = [];
  private closing: 'running' | 'ok' | 'failed' | undefined;
  /** Downloads not read yet, and files read, by the backup they came from. */
  readonly blobs: { backupId: string; format: string; blob: Blob }[] = [];
  readonly files: { backupId: string; format: string; bytes: Uint8Array }[] = [];
  private readonly faults = installFaults();
  private readonly workload = new Workload(this);
  /** Time travel (./history-ops.ts) and, for some seeds, a remote (./remote-ops.ts). */
  readonly history: HistoryOps;
  readonly remote: RemoteOps | undefined;

  constructor(
    readonly seed: number,
    readonly SQL: SqlJsStatic,
    /** The one SQLite every simulated worker shares (a real worker would have its own). */
    private readonly engine: SqlEngine,
    private readonly options: RunOptions = {},
  ) {
    this.sched = new SimScheduler(seed);
    this.name = `sim-${seed}-${++runs}`;
    this.history = new HistoryOps(this);
    this.remote = this.chance(0.5) ? new RemoteOps(this) : undefined;
  }

  log(line: string): void {
    this.trace.push(`[${this.step}] ${line}`);
    if (this.trace.length > Number(process.env["SIM_TAIL"] ?? 40)) this.trace.shift();
    this.sched.note(line);
  }

  /** Records a violated invariant; ends the run unless in census mode and the run can go on. */
  fail(invariant: string, detail: string): void {
    const found: Failure = { invariant, step: this.step, detail, tail: [...this.trace] };
    this.failure ??= found;
    if (!this.findings.some((f) => f.invariant === invariant)) this.findings.push(found);
    if (!this.options.census || FATAL.has(invariant)) throw new Found(invariant);
  }

  /** Records a violation after which the run cannot go on. */
  fatal(invariant: string, detail: string): never {
    this.fail(invariant, detail);
    throw new Found(invariant);
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.sched.choice() * items.length)];
  }

  chance(p: number): boolean {
    return this.sched.choice() < p;
  }

  /** Drives the scheduler until `pending` settles; a hang or livelock is a finding. */
  async settle<T>(pending: Promise<T>, what: string): Promise<T> {
    try {
      return await this.sched.settle(pending);
    } catch (error) {
      if (error instanceof SimStall) {
        const invariant = what === 'calls in flight' ? 'call-never-answers' : 'stall';
        if (process.env['SIM_DEBUG']) {
          const dbs = (indexedDB as unknown as { _databases: Map<string, { transactions: { mode: string; _state: string; _started: boolean; _scope: Set<string>; _requests: unknown[] }[]; connections: { _closed: boolean }[] }> })._databases;
          for (const [n, d] of dbs) {
            console.log(n, d.connections.map((c) => c._closed), d.transactions.map((t) => `${t.mode}/${t._state}/${t._started}/${[...t._scope].join('+')}/${t._requests.map((r) => (r as { request: { readyState: string } }).request.readyState).join(",")}`));
          }
        }
        this.fatal(invariant, `${what}: ${error.message}; queue: ${this.sched.describeQueue().slice(0, 3000)}`);
      }
      throw error;
    }
  }

  /** Issues a call without awaiting it; `done` sees its outcome unless its worker was killed first. */
  issue<T>(label: string, call: Promise<Outcome<T>>, done: (o: Outcome<T>) => void = () => undefined): void {
    const epoch = this.worker.epoch;
    const id = ++this.opSeq;
    this.log(`#${id} ${label}`);
    const tracked = call.then((o) => {
      if (this.dead.has(epoch)) return;
      this.log(`#${id} ${label} -> ${o.ok ? 'ok' : o.code}`);
      if (this.failure && !this.options.census) return;
      try {
        if (!o.ok && !EXPECTED.has(o.code)) this.fail(`call-error:${o.code.split(' ')[0]}`, `${label} answered ${o.code}`);
        done(o);
      } catch (error) {
        if (!(error instanceof Found)) throw error;
      }
    });
    this.pending.set(tracked, epoch);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  async run(steps: number): Promise<SimReport> {
    this.sched.install();
    try {
      await this.start();
      for (this.step = 1; this.step <= steps && (!this.failure || this.options.census); this.step++) {
        if (this.closing === 'ok' || this.closing === 'failed') await this.reopenAfterClose();
        if (this.afterKill) await this.reopenAfterKill();
        this.runDeferred(this.step);
        this.history.poll();
        this.act();
        this.history.poll();
        await this.sched.run(Math.floor(this.sched.choice() ** 2 * 60));
        await this.history.drain();
        await this.remote?.check();
        if (this.step % 25 === 0) await this.checkpoint();
      }
      if (!this.failure || this.options.census) await this.finish();
    } catch (error) {
      if (!(error instanceof Found)) {
        this.failure ??= { invariant: 'harness-error', step: this.step, detail: String((error as Error)?.stack ?? error), tail: [...this.trace] };
      }
    } finally {
      await this.cleanUp();
      this.sched.uninstall();
    }
    return { seed: this.seed, steps: Math.min(this.step, steps), tasks: this.sched.steps, traceHash: this.sched.traceHash, failure: this.failure, findings: this.findings };
  }

  /** One step's calls: mostly the core workload, some history, some remote. */
  private act(): void {
    const r = this.sched.choice();
    if (r < 0.08) this.history.act();
    else if (this.remote && r < 0.16) this.remote.act();
    else this.workload.act();
  }

  /** Ends every worker of the run and deletes its databases (fake-indexeddb keeps them in memory). */
  private async cleanUp(): Promise<void> {
    this.sched.enter(DRIVER_EPOCH, () => this.faults.kill({ reads: true }));
    stopSandbox(this.engine);
    for (let e = 0; e <= this.epoch; e++) {
      this.sched.kill(e);
      closeDatabases(e);
    }
    for (const name of [this.name, `${this.name}-into`, this.history.intoName, `${this.name}-from`]) {
      await this.sched.settle(this.sched.enter(DRIVER_EPOCH, () => VaultStore.destroy(name))).catch(() => undefined);
    }
  }

  private async start(): Promise<void> {
    await this.openWorker();
    await this.settle(this.worker.exec('CREATE TABLE item (id INTEGER PRIMARY KEY, v TEXT NOT NULL)'), 'setup');
    await this.settle(this.worker.flush(), 'setup flush');
    this.model.must = new Set(['table:item', 'col:item.id', 'col:item.v']);
    this.model.durable = this.model.snapshot();
  }

  private async openWorker(): Promise<void> {
    this.worker = new SimWorker(this.sched, ++this.epoch);
    const autosave = this.pick(AUTOSAVE_MS)!;
    this.log(`open epoch ${this.epoch} autosave ${autosave}`);
    const opened = await this.settle(this.worker.open(this.name, autosave, this.history.option), 'open');
    if (!opened.ok) this.fatal('reopens', `open answered ${opened.code}`);
    this.remote?.opened();
  }

  /** Issues the deferred calls due by `step` (all with Infinity) whose worker is the current one. */
  private runDeferred(step: number): void {
    const due = this.deferred.filter((d) => d.step <= step);
    this.deferred = this.deferred.filter((d) => d.step > step);
    for (const d of due) if (d.epoch === this.worker.epoch) d.run();
  }

  close(): void {
    if (this.closing) return;
    const epoch = this.worker.epoch;
    this.closing = 'running';
    this.model.duringClose = new Set();
    this.issue('close', this.worker.close(), (o) => {
      this.closing = o.ok ? 'ok' : 'failed';
      this.model.dropTransaction();
      if (o.ok) {
        this.sched.closed(epoch);
        this.model.durable = this.model.snapshot();
        this.model.durableSeq = this.opSeq;
      }
    });
  }

  /** After close() settled: reopen as the next page load would, and check what survived. */
  private async reopenAfterClose(): Promise<void> {
    const ok = this.closing === 'ok';
    const during = this.model.duringClose ?? new Set<string>();
    this.closing = undefined;
    this.model.duringClose = undefined;
    await this.drain();
    await this.openWorker();
    const live = await readLive(this);
    if (ok) checkLive(this, live, this.model.durable, (fact) => (during.has(fact) ? 'close:call-served-while-closing-lost' : `close:acked-${kindOf(fact)}-lost`));
    this.adopt(live);
  }

  /** The worker dies at this step; the next page load opens the vault again. */
  kill(): void {
    const m = this.model;
    const epoch = this.worker.epoch;
    this.log(`KILL epoch ${epoch}`);
    this.history.killed();
    this.remote?.killed(epoch);
    this.sched.enter(DRIVER_EPOCH, () => this.faults.kill({ reads: true }));
    // The dead worker's sandbox dies with it: what it was running or had queued is abandoned.
    stopSandbox(this.engine);
    this.sched.kill(epoch);
    closeDatabases(epoch);
    this.dead.add(epoch);
    for (const [p, e] of this.pending) if (e === epoch) this.pending.delete(p);
    m.dropTransaction();
    const expected: DbState = m.restoresInFlight > 0 ? { facts: new Set(), userVersion: -1 } : m.durable;
    m.restoresInFlight = 0;
    for (const b of m.backups.values()) if (b.issuedBound === undefined) b.issuedBound = m.nextId;
    this.afterKill = expected;
  }


  private afterKill: DbState | undefined;

  /** The next page load after a kill: what a successful flush covered must be there. */
  private async reopenAfterKill(): Promise<void> {
    const expected = this.afterKill!;
    this.afterKill = undefined;
    this.closing = undefined;
    this.model.duringClose = undefined;
    await this.drain();
    await this.openWorker();
    const live = await readLive(this);
    checkLive(this, live, expected, (fact) => `kill:flushed-${kindOf(fact)}-lost`);
    this.adopt(live);
  }

  /** Settles every call in flight (of live workers), then reads downloads. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await this.settle(Promise.all(this.pending.keys()), 'calls in flight');
    for (const { backupId, format, blob } of this.blobs.splice(0)) {
      this.files.push({ backupId, format, bytes: new Uint8Array(await blob.arrayBuffer()) });
    }
    if (this.files.length > 4) this.files.splice(0, this.files.length - 4);
  }

  /** Settles everything, waits for idle jobs, and checks every invariant. */
  async checkpoint(full = false): Promise<void> {
    if (this.afterKill) await this.reopenAfterKill();
    if (this.closing) return;
    this.runDeferred(Infinity);
    await this.drain();
    await this.jobsIdle();
    for (const epoch of this.sched.spinning()) {
      const queued = this.sched.describeQueue(epoch);
      this.sched.kill(epoch); // stop it, so the run can go on
      this.fail('closed-worker-keeps-running', `epoch ${epoch} still runs timers long after its close() resolved: ${queued}`);
    }
    await this.remote?.quiesce();
    const live = await readLive(this);
    const before = this.findings.length;
    checkLive(this, live, this.model.snapshot(), (fact) => `live:acked-${kindOf(fact)}-missing`);
    if (this.findings.length > before) this.adopt(live);
    await checkDisk(this);
    await checkBackups(this, full);
    await this.history.drain();
    await this.history.check();
    await this.remote?.check(true);
  }

  /** After a reopen the vault holds what it holds: the model starts from it. */
  private adopt(live: DbState): void {
    this.model.must = new Set(live.facts);
    this.model.userVersion = live.userVersion;
    this.model.durable = this.model.snapshot();
    for (const f of live.facts) if (f.startsWith('table:d') && !this.model.ddlTables.includes(f.slice(6))) this.model.ddlTables.push(f.slice(6));
  }

  private async jobsIdle(): Promise<void> {
    for (let i = 0; ; i++) {
      const history = await this.settle(this.worker.history(), 'history');
      if (!history.ok || !history.value.some((j) => j.state === 'queued' || j.state === 'running')) return;
      if (i > 2000) this.fatal('stall', 'jobs never become idle');
      await this.sched.run(20);
    }
  }

  private async finish(): Promise<void> {
    if (this.afterKill) await this.reopenAfterKill();
    this.close();
    await this.drain();
    if (this.closing) await this.reopenAfterClose();
    await this.checkpoint(true);
    await this.settle(this.worker.close(), 'final close');
  }
}

function kindOf(fact: string): string {
  if (isRow(fact)) return 'row';
  if (fact.startsWith('uv')) return 'user_version';
  return 'schema';
}

