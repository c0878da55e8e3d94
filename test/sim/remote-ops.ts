/**
 * Remote replication in the simulation (issue 16): some seeds add a simulated remote
 * (./sim-remote-store.ts) through the public `remote.add` after each open (sometimes with
 * continuous replication), and the workload pushes (the newest backup or one by id, sometimes
 * cancelled), lists, pulls, drops, applies retention with collection, and restores `{ from }`
 * (over the live database, or into another name); kills land mid-push like anywhere else.
 *
 * Invariant (`remote:lists-unrestorable-backup`): after every step that changed the remote, every
 * backup manifest on it names only chunk objects that are present and intact (read through the
 * store directly, each chunk decoded and checked against its key); and now and then a listed
 * backup is actually restored from the remote into another name.
 */
import { chunkRefs, RemotePath } from '../../src/format/remote-layout';
import { RemoteRepository } from '../../src/remote/repository';
import type { RemoteBackupInfo } from '../../src/protocol';
import { prng } from '../../bench/generate';
import { SimRemote } from './sim-remote-store';
import type { World } from './world';

const NAME = 'sim';
const DRIVER_EPOCH = 0;

export class RemoteOps {
  readonly remote: SimRemote;
  private added = false;
  private adding = false;
  private readonly continuousMs: number | undefined;
  private listed: string[] = [];
  private checkedVersion = -1;
  /** Chunk objects already decoded intact (objects are replaced, never changed in place). */
  private readonly intact = new WeakSet<Uint8Array>();
  private restoreCheckBusy = false;
  stats = { pushes: 0, pushed: 0, pulls: 0, drops: 0, retentions: 0, restores: 0, checks: 0 };

  constructor(private readonly world: World) {
    const faulty = world.chance(0.7);
    this.remote = new SimRemote(world.sched, prng(world.seed ^ 0x6a09e667), {
      unavailable: faulty ? 0.02 + world.sched.choice() * 0.06 : 0,
      denied: faulty ? 0.004 : 0,
      slow: faulty ? 0.05 : 0.01,
    });
    this.continuousMs = world.chance(0.3) ? 500 + Math.floor(world.sched.choice() * 3000) : undefined;
  }

  get intoName(): string {
    return `${this.world.name}-from`;
  }

  /** A new worker opened: its remotes are gone (remotes are per open). */
  opened(): void {
    this.added = false;
    this.adding = false;
    this.add();
  }

  private add(): void {
    if (this.added || this.adding) return;
    const w = this.world;
    const epoch = w.worker.epoch;
    this.adding = true;
    const options = { kind: 'directory' as const, handle: this.remote.root(), ...(this.continuousMs === undefined ? {} : { continuousMs: this.continuousMs }) };
    w.issue('remote add', w.worker.call((s) => s.remoteAdd(NAME, options)), (o) => {
      if (w.worker.epoch !== epoch) return;
      this.adding = false;
      this.added = o.ok;
    });
  }

  /** The worker of `epoch` died (its requests on the wire still land). */
  killed(epoch: number): void {
    this.remote.dead.add(epoch);
  }

  /** One random remote call. */
  act(): void {
    const w = this.world;
    if (!this.added) {
      this.add();
      return;
    }
    const call = w.worker.call.bind(w.worker);
    const r = w.sched.choice();
    if (r < 0.35) {
      const local = [...w.model.backups.values()];
      const byId = w.chance(0.4) ? w.pick(local) : undefined;
      this.stats.pushes++;
      w.issue(`remote push${byId ? ` ${byId.id}` : ''}`, call((s) => s.remotePush(NAME, byId ? { backupId: byId.id } : {})), (o) => {
        if (o.ok) this.stats.pushed++;
      });
      if (w.chance(0.2)) {
        const epoch = w.worker.epoch;
        w.deferred.push({ epoch, step: w.step + Math.floor(w.sched.choice() * 3), run: () => w.issue('remote cancel', call((s) => s.remoteCancel(NAME))) });
      }
      return;
    }
    if (r < 0.5) {
      w.issue('remote list', call((s) => s.remoteList(NAME)), (o) => {
        if (o.ok) this.listed = (o.value as RemoteBackupInfo[]).map((b) => b.backupId);
      });
      return;
    }
    const id = w.pick(this.listed);
    if (r < 0.6) {
      if (!id) return;
      this.stats.pulls++;
      w.issue(`remote pull ${id}`, call((s) => s.remotePull(NAME, id)));
      return;
    }
    if (r < 0.7) {
      if (!id) return;
      this.stats.drops++;
      w.issue(`remote drop ${id}`, call((s) => s.remoteDrop(NAME, id)));
      return;
    }
    if (r < 0.82) {
      const keepLast = 1 + Math.floor(w.sched.choice() * 3);
      const graceMs = w.chance(0.5) ? undefined : 60_000;
      this.stats.retentions++;
      w.issue(`remote retention keepLast ${keepLast} grace ${graceMs ?? 'default'}`, call((s) => s.remoteApplyRetention(NAME, { keepLast }, graceMs === undefined ? {} : { graceMs })));
      return;
    }
    if (!id) return;
    this.stats.restores++;
    const m = w.model;
    if (w.chance(0.6)) {
      w.issue(`restore ${id} from remote into`, call((s) => s.backupRestore({ backupId: id, from: NAME, into: this.intoName })));
      return;
    }
    m.restoreStarted();
    w.issue(`restore ${id} from remote`, call((s) => s.backupRestore({ backupId: id, from: NAME })), (o) => {
      m.restoreEnded();
      if (o.ok) m.restored(undefined, false, w.opSeq);
    });
  }

