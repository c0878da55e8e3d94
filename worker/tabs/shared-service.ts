/**
 * Lets every tab of an origin use one vault (README "Several tabs"). Wraps the service at the
 * Comlink boundary: the worker that gets the vault's Web Lock owns the database and serves the
 * other tabs' workers over the BroadcastChannel `pagevault:<name>`; a worker that finds the lock
 * held becomes a follower that forwards every call there and waits in the lock's queue meanwhile.
 * When the owner ends (close, reload, crash: the browser releases its lock), the first follower in
 * the queue gets the lock, opens the saved state and serves: it runs the calls that waited and
 * rejects with INTERRUPTED those the old owner never answered.
 *
 * The service itself knows nothing of tabs: it sees one page (its own tab's) plus calls that come in.
 */
import { ErrorCode, PagevaultError, errorToWire } from '../../src/errors';
import type { ChangeEvent, OpenOptions, Progress, Result, SaveErrorEvent, VaultInfo, WorkerApi } from '../../src/protocol';
import type { LockRequester } from '../lock';
import type { Service } from '../service';
import { Follower, type LocalRunner, type Replayed } from './follower';
import { OwnerServer } from './owner-server';
import { TransactionGate, tabLockName } from './transaction-gate';
import { CHANNEL_PREFIX, closable, type CallOptions, type Channel, type ForwardedVerb, type WireMessage, workerId } from './wire';
import { catalogEffect } from './catalog-events';

/** Every verb a follower forwards (the type makes the list complete). */
const FORWARDED: Record<ForwardedVerb, true> = {
  exec: true,
  query: true,
  flush: true,
  info: true,
  storage: true,
  download: true,
  backupCreate: true,
  backupStatus: true,
  backupWait: true,
  backupCancel: true,
  backupList: true,
  backupHistory: true,
  backupDrop: true,
  backupRestore: true,
  backupDownload: true,
  backupUpload: true,
  backupInspect: true,
  backupVerify: true,
  retentionSet: true,
  retentionGet: true,
  retentionApply: true,
  scheduleSet: true,
  scheduleList: true,
  scheduleRemove: true,
  historyList: true,
  remoteAdd: true,
  remoteRemove: true,
  remotePush: true,
  remoteCancel: true,
  remoteList: true,
  remotePull: true,
  remoteDrop: true,
  remoteApplyRetention: true,
  remoteRestoreLatest: true,
};

/** Verbs whose last parameter (of this many) is a progress listener. */
const PROGRESS_LAST: ReadonlyMap<ForwardedVerb, number> = new Map<ForwardedVerb, number>([
  ['backupCreate', 2],
  ['remotePush', 3],
  ['remotePull', 3],
]);

/** How long a follower waits for the owner to answer (or the lock) before its open is LOCKED. */
const MIN_OWNER_WAIT_MS = 30_000;
/** The longest lock wait the service accepts; a follower waits again after it. */
const LOCK_QUEUE_MS = 3_600_000;

type Role = 'none' | 'owner' | 'follower' | 'closed';

const failure = (error: unknown): Result<never> => ({ ok: false, error: errorToWire(error) });

/** The calls whose SQL runs on the one connection: tied to the tab that holds a transaction. */
/**
 * The verbs that run one at a time through the transaction gate. A plain `flush` is not among them:
 * it opens no transaction and answers BUSY while one is open, so it need not hold other tabs' reads
 * for the whole save (a durable write's own save still runs inside its gated call). Like in one
 * tab, a flush covers the writes acknowledged before it was called.
 */
const SQL_VERBS: ReadonlySet<ForwardedVerb> = new Set(['exec', 'query']);

/** How long a closing owner waits for the calls it accepted to end before it answers them INTERRUPTED. */
const DRAIN_MS = 2_000;

/**
 * Broadcasts to the listeners of this tab. A listener that fails (a bug in one UI component) is
 * called again next time: the listeners are this tab's own page, which ends with this worker.
 */
function dispatch<E>(listeners: Set<(event: E) => void>, event: E): void {
  for (const listener of listeners) Promise.resolve(listener(event)).catch(() => undefined);
}

/**
 * Wraps `service` so that any number of tabs can open the same vault.
 * @param openChannel the channel for a vault name (BroadcastChannel by default).
 * @param locks the Web Locks that tell the owner a tab died (`navigator.locks` by default).
 */
