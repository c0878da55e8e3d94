/**
 * A simulated remote object store: objects in memory, served to the worker through the public
 * `directory` remote kind by a simulated FileSystemDirectoryHandle (the least invasive seam: the
 * worker takes the handle through `remote.add`, with no test parameter in production code).
 *
 * Every answer of the handle is a timer of the calling worker's epoch, so the seeded scheduler
 * decides delays and reordering; writes land on a driver timer (epoch 0) so a request already "on
 * the wire" lands even when the worker that sent it is killed. Seeded failures: errors a store
 * answers transiently (`InvalidStateError`, `AbortError`: REMOTE_UNAVAILABLE, like a 5xx or a
 * dropped connection), a refusal once in a while (`NotAllowedError`: REMOTE_DENIED, like a 403),
 * slow answers; a failed write may or may not have landed.
 *
 * The class itself implements the project's store interface (src/remote/store.ts) without
 * faults or delays: the invariants read the remote through it, as it is.
 */
import type { RemoteObjectInfo, RemoteStore } from '../../src/remote/store';
import { currentEpoch, type SimScheduler } from './scheduler';

/** One stored object. Objects are replaced, never changed in place. */
interface SimObject {
  readonly bytes: Uint8Array;
  readonly lastModified: number;
}

/** Fault rates per request (a run picks its own). */
export interface SimRemoteFaults {
  readonly unavailable: number;
  readonly denied: number;
  readonly slow: number;
}

const DRIVER_EPOCH = 0;

const domError = (name: string, message: string) => new DOMException(message, name);

export class SimRemote implements RemoteStore {
  readonly location = 'sim-remote';
  readonly objects = new Map<string, SimObject>();
  /** Bumped by every write or delete that lands: the checker re-reads only a changed remote. */
  version = 0;
  /** Requests served, failed (for the report). */
  requests = 0;
  failures = 0;
  /** Workers that died: their requests still land, their answers are lost. */
  readonly dead = new Set<number>();
  /** Requests not answered yet (a continuous push may hold the live head meanwhile). */
  pending = 0;

  constructor(
    private readonly sched: SimScheduler,
    private readonly random: () => number,
    readonly faults: SimRemoteFaults,
  ) {}

  // --- The store as it is (RemoteStore, for the checker: no faults, no delays) -------------------

  async put(name: string, bytes: Uint8Array): Promise<void> {
    this.land(name, bytes);
  }
  async get(name: string): Promise<Uint8Array | undefined> {
    return this.objects.get(name)?.bytes;
  }
  async head(name: string): Promise<RemoteObjectInfo | undefined> {
    const o = this.objects.get(name);
    return o ? { name, size: o.bytes.byteLength, lastModified: o.lastModified } : undefined;
  }
  async delete(name: string): Promise<void> {
    if (this.objects.delete(name)) this.version++;
  }
  async list(prefix: string): Promise<RemoteObjectInfo[]> {
    return [...this.objects].filter(([n]) => n.startsWith(prefix)).map(([name, o]) => ({ name, size: o.bytes.byteLength, lastModified: o.lastModified }));
  }

  private land(name: string, bytes: Uint8Array): void {
    this.objects.set(name, { bytes: bytes.slice(), lastModified: this.sched.now });
    this.version++;
  }

  // --- The handle the worker sees -----------------------------------------------------------------

  /** The root folder as a FileSystemDirectoryHandle. */
  root(): FileSystemDirectoryHandle {
    return this.dir('') as unknown as FileSystemDirectoryHandle;
  }

  /**
   * Answers `body`'s value (or error) after a seeded delay, or a seeded failure. `landing` writes:
   * a failure may come before or after it lands.
   */
  private answer<T>(what: string, body: () => T, landing = false): Promise<T> {
    const epoch = currentEpoch() ?? DRIVER_EPOCH;
    this.requests++;
    this.pending++;
    const r = this.random();
    const f = this.faults;
    const fail = r < f.unavailable ? domError(this.random() < 0.5 ? 'InvalidStateError' : 'AbortError', `sim: ${what} failed`) : r < f.unavailable + f.denied ? domError('NotAllowedError', `sim: ${what} denied`) : undefined;
    const delay = this.random() < f.slow ? 2_000 + Math.floor(this.random() * 30_000) : Math.floor(this.random() * 40);
    const landsAnyway = fail !== undefined && landing && this.random() < 0.5;
    return new Promise<T>((resolve, reject) => {
      let outcome: { ok: true; value: T } | { ok: false; error: unknown } = { ok: false, error: fail };
      const run = () => {
        if (fail && !landsAnyway) return;
        try {
          const value = body();
          if (!fail) outcome = { ok: true, value };
        } catch (error) {
          outcome = { ok: false, error };
        }
      };
      const reply = () => {
        this.pending--;
        if (outcome.ok) resolve(outcome.value);
        else {
          if (outcome.error === fail) this.failures++;
          reject(outcome.error);
        }
      };
      // Timers of the server (the driver's epoch): an answer is the network's, not a timer of the
      // worker (a closed worker may still get answers to what it sent), but a dead worker gets none.
      const answer = () => {
        if (!this.dead.has(epoch)) reply();
        else this.pending--;
      };
      if (!landing) {
        this.sched.enter(DRIVER_EPOCH, () =>
          setTimeout(() => {
            run();
            answer();
          }, delay),
        );
        return;
      }
      // A write lands half-way (even when the worker that sent it dies meanwhile), then its answer travels back.
      const half = Math.floor(delay / 2);
      this.sched.enter(DRIVER_EPOCH, () =>
        setTimeout(() => {
          run();
          setTimeout(answer, delay - half);
        }, half),
      );
    });
  }

