/**
 * One simulated run with several tabs (issue 17): two or three tabs share one vault through the
 * real worker/tabs/ layer (sim-tab.ts), the simulated BroadcastChannel (sim-channel.ts) and Web
 * Locks (sim-locks.ts), under the seeded scheduler. Calls from every tab interleave with the
 * owner killed, closed or reloaded and followers killed, closed or reloaded at any step; hand-overs
 * follow. Checked against one model of acknowledged writes (tabs-model.ts) after every reopen, at
 * every checkpoint and at the end; the first violation ends the run.
 */
import { installFaults } from '../support/faulty-idb';
import { stopSandbox, type SqlEngine } from '../../worker/engine';
import { LOCK_PREFIX } from '../../worker/lock';
import { VaultStore } from '../../worker/store/vault-store';
import type { Outcome } from './adapter';
import { closeDatabases } from './databases';
import { checkDisk, type Checker } from './invariants';
import { Model } from './model';
import { SimScheduler, SimStall } from './scheduler';
import { SimChannels } from './sim-channel';
import { SimLocks } from './sim-locks';
import { SimTab, type ServiceWatch } from './sim-tab';
import { TabsModel } from './tabs-model';
import { TabsWorkload } from './tabs-workload';
import type { Failure, SimReport } from './world';
import { DRIVER_EPOCH } from './world';
import type { SqlJsStatic } from 'sql.js';
import type { Result } from '../../src/protocol';

/** Codes a call may answer under this workload (anything else is a finding). */
const EXPECTED = new Set(['BUSY', 'NOT_FOUND', 'CANCELLED', 'INTERRUPTED', 'CLOSED']);
const AUTOSAVE_MS = [0, 50, 250, 3_600_000] as const;

class Found extends Error {}

let runs = 0;

export class TabsWorld implements ServiceWatch {
  readonly sched: SimScheduler;
  readonly model = new TabsModel();
  readonly name: string;
  readonly channels: SimChannels;
  readonly locks: SimLocks;
  readonly tabs: (SimTab | undefined)[] = [];
  step = 0;
  failure: Failure | undefined;
  readonly autosaveMs: number;
  /** Seeds with durability 'commit' open some tabs with it. */
  readonly durableSeed: boolean;
  private epoch = 0;
  private readonly trace: string[] = [];
  private readonly pending = new Map<Promise<void>, number>();
  private readonly dead = new Set<number>();
  private readonly faults = installFaults();
  private readonly workload: TabsWorkload;
  opSeq = 0;

  constructor(
    readonly seed: number,
    readonly SQL: SqlJsStatic,
    private readonly engine: SqlEngine,
    readonly tabCount: number,
  ) {
    this.sched = new SimScheduler(seed);
    this.name = `simtabs-${seed}-${++runs}`;
    this.channels = new SimChannels(this.sched);
    this.locks = new SimLocks(this.sched);
    this.autosaveMs = AUTOSAVE_MS[Math.floor(this.sched.choice() * AUTOSAVE_MS.length)]!;
    this.durableSeed = this.sched.choice() < 0.4;
    this.workload = new TabsWorkload(this);
  }

  log(line: string): void {
    this.trace.push(`[${this.step}] ${line}`);
    if (this.trace.length > Number(process.env['SIM_TAIL'] ?? 40)) this.trace.shift();
    this.sched.note(line);
  }

  fail(invariant: string, detail: string): never {
    this.note(invariant, detail);
    throw new Found(invariant);
  }

  /** Records a violation seen inside a worker's code (which must not be thrown into): the run ends after this task. */
  note(invariant: string, detail: string): void {
    this.failure ??= { invariant, step: this.step, detail, tail: [...this.trace] };
  }