export function shareService(
  service: WorkerApi & Partial<Pick<Service, 'inTransaction'>>,
  openChannel: (name: string) => Channel = (name) => new BroadcastChannel(CHANNEL_PREFIX + name),
  locks: LockRequester | undefined = (globalThis.navigator as Navigator | undefined)?.locks,
): WorkerApi {
  const self = workerId();
  let role: Role = 'none';
  let channel: Channel | undefined;
  let server: OwnerServer | undefined;
  let follower: Follower | undefined;
  let durable = false;
  let gate: TransactionGate | undefined;
  /** Lets go of this tab's per-tab lock (held while the vault is open here). */
  let releaseTabLock: (() => void) | undefined;
  /** The remotes this tab added (without callbacks), by name: made again at each new owner. */
  const remotes = new Map<string, readonly unknown[]>();
  const replays = (): Replayed[] => [...remotes.values()].map((args) => ({ verb: 'remoteAdd', args }));
  const changeListeners = new Set<(event: ChangeEvent) => void>();
  const saveErrorListeners = new Set<(event: SaveErrorEvent) => void>();

  const emitChange = (event: ChangeEvent) => {
    dispatch(changeListeners, event);
    channel?.postMessage({ t: 'change', event });
  };

  /** The owner runs a call (its own tab's or a forwarded one, from tab `caller`), then what follows from it. */
  const runLocal: LocalRunner = (verb, args, options, onProgress, caller = self) => {
    const sqlGate = gate;
    return SQL_VERBS.has(verb) && sqlGate ? sqlGate.run(caller, () => runCall(verb, args, options, onProgress, caller, sqlGate)) : runCall(verb, args, options, onProgress, caller, undefined);
  };

  const runCall = async (verb: ForwardedVerb, args: readonly unknown[], options: CallOptions, onProgress: ((progress: Progress) => void) | undefined, caller: string, sqlGate: TransactionGate | undefined): Promise<Result<unknown>> => {
    const method = service[verb] as (...params: unknown[]) => Promise<Result<unknown>>;
    const params = PROGRESS_LAST.has(verb) && onProgress ? [...args, onProgress] : [...args];
    const result = await method(...params);
    // Which tab holds a transaction now (a failed statement may have left one open too).
    if (verb !== 'flush') sqlGate?.note(caller);
    if (!result.ok) return result;
    catalogEffect(service, verb, args, result.value, emitChange);
    // Inside its own tab's transaction a durable write is acknowledged at the COMMIT, by the COMMIT's own save.
    if (options.durable && (verb === 'exec' || verb === 'query') && !sqlGate?.holds(caller)) {
      // Acknowledge only once saved. BUSY without a gate (no tab layer): a transaction is still open.
      const saved = await service.flush();
      if (!saved.ok && saved.error.code === ErrorCode.CLOSED) {
        // The write ran, then the vault began to close: its final save decides. Not CLOSED (that
        // would make the follower send the write again): the caller checks, then retries.
        return failure(new PagevaultError(ErrorCode.INTERRUPTED, 'The owner tab closed the vault right after this write; check whether it was saved, then retry.', {}));
      }
      if (!saved.ok && (sqlGate !== undefined || saved.error.code !== ErrorCode.BUSY)) return saved;
    }
    return result;
  };

  const onMessage = (event: MessageEvent) => {
    const message = event.data as WireMessage;
    if (message.t === 'change') dispatch(changeListeners, message.event);
    else if (message.t === 'save-error') dispatch(saveErrorListeners, message.event);
    else if (role === 'owner') server?.handle(message);
    else if (role === 'follower') follower?.handle(message);
  };

  const connect = (name: string): Channel => {
    channel ??= closable(openChannel(name));
    channel.onmessage = onMessage;
    return channel;
  };

  /** This worker holds the lock and the open vault: serve. */
  const becomeOwner = async (name: string, exclusive: boolean): Promise<void> => {
    const ch = connect(name);
    role = 'owner';
    gate = new TransactionGate(name, self, () => service.inTransaction?.() ?? false, () => service.exec('ROLLBACK'), locks);
    server = new OwnerServer(ch, self, exclusive, runLocal);
    await service.onChange(emitChange);
    await service.onSaveError((event) => {
      dispatch(saveErrorListeners, event);
      ch.postMessage({ t: 'save-error', event });
    });
    const waiting = follower;
    follower = undefined;
    // The remotes this tab added lived in the old owner's memory: add them here before anything runs.
    for (const args of remotes.values()) await (service.remoteAdd as (...params: unknown[]) => Promise<Result<unknown>>)(...args);
    // Before the announcement: calls the old owner never answered are INTERRUPTED, not resent.
    waiting?.takeOver(runLocal);
    server.announce();
    if (waiting) {
      // The saved state opened here may be older than what the tabs last saw (writes the old owner
      // acknowledged but never saved), and the old owner's jobs ended: every tab refreshes.
      emitChange({ kind: 'data', tables: [], all: true });
      emitChange({ kind: 'catalog' });
    }
  };

  /** Holds this tab's per-tab lock while the vault is open here: the owner learns of this tab's end when it is granted. */
  const holdTabLock = (name: string): void => {
    if (!locks || releaseTabLock) return;
    const held = new Promise<void>((resolve) => (releaseTabLock = resolve));
    locks.request(tabLockName(name, self), { mode: 'exclusive' }, () => held).catch(() => undefined);
  };

  /** Waits in the lock's queue; on getting it, this worker opens the saved state and owns the vault. */
  const queueForLock = async (options: OpenOptions, hadData: (() => boolean | Promise<boolean>) | undefined): Promise<Result<VaultInfo> | undefined> => {
    for (;;) {
      const opened = await service.open({ ...options, lockTimeoutMs: LOCK_QUEUE_MS }, hadData);
      if (role !== 'follower') {
        // This tab's vault closed meanwhile: let the lock go to the next tab.
        if (opened.ok) await service.close({});
        return undefined;
      }
      if (opened.ok) {
        await becomeOwner(options.name, false);
        return opened;
      }
      if (opened.error.code !== ErrorCode.LOCKED) return opened;
    }
  };

  const openShared = async (options: OpenOptions, hadData?: () => boolean | Promise<boolean>): Promise<Result<VaultInfo>> => {
    const first = await service.open({ ...options, lockTimeoutMs: 0 }, hadData);
    if (first.ok) await becomeOwner(options.name, false);
    if (first.ok || first.error.code !== ErrorCode.LOCKED) return first;
    role = 'follower';
    holdTabLock(options.name); // before any call is forwarded
    const ch = connect(options.name);
    const joined = new Follower(ch, self, options.lockTimeoutMs ?? 0, replays);
    follower = joined;
    const tookLock = queueForLock(options, hadData);
    void tookLock.then((opened) => {
      // The lock came, but the saved state did not open (CORRUPT, STORAGE...): nobody can serve here.
      if (opened && !opened.ok && role === 'follower') {
        role = 'closed';
        joined.close(opened);
      }
    });
    const waitMs = Math.max(options.lockTimeoutMs ?? 0, MIN_OWNER_WAIT_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      joined.findOwner().then((owner) => ({ kind: 'owner' as const, exclusive: owner.exclusive })),
      tookLock.then((opened) => ({ kind: 'lock' as const, opened })),
      new Promise<{ kind: 'timeout' }>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), waitMs))),
    ]);
    clearTimeout(timer);
    if (outcome.kind === 'lock') {
      if (outcome.opened?.ok) return outcome.opened;
      role = 'closed';
      return outcome.opened ?? failure(new PagevaultError(ErrorCode.CLOSED, 'The vault was closed while it opened.', {}));
    }
    if (outcome.kind === 'owner' && !outcome.exclusive) {
      // The owner answers for the vault; an owner that ends meanwhile leaves the call to the next one.
      for (let attempt = 0; ; attempt++) {
        const info = (await route('info', [])) as Result<VaultInfo>;
        if (info.ok || info.error.code !== ErrorCode.INTERRUPTED || attempt >= 3) return info;
      }
    }
    // An exclusive owner (or none that answers): wait for the lock as long as asked, like an exclusive open.
    const deadline = outcome.kind === 'owner' ? (options.lockTimeoutMs ?? 0) : 0;
    const late = await Promise.race([tookLock, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), deadline))]);
    if (late !== 'late' && late?.ok) return late;
    role = 'closed';
    joined.close();
    return failure(
      new PagevaultError(ErrorCode.LOCKED, `The database "${options.name}" is open in another tab that does not share it (exclusive). Close it there, or open with a longer lockTimeoutMs.`, {
        name: options.name,
      }),
    );
  };

  /** Notes the remotes this tab adds or removes, to make them again at a new owner. */
  const remember = async (verb: ForwardedVerb, args: readonly unknown[], pending: Promise<Result<unknown>>): Promise<Result<unknown>> => {
    const done = await pending;
    const remote = String(args[0]);
    if (done.ok && verb === 'remoteAdd' && !args.some((arg) => typeof arg === 'function')) remotes.set(remote, args.slice(0, 2));
    else if (done.ok && verb === 'remoteAdd') remotes.delete(remote); // a callback cannot travel: not made again
    if (done.ok && verb === 'remoteRemove') remotes.delete(remote);
    return done;
  };

  /** Runs a call here (owner) or at the owner (follower). */
  const route = (verb: ForwardedVerb, args: readonly unknown[], onProgress?: (progress: Progress) => void): Promise<Result<unknown>> => {
    const options: CallOptions = { durable, progress: onProgress !== undefined };
    if (role === 'follower' && follower) {
      // Functions cannot cross the channel (a remote's `sign`/`getHeaders`): only the owner's own tab can pass them.
      if (args.some((arg) => typeof arg === 'function')) {
        return Promise.resolve(
          failure(new PagevaultError(ErrorCode.UNSUPPORTED_FEATURE, `${verb} with a callback runs only in the tab that owns the vault; from this tab pass plain options (credentials or headers).`, { verb })),
        );
      }
      return remember(verb, args, follower.call(verb, args, options, onProgress));
    }
    if (role === 'owner') return remember(verb, args, runLocal(verb, args, options, onProgress));
    // Not open (or closed): the service says so with its own code.
    return (service[verb] as (...params: unknown[]) => Promise<Result<unknown>>)(...args);
  };

  const api: Record<string, unknown> = {};
  for (const verb of Object.keys(FORWARDED) as ForwardedVerb[]) {
    api[verb] = PROGRESS_LAST.has(verb)
      ? (...args: unknown[]) => {
          // The progress listener is the verb's last parameter: it travels as progress events, not as an argument.
          const arity = PROGRESS_LAST.get(verb) ?? 0;
          const onProgress = args[arity - 1];
          const plain = args.slice(0, arity - 1);
          return typeof onProgress === 'function' ? route(verb, plain, onProgress as (progress: Progress) => void) : route(verb, plain);
        }
      : (...args: unknown[]) => route(verb, args);
  }
  const shared: Pick<WorkerApi, 'open' | 'close' | 'onChange' | 'onSaveError'> = {
    open: async (options, hadData) => {
      if (role !== 'none') return service.open(options, hadData); // the service refuses a second open
      const durability = options?.durability;
      if (durability !== undefined && durability !== 'memory' && durability !== 'commit') {
        return failure(new PagevaultError(ErrorCode.INVALID_ARGUMENT, `durability must be 'memory' or 'commit', not ${JSON.stringify(durability)}.`, {}));
      }
      durable = durability === 'commit';
      if (options?.exclusive === true || typeof options?.name !== 'string') {
        const opened = await service.open(options, hadData);
        if (opened.ok) await becomeOwner(options.name, true);
        return opened;
      }
      return openShared(options, hadData);
    },
    close: async (options) => {
      if (role === 'follower' || role === 'closed') {
        role = 'closed';
        follower?.close();
        channel?.close();
        releaseTabLock?.(); // the owner rolls back a transaction this tab left open
        return { ok: true, value: undefined };
      }
      server?.refuse();
      const closing = service.close(options);
      // The close rolls back any tab's transaction; calls waiting for it go on (and meet CLOSED).
      gate?.reset();
      const closed = await closing;
      if (!closed.ok) {
        server?.announce(); // the final save failed: the vault stays open, and so does the service to other tabs
        return closed;
      }
      if (role === 'owner' && server) {
        await server.drain(DRAIN_MS);
        server.gone();
      }
      role = 'closed';
      channel?.close();
      releaseTabLock?.();
      return closed;
    },
    onChange: async (listener) => {
      if (typeof listener !== 'function') return failure(new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'onChange takes a function.', {}));
      changeListeners.add(listener);
      return { ok: true, value: undefined };
    },
    onSaveError: async (listener) => {
      if (typeof listener !== 'function') return failure(new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'onSaveError takes a function.', {}));
      saveErrorListeners.add(listener);
      return { ok: true, value: undefined };
    },
  };
  return { ...(api as Omit<WorkerApi, keyof typeof shared>), ...shared };
}