  private isDir(path: string): boolean {
    if (path === '') return true;
    const p = `${path}/`;
    for (const name of this.objects.keys()) if (name.startsWith(p)) return true;
    return this.dirs.has(path);
  }

  /** Folders created and not yet holding files (a folder on disk exists once created). */
  private readonly dirs = new Set<string>();

  private dir(path: string): object {
    const join = (leaf: string) => (path === '' ? leaf : `${path}/${leaf}`);
    const self = this;
    return {
      kind: 'directory',
      name: path === '' ? 'sim' : path.slice(path.lastIndexOf('/') + 1),
      getDirectoryHandle: (leaf: string, options?: { create?: boolean }) =>
        this.answer(`open folder ${join(leaf)}`, () => {
          const full = join(leaf);
          if (this.objects.has(full)) throw domError('TypeMismatchError', `${full} is a file`);
          if (!this.isDir(full)) {
            if (!options?.create) throw domError('NotFoundError', `${full} not found`);
            this.dirs.add(full);
          }
          return this.dir(full);
        }),
      getFileHandle: (leaf: string, options?: { create?: boolean }) =>
        this.answer(`open file ${join(leaf)}`, () => {
          const full = join(leaf);
          if (this.isDir(full) && !this.objects.has(full)) throw domError('TypeMismatchError', `${full} is a folder`);
          if (!this.objects.has(full) && !options?.create) throw domError('NotFoundError', `${full} not found`);
          return this.file(full);
        }),
      removeEntry: (leaf: string) =>
        this.answer(
          `delete ${join(leaf)}`,
          () => {
            const full = join(leaf);
            if (!this.objects.has(full)) throw domError('NotFoundError', `${full} not found`);
            this.objects.delete(full);
            this.version++;
          },
          true,
        ),
      async *[Symbol.asyncIterator]() {
        const names = await self.answer(`list ${path}`, () => {
          const p = path === '' ? '' : `${path}/`;
          const entries = new Map<string, 'file' | 'directory'>();
          for (const name of self.objects.keys()) {
            if (!name.startsWith(p)) continue;
            const rest = name.slice(p.length);
            const slash = rest.indexOf('/');
            entries.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? 'file' : 'directory');
          }
          return [...entries].sort((a, b) => (a[0] < b[0] ? -1 : 1));
        });
        for (const [leaf, kind] of names) yield [leaf, kind === 'file' ? self.file(join(leaf)) : self.dir(join(leaf))];
      },
    };
  }

  private file(full: string): object {
    return {
      kind: 'file',
      name: full.slice(full.lastIndexOf('/') + 1),
      getFile: () =>
        this.answer(`read ${full}`, () => {
          const o = this.objects.get(full);
          if (!o) throw domError('NotFoundError', `${full} not found`);
          const bytes = o.bytes;
          return { size: bytes.byteLength, lastModified: o.lastModified, arrayBuffer: () => Promise.resolve(bytes.slice().buffer) };
        }),
      createWritable: () =>
        this.answer(`open ${full} for writing`, () => {
          const parts: Uint8Array[] = [];
          return {
            write: (bytes: Uint8Array) => {
              parts.push(new Uint8Array(bytes).slice());
              return Promise.resolve();
            },
            // createWritable writes a swap file and replaces the target on close: the object lands whole.
            close: () =>
              this.answer(
                `store ${full}`,
                () => {
                  const size = parts.reduce((n, p) => n + p.byteLength, 0);
                  const all = new Uint8Array(size);
                  let at = 0;
                  for (const p of parts) {
                    all.set(p, at);
                    at += p.byteLength;
                  }
                  this.land(full, all);
                },
                true,
              ),
          };
        }),
    };
  }
}