  /**
   * Lets continuous replication finish what it started before a checkpoint reads the disk: a push
   * holds the live head's chunks in memory while it runs (a save meanwhile leaves the replaced
   * head's chunks owned by that hold alone, which the disk check would count as orphans). Waits in
   * virtual time until two waits in a row saw no remote request in flight and no remote change.
   */
  async quiesce(): Promise<void> {
    if (this.continuousMs === undefined || !this.added) return;
    const w = this.world;
    const wait = this.continuousMs + 1_000;
    let quiet = 0;
    for (let i = 0; i < 40 && quiet < 2; i++) {
      const version = this.remote.version;
      await w.settle(w.sched.enter(DRIVER_EPOCH, () => new Promise<void>((resolve) => setTimeout(resolve, wait))), 'continuous replication idle');
      quiet = this.remote.pending === 0 && this.remote.version === version ? quiet + 1 : 0;
    }
  }

  /**
   * After a step: when the remote changed, every manifest on it names only chunks present and
   * intact (read directly, without faults). At checkpoints (`restore`), a listed backup is also
   * restored from the remote into another name, through the worker.
   */
  async check(restore = false): Promise<void> {
    const w = this.world;
    if (this.remote.version !== this.checkedVersion) {
      this.checkedVersion = this.remote.version;
      this.stats.checks++;
      const problem = await w.settle(w.sched.enter(DRIVER_EPOCH, () => this.unrestorable()), 'check remote');
      if (problem) w.fail('remote:lists-unrestorable-backup', problem);
    }
    if (!restore || !this.added || this.restoreCheckBusy) return;
    const repo = await w.settle(w.sched.enter(DRIVER_EPOCH, () => RemoteRepository.open(this.remote)), 'open remote');
    const listed = await w.settle(w.sched.enter(DRIVER_EPOCH, () => repo.listManifests()), 'list remote');
    const pick = w.pick(listed);
    if (!pick) return;
    const id = pick.manifest.backupId;
    const restored = await w.settle(w.worker.call((s) => s.backupRestore({ backupId: id, from: NAME, into: this.intoName })), 'restore from remote');
    // The remote itself may refuse (seeded faults) or the backup may be gone meanwhile (retention).
    if (!restored.ok && !['REMOTE_UNAVAILABLE', 'REMOTE_DENIED', 'NOT_FOUND', 'BUSY', 'LOCKED'].includes(restored.code)) {
      w.fail('remote:listed-backup-restore-fails', `${id}: ${restored.code}`);
    }
  }

  /** The first manifest naming a missing or damaged chunk object, described; undefined when none. */
  private async unrestorable(): Promise<string | undefined> {
    const repo = await RemoteRepository.open(this.remote);
    for (const prefix of [RemotePath.backups, RemotePath.heads]) {
      const listed = repo.canList ? await repo.listManifests(undefined, prefix) : [];
      for (const { name, manifest } of listed) {
        for (const ref of chunkRefs(manifest)) {
          const object = await repo.layout.chunkName(ref.key);
          const bytes = this.remote.objects.get(object)?.bytes;
          if (!bytes) return `${name} names ${object}, which is not on the remote`;
          if (this.intact.has(bytes)) continue;
          try {
            await repo.getChunk(ref);
            this.intact.add(bytes);
          } catch (error) {
            return `${name}: chunk ${object} fails its check (${String(error)})`;
          }
        }
      }
    }
    return undefined;
  }
}