  chance(p: number): boolean {
    return this.sched.choice() < p;
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.sched.choice() * items.length)];
  }

  /** The epoch holding the vault's lock (the owner), if any. */
  get owner(): number | undefined {
    return this.locks.holder(LOCK_PREFIX + this.name);
  }

  live(): SimTab[] {
    return this.tabs.filter((t): t is SimTab => t !== undefined && t.state !== 'dead' && t.state !== 'closed');
  }

  // ServiceWatch: what ran on each worker's service.
  inserted(epoch: number, id: number): void {
    if (this.dead.has(epoch)) return;
    const row = this.model.rows.get(id);
    if (!row) return;
    row.ranOn.push(epoch);
    if (row.ranOn.length > 1) this.note('tabs:write-ran-twice', `row ${id} ran on epochs ${row.ranOn.join(', ')}`);
  }
  saved(epoch: number, covered: readonly number[]): void {
    if (this.dead.has(epoch)) return;
    for (const id of covered) this.model.rows.get(id)!.durable ??= 'flush';
  }
  insertedBy(epoch: number): readonly number[] {
    return this.model.ranOn(epoch);
  }
  served(epoch: number, verb: string): void {
    if (this.dead.has(epoch)) return;
    if (this.owner !== epoch) this.note('tabs:served-without-lock', `epoch ${epoch} served ${verb} while epoch ${this.owner ?? 'none'} held the lock`);
  }

  async settle<T>(pending: Promise<T>, what: string): Promise<T> {
    try {
      return await this.sched.settle(pending);
    } catch (error) {
      if (error instanceof SimStall) this.fail(what === 'calls in flight' ? 'call-never-answers' : 'stall', `${what}: ${error.message}; queue: ${this.sched.describeQueue().slice(0, 2000)}`);
      throw error;
    }
  }

  /** Issues a call of `tab` without awaiting it; `done` sees its outcome unless the tab died first. */
  issue<T>(tab: SimTab, label: string, call: (api: SimTab['api']) => Promise<Result<T>>, done: (o: Outcome<T>) => void = () => undefined, expected: ReadonlySet<string> = EXPECTED): void {
    const epoch = tab.epoch;
    const id = ++this.opSeq;
    this.log(`#${id} ${tab.label} ${label}`);
    const tracked = tab.call(call).then((o) => {
      if (this.dead.has(epoch)) return;
      const code = o.ok ? 'ok' : o.code.split(' ')[0]!;
      this.log(`#${id} ${tab.label} ${label} -> ${o.ok ? 'ok' : o.code}`);
      if (this.failure) return;
      try {
        // The fault injector aborts every transaction at an owner's kill, also the last reads of a
        // worker whose close() already resolved (a wait it still answers): a harness artefact.
        const harness = code === 'STORAGE' && tab.state === 'closed';
        if (!o.ok && !expected.has(code) && !harness) this.fail(`call-error:${code}`, `${tab.label} ${label} answered ${o.code}`);
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
      for (this.step = 1; this.step <= steps && !this.failure; this.step++) {
        this.workload.act();
        await this.sched.run(Math.floor(this.sched.choice() ** 2 * 60));
        if (this.step % 25 === 0 && !this.failure) await this.checkpoint();
      }
      if (!this.failure) await this.finish();
    } catch (error) {
      if (!(error instanceof Found)) {
        this.failure ??= { invariant: 'harness-error', step: this.step, detail: String((error as Error)?.stack ?? error), tail: [...this.trace] };
      }
    } finally {
      await this.cleanUp();
      this.sched.uninstall();
    }
    return { seed: this.seed, steps: Math.min(this.step, steps), tasks: this.sched.steps, traceHash: this.sched.traceHash, failure: this.failure, findings: this.failure ? [this.failure] : [] };
  }

  private async start(): Promise<void> {
    this.log(`tabs ${this.tabCount} autosave ${this.autosaveMs}${this.durableSeed ? ' durability commit on some tabs' : ''}`);
    const first = this.openTab(0);
    await this.drain();
    if (first.state !== 'open') this.fail('tabs:first-open-fails', first.state);
    this.issue(first, 'CREATE TABLE item', (api) => api.exec('CREATE TABLE item (id INTEGER PRIMARY KEY, v TEXT NOT NULL)'), (o) => o.ok || this.fail('setup', o.code));
    // A flush covers the writes acknowledged before it is called: the table is acknowledged first.
    await this.drain();
    this.issue(first, 'flush', (api) => api.flush());
    await this.drain();
    for (let slot = 1; slot < this.tabCount; slot++) this.openTab(slot);
  }

  /** Opens a new tab (a new worker) in `slot`, as a page load would. */
  openTab(slot: number): SimTab {
    const durable = this.durableSeed && this.chance(0.6);
    const tab = new SimTab(this.sched, slot, ++this.epoch, durable, this.channels, this.locks, this);
    this.tabs[slot] = tab;
    this.issue(
      tab,
      `open${durable ? ' durability commit' : ''}`,
      (api) => api.open({ name: this.name, autosaveMs: this.autosaveMs, ...(durable ? { durability: 'commit' as const } : {}) }),
      (o) => {
        if (tab.state !== 'opening') return; // closed while it opened
        tab.state = o.ok ? 'open' : 'closed';
      },
      new Set(), // an open answers nothing but ok under this workload
    );
    return tab;
  }

  /** The tab's page closes its vault (close(); the tab may reload later). */
  closeTab(tab: SimTab): void {
    const wasOwner = this.owner === tab.epoch;
    tab.state = 'closing';
    this.issue(tab, `close${wasOwner ? ' (owner)' : ''}`, (api) => api.close(), (o) => {
      tab.state = o.ok ? 'closed' : 'open';
    });
  }

  /** The tab crashes (or is reloaded without unload): its worker dies, the browser releases its lock. */
  kill(tab: SimTab): void {
    const wasOwner = this.owner === tab.epoch;
    this.log(`KILL ${tab.label}${wasOwner ? ' (owner)' : ''}`);
    tab.state = 'dead';
    this.dead.add(tab.epoch);
    if (wasOwner) {
      // Only the owner has the store (and the sandbox) open: a follower's death leaves them alone.
      this.sched.enter(DRIVER_EPOCH, () => this.faults.kill({ reads: true }));
      stopSandbox(this.engine);
    }
    this.sched.kill(tab.epoch);
    closeDatabases(tab.epoch);
    this.channels.kill(tab.epoch);
    this.locks.kill(tab.epoch);
    for (const [p, e] of this.pending) if (e === tab.epoch) this.pending.delete(p);
    for (const r of this.model.rows.values()) if (r.by === tab.label && r.answer === undefined) r.answer = 'lost';
  }

  /** Settles every call in flight of the living tabs: each must end (answered or rejected). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await this.settle(Promise.all(this.pending.keys()), 'calls in flight');
  }

  /** Quiesces and checks: the live rows against the model, and the store on disk. */
  async checkpoint(): Promise<void> {
    await this.drain();
    let reader = this.live().find((t) => t.state === 'open');
    if (!reader) {
      const slot = this.tabs.findIndex((t) => !t || t.state === 'dead' || t.state === 'closed');
      reader = this.openTab(Math.max(slot, 0));
      await this.drain();
      if (reader.state !== 'open') return;
    }
    await this.jobsIdle(reader);
    const owner = this.owner;
    const got = await this.settle(reader.call((api) => api.query('SELECT id FROM item')), 'read rows');
    if (!got.ok) {
      if (got.code === 'INTERRUPTED' || got.code === 'CLOSED') return; // the reader's owner went away meanwhile
      this.fail('live-readable', `${reader.label}: ${got.code}`);
    }
    const live = new Set(got.value.map((r) => Number(r['id'])));
    for (const id of live) {
      const row = this.model.rows.get(id);
      if (!row || row.ranOn.length === 0) this.fail('tabs:row-never-ran', `row ${id} is live but never ran`);
    }
    for (const row of this.model.rows.values()) {
      // CLOSED says the call was not served (README, pinned semantics): it must not have run.
      if (row.answer === 'CLOSED' && row.ranOn.length > 0) this.fail('tabs:closed-call-ran', `row ${row.id} (${row.by}) answered CLOSED, ran on e${row.ranOn.join(',')}`);
    }
    for (const [id, why] of this.model.required(owner)) {
      if (!live.has(id)) this.fail(`tabs:${why}-row-lost`, `row ${id} (${this.model.rows.get(id)!.by}, ran on e${this.model.rows.get(id)!.ranOn.join(',')}) missing; owner e${owner}`);
    }
    await checkDisk(this.checker());
  }

  private async jobsIdle(tab: SimTab): Promise<void> {
    for (let i = 0; ; i++) {
      const history = await this.settle(tab.call((api) => api.backupHistory()), 'history');
      if (!history.ok || !history.value.some((j) => j.state === 'queued' || j.state === 'running')) return;
      if (i > 2000) this.fail('stall', 'jobs never become idle');
      await this.sched.run(20);
    }
  }

  /** invariants.ts's view of this run (checkDisk needs no model of its own). */
  private checker(): Checker {
    return {
      sched: this.sched,
      model: new Model(),
      name: this.name,
      SQL: this.SQL,
      worker: undefined as never,
      fail: (invariant, detail) => this.fail(invariant, detail),
      fatal: (invariant, detail) => this.fail(invariant, detail),
      files: [],
      settle: (p, what) => this.settle(p, what),
      log: (line) => this.log(line),
    };
  }

  private async finish(): Promise<void> {
    await this.checkpoint();
    for (const tab of this.live()) if (tab.state === 'open') this.closeTab(tab);
    await this.drain();
    for (const tab of this.live()) if (tab.state !== 'closed') this.fail('tabs:close-fails', `${tab.label} is ${tab.state}`);
    // Everything was closed: the last owner saved on close; a new tab opens it and finds every row that must be there.
    const last = this.openTab(0);
    await this.drain();
    if (last.state === 'open') await this.checkpoint();
    this.closeTab(last);
    await this.drain();
  }

  private async cleanUp(): Promise<void> {
    this.sched.enter(DRIVER_EPOCH, () => this.faults.kill({ reads: true }));
    stopSandbox(this.engine);
    for (let e = 1; e <= this.epoch; e++) {
      this.sched.kill(e);
      this.channels.kill(e);
      this.locks.kill(e);
      closeDatabases(e);
    }
    await this.sched.settle(this.sched.enter(DRIVER_EPOCH, () => VaultStore.destroy(this.name))).catch(() => undefined);
  }
}
