/**
 * The simulation's only view of the worker: one simulated worker (one epoch of the scheduler)
 * serving one vault through the public wire methods of worker/service.ts. A renamed wire method
 * is a one-line change here.
 */
import type { BackupInfo, JobRecord, OpenOptions, Result, RetentionPolicy, Row } from '../../src/protocol';
import { createService, type Service } from '../../worker/service';
import type { SimScheduler } from './scheduler';

/** How a call ended, as the page would see it. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: string };

/** A Blob whose reads resolve at once: Node's Blob reads on its own thread, outside the scheduler. */
export class SimBlob extends Blob {
  readonly held: Uint8Array;
  constructor(bytes: Uint8Array) {
    super([bytes as Uint8Array<ArrayBuffer>]);
    this.held = bytes;
  }
  override slice(start?: number, end?: number): SimBlob {
    return new SimBlob(this.held.slice(start, end));
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.held.slice().buffer as ArrayBuffer);
  }
  override text(): Promise<string> {
    return Promise.resolve(new TextDecoder().decode(this.held));
  }
}

export class SimWorker {
  private readonly service: Service;

  constructor(
    private readonly sched: SimScheduler,
    readonly epoch: number,
  ) {
    this.service = sched.enter(epoch, () => createService());
  }

  /** Any wire method (test/sim/*-ops.ts call the verbs they add through this). */
  call<T>(body: (s: Service) => Promise<Result<T>>): Promise<Outcome<T>> {
    return this.sched.enter(this.epoch, () =>
      body(this.service).then(
        (r): Outcome<T> => (r.ok ? { ok: true, value: r.value } : { ok: false, code: r.error.code }),
        (error: unknown): Outcome<T> => ({ ok: false, code: `THROWN ${String(error)}` }),
      ),
    );
  }

  open(name: string, autosaveMs: number, history?: OpenOptions['history']) {
    return this.call((s) => s.open({ name, autosaveMs, ...(history === undefined ? {} : { history }) }));
  }
  exec(sql: string, params?: (string | number)[]) {
    return this.call((s) => s.exec(sql, params));
  }
  query(sql: string, params?: (string | number)[]): Promise<Outcome<Row[]>> {
    return this.call((s) => s.query(sql, params));
  }
  /** A statement through `exec` or `query`. */
  sql(via: 'exec' | 'query', sql: string, params?: (string | number)[]): Promise<Outcome<unknown>> {
    return via === 'exec' ? this.exec(sql, params) : this.query(sql, params);
  }
  flush() {
    return this.call((s) => s.flush());
  }
  close() {
    return this.call((s) => s.close());
  }
  create(options: { method?: 'pages' | 'vacuum'; verify?: boolean; tables?: string[] }) {
    return this.call((s) => s.backupCreate(options));
  }
  wait(backupId: string): Promise<Outcome<BackupInfo>> {
    return this.call((s) => s.backupWait(backupId));
  }
  cancel(backupId: string) {
    return this.call((s) => s.backupCancel(backupId));
  }
  drop(backupId: string) {
    return this.call((s) => s.backupDrop(backupId));
  }
  restore(options: { backupId: string; into?: string; tables?: string[] }) {
    return this.call((s) => s.backupRestore(options));
  }
  list(): Promise<Outcome<BackupInfo[]>> {
    return this.call((s) => s.backupList());
  }
  history(): Promise<Outcome<JobRecord[]>> {
    return this.call((s) => s.backupHistory());
  }
  verify(backupId: string) {
    return this.call((s) => s.backupVerify(backupId));
  }
  /** The file's bytes, read through SimBlob-free Node Blob outside any task (the caller awaits it). */
  download(backupId: string, format: 'archive' | 'sqlite') {
    return this.call((s) => s.backupDownload(backupId, { format }));
  }
  upload(bytes: Uint8Array) {
    return this.call((s) => s.backupUpload(new SimBlob(bytes), {}));
  }
  retention(policy: RetentionPolicy) {
    return this.call(async (s) => {
      const set = await s.retentionSet(policy);
      return set.ok ? s.retentionApply({}) : set;
    });
  }
}
