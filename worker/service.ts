/**
 * The worker's face: validates what the page sends, runs it, and returns a `Result` so the error
 * code survives Comlink (whose default error cloning keeps only name, message and stack).
 * Owns nothing but the wiring; the work happens in jobs/, engine/ and store/.
 */
import { ErrorCode, PagevaultError, errorToWire } from '../src/errors';
import { clearDeletion, wasDeleted } from '../src/vault-marker';
import type { BackupApi, ChangeEvent, HistoryApi, OpenOptions, RemoteApi, RemoteOptions, Result, RetentionApi, ScheduleApi, SqlParams, StorageReport, VaultInfo, WorkerApi } from '../src/protocol';
import { SqliteConnection, loadSqlite, stopSandbox } from './engine';
import { ChangeTracker } from './engine/change-tracker';
import { backupStatus, cancelBackup, createBackup, dropBackup, jobHistory, listBackups, waitBackup } from './jobs/backup';
import type { Clock } from './jobs/clock';
import { VaultContext } from './jobs/context';
import { LiveDatabase } from './jobs/live-database';
import { liveFile } from './jobs/live-export';
import { applyHistoryOption, backupAtTime, checkHistoryOption, downloadAtTime, isRestoreAt, listHistory, restoreAtTime } from './jobs/history';
import { downloadBackup, inspectBackup, uploadBackup } from './jobs/portable';
import { restoreBackup } from './jobs/restore';
import { applyRetention, loadPolicy, savePolicy } from './jobs/retention';
import { runScheduled } from './jobs/scheduled-run';
import { verifyBackup } from './jobs/verify';
import { acquireLock, type LockRequester } from './lock';
import * as remote from './remote';
import { VaultStore } from './store/vault-store';
import { LIVE_HEAD } from './store/schema';
import { checkName, checkParams, checkSql, optionalInteger } from './validate';

/** How long a forced close waits for aborted jobs to end before it lets go of the store regardless. */
const FORCED_STOP_MS = 5_000;

interface OpenVault {
  readonly name: string;
  readonly store: VaultStore;
  readonly live: LiveDatabase;
  /** What the jobs run over: the parts, the runner, the schedules, the write gate. */
  readonly context: VaultContext;
  /** The tables committed writes changed, for `onChange` listeners. */
  readonly changes: ChangeTracker;
  readonly release: () => void;
}

export interface ServiceOptions {
  /** Where the browser finds sql-wasm.wasm (the worker entry passes Vite's asset URL). */
  readonly defaultWasmUrl?: string;
  /** Time for schedules (tests inject one to move time instead of waiting); the system clock by default. */
  readonly clock?: Clock;
  /** The Web Locks that keep one owner per database (`navigator.locks` by default; none in Node, which has no other tab). */
  readonly locks?: LockRequester;
}

/** The origin's storage estimate and persistence; null where the platform does not say (Node, old browsers). */
async function storageFacts(): Promise<{ estimate: StorageEstimate | undefined; persisted: boolean | null }> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  const estimate = await storage?.estimate?.().catch(() => undefined);
  const persisted = await storage?.persisted?.().catch(() => null);
  return { estimate, persisted: persisted ?? null };
}

/** Wraps a method body so it resolves with a Result instead of throwing. */
async function result<T>(body: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (error) {
    return { ok: false, error: errorToWire(error) };
  }
}

/**
 * The worker's methods, one group per client namespace (see src/protocol.ts), and what the tab
 * layer asks besides (not exposed to the page).
 */
export type Service = WorkerApi & {
  /** True while a transaction (`BEGIN` without its end yet) is open on the live connection. */
  inTransaction(): boolean;
};

/** What a call needs: `write` refuses once the store stopped serving; `read` still works then. */
type Need = 'write' | 'read';

export function createService(serviceOptions: ServiceOptions = {}): Service {
  let vault: OpenVault | undefined;
  let opening: Promise<VaultInfo> | undefined;
  /** Set from the moment close() is called: every later call rejects with CLOSED. */
  let closing: Promise<void> | undefined;
  /** Set while a close is pending: a later `close({ force: true })` calls it to stop waiting for jobs. */
  let forceStop: (() => void) | undefined;
  const changeListeners = new Set<(event: ChangeEvent) => void>();

  const closed = () => new PagevaultError(ErrorCode.CLOSED, 'The vault is closed (or closing): open it again to use it.', {});
  const need = (mode: Need = 'write'): OpenVault => {
    if (!vault || closing !== undefined) throw closed();
    // The store stepped aside (a newer schema in another tab, or the browser cleared the site's
    // data): refuse what the live database could no longer save, with the store's reason; reads
    // and downloads of the in-memory database go on, so the app can offer a last-chance download.
    const stopped = vault.store.stoppedBy;
    if (stopped && mode === 'write') throw stopped;
    return vault;
  };

  const info = async (v: OpenVault): Promise<VaultInfo> => {
    const { estimate, persisted } = await storageFacts();
    const pageSize = v.live.conn.pageSize;
    const pageCount = v.live.conn.pageCount;
    return {
      name: v.name,
      pageSize,
      pageCount,
      sizeBytes: pageSize * pageCount,
      persisted,
      estimate: { usageBytes: estimate?.usage ?? null, quotaBytes: estimate?.quota ?? null },
      savedAt: v.live.savedAt,
      dirty: v.live.isDirty,
      saveError: v.live.saveError,
    };
  };

  const open = async (options: OpenOptions & { readonly wasmUrl?: string }, hadData?: () => boolean | Promise<boolean>): Promise<VaultInfo> => {
    const name = checkName(options?.name, 'name');
    const autosaveMs = optionalInteger(options.autosaveMs, 'autosaveMs', 0, 3_600_000) ?? 250;
    const lockTimeoutMs = optionalInteger(options.lockTimeoutMs, 'lockTimeoutMs', 0, 3_600_000) ?? 0;
    const history = checkHistoryOption(options.history);
    const sql = await loadSqlite(options.wasmUrl ?? serviceOptions.defaultWasmUrl);
    const release = await acquireLock(name, lockTimeoutMs, serviceOptions.locks);
    let store: VaultStore | undefined;
    try {
      store = await VaultStore.open(name);
      // Decided now that the lock is held: a deleteVault this open waited for has left its tombstone.
      const deleted = !store.head(LIVE_HEAD) && (await wasDeleted(name).catch(() => false));
      if (!store.head(LIVE_HEAD) && !deleted && (await hadData?.()) === true) {
        // The page opened this vault before, yet the store holds nothing: do not start empty silently.
        throw new PagevaultError(
          ErrorCode.STORAGE_LOST,
          `The data of vault "${name}" is gone: the browser cleared or evicted this site's storage. Restore a downloaded backup, or open with acceptLoss: true to start empty.`,
          { name },
        );
      }
      const clock = serviceOptions.clock;
      const live = await LiveDatabase.open(store, (image) => SqliteConnection.open(sql, image), autosaveMs, clock ? () => clock.now() : Date.now);
      const context = await VaultContext.start({ name, store, live, engine: sql, ...(serviceOptions.clock ? { clock: serviceOptions.clock } : {}) }, runScheduled);
      vault = { name, store, live, context, changes: new ChangeTracker(live.conn), release };
      await applyHistoryOption(context, history);
      if (!store.head(LIVE_HEAD)) await live.save();
      if (deleted) await clearDeletion(name).catch(() => undefined); // honoured once: a later loss is reported
      await store.collectGarbage();
      return info(vault);
    } catch (error) {
      vault = undefined;
      store?.close();
      release();
      throw error;
    }
  };

  /**
   * Closes the vault: from the first moment every other call rejects with CLOSED; an open
   * transaction is rolled back; everything committed before it is saved; then jobs stop and the
   * worker lets go of the store and the lock. When that save fails, close() rejects with its error
   * and the vault stays open (retry, or download the live database); `force` closes regardless.
   */
  const close = (options: { force?: unknown } = {}): Promise<void> => {
    const force = options?.force === true;
    if (closing !== undefined) {
      // A forced close does not wait behind a pending one: it stops waiting for running jobs.
      if (force) forceStop?.();
      return closing;
    }
    const v = vault;
    if (!v) return Promise.resolve();
    let stopWaiting = () => {};
    const forced = new Promise<void>((resolve) => (stopWaiting = resolve));
    forceStop = stopWaiting;
    const done = (async () => {
      await null; // `closing` is set before anything below runs
      try {
        v.live.conn.rollback();
        if (!v.store.stoppedBy) await v.live.save();
        else if (v.live.isDirty) throw v.store.stoppedBy;
      } catch (error) {
        if (!force) {
          closing = undefined;
          throw error;
        }
      }
      try {
        remote.closeRemotes(v.context);
        // Jobs are aborted and awaited; after a forced close (this one or a later call) a job that
        // has not answered its abort within FORCED_STOP_MS is no longer waited for.
        if (force) stopWaiting();
        await Promise.race([v.context.stop(), forced.then(() => new Promise<void>((resolve) => setTimeout(resolve, FORCED_STOP_MS)))]);
        v.live.stop();
        // A job that ended meanwhile (a table restore) saved its own work; this is a last check.
        if (v.live.isDirty && !v.store.stoppedBy && !force) await v.live.save();
      } finally {
        vault = undefined;
        stopSandbox(v.live.conn.engine);
        v.live.conn.close();
        await v.store.closeWhenIdle();
        v.release();
      }
    })();
    closing = done.finally(() => {
      if (forceStop === stopWaiting) forceStop = undefined;
      if (vault === undefined) closing = undefined;
    });
    closing.catch(() => undefined);
    return done;
  };

  const storage = async (): Promise<StorageReport> => {
    const v = need();
    const { estimate, persisted } = await storageFacts();
    const head = v.store.head(LIVE_HEAD);
    const liveKeys = new Set(head?.manifest.chunks ?? []);
    const backupKeys = new Set<string>();
    for (const b of v.store.listBackups()) for (const key of b.manifest.chunks) if (!liveKeys.has(key)) backupKeys.add(key);
    return {
      liveBytes: await v.store.storedBytes(liveKeys),
      backupBytes: await v.store.storedBytes(backupKeys),
      historyBytes: await v.store.historyBytes(),
      usageBytes: estimate?.usage ?? null,
      quotaBytes: estimate?.quota ?? null,
      persisted,
    };
  };

  /** Calls of `runSql` waiting at the write gate now. */
  let waitingAtGate = 0;
  /**
   * Runs SQL on the live connection once no restore is swapping it, then notes the write for the
   * autosave (`exec` always counts as a write; `query` only when it changed rows). `readNow`
   * answers a plain read during a swap that lets reads pass (undefined: not a plain read, wait).
   */
  const runSql = async <T>(sql: unknown, params: unknown, body: (v: OpenVault, beforeWrite: () => void) => T, isExec: boolean, readNow?: (v: OpenVault) => T | undefined): Promise<T> => {
    const v = need(isExec ? 'write' : 'read');
    checkSql(sql);
    checkParams(params);
    // A restore swapping the live database answers plain reads meanwhile (they change nothing),
    // unless a call sent before waits at the gate: a read must not overtake it.
    if (readNow && waitingAtGate === 0 && v.context.readsMayPass() && !v.store.stoppedBy) {
      const rows = readNow(v);
      if (rows !== undefined) return rows;
    }
    waitingAtGate++;
    try {
      await v.context.writeGate();
    } finally {
      waitingAtGate--;
    }
    // close() may have begun while this call waited: it was not served, so it is not lost.
    if (closing !== undefined || vault !== v) throw closed();
    const stopped = v.store.stoppedBy;
    if (stopped) {
      if (isExec) throw stopped;
      // The store is gone: reads only, so nothing is acknowledged that could not be saved. A
      // statement SQLite compiles to a write is refused before it runs.
      return body(v, () => {
        throw stopped;
      });
    }
    let wrote = isExec;
    v.changes.before();
    try {
      return body(v, () => {
        wrote = true;
      });
    } finally {
      if (wrote) v.live.noteWrite();
      const change = v.changes.after();
      // A listener whose page went away rejects; it is simply not called again.
      if (change) for (const listener of changeListeners) Promise.resolve(listener(change)).catch(() => undefined);
    }
  };

  return {
    open: (options, hadData) =>
      result(() => {
        if (vault || opening) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'This worker already serves a vault; start one worker per database.', {});
        opening = open(options, hadData).finally(() => (opening = undefined));
        return opening;
      }),
    exec: (sql: string, params?: SqlParams) => result(() => runSql(sql, params, (v) => v.live.conn.exec(sql, params), true)),
    query: (sql: string, params?: SqlParams) =>
      result(() =>
        runSql(
          sql,
          params,
          (v, beforeWrite) => v.live.conn.query(sql, params, beforeWrite),
          false,
          (v) => v.live.conn.queryIfReading(sql, params),
        ),
      ),
    flush: () => result(() => need().live.save()),
    inTransaction: () => vault !== undefined && closing === undefined && vault.live.conn.inTransaction(),
    info: () => result(() => info(need('read'))),
    storage: () => result(storage),
    close: (options) => result(() => close(options ?? {})),
    download: (options) => result(() => {
      const v = need('read');
      return options?.at !== undefined ? downloadAtTime(v.context, options) : liveFile(v.name, v.live.conn, options ?? {});
    }),
    onSaveError: (listener) =>
      result(() => {
        if (typeof listener !== 'function') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'onSaveError takes a function.', {});
        need('read').live.onSaveError((event) => {
          // A listener whose page went away rejects; it is simply not called again.
          Promise.resolve(listener(event)).catch(() => undefined);
        });
      }),
    onChange: (listener) =>
      result(() => {
        if (typeof listener !== 'function') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'onChange takes a function.', {});
        need('read');
        changeListeners.add(listener);
      }),
    ...bindBackup(need),
    ...bindRetention(need),
    ...bindSchedule(need),
    ...bindHistory(need),
    ...bindRemote(need),
  };
}

/** `vault.backup.*`: each verb one call into its job module, over the open vault's context. */
function bindBackup(need: () => OpenVault): BackupApi {
  const context = () => need().context;
  return {
    backupCreate: (options, onProgress) => result(() => (options?.at !== undefined ? backupAtTime(context(), options, onProgress) : createBackup(context(), options ?? {}, onProgress))),
    backupStatus: (backupId) => result(() => backupStatus(context(), backupId)),
    backupWait: (backupId) => result(() => waitBackup(context(), backupId)),
    backupCancel: (backupId) => result(() => cancelBackup(context(), backupId)),
    backupList: () => result(() => listBackups(context())),
    backupHistory: () => result(() => jobHistory(context())),
    backupDrop: (backupId) => result(() => dropBackup(context(), backupId)),
    backupRestore: (options) =>
      result(() =>
        isRestoreAt(options) ? restoreAtTime(context(), options) : options?.from === undefined ? restoreBackup(context(), options) : remote.restoreFromRemote(context(), options),
      ),
    backupDownload: (backupId, options) => result(() => downloadBackup(context(), backupId, options ?? {})),
    backupUpload: (blob, options) => result(() => uploadBackup(context(), blob, options ?? {})),
    backupInspect: (target, options) => result(() => inspectBackup(context(), target, options ?? {})),
    backupVerify: (backupId) => result(() => verifyBackup(context(), backupId)),
  };
}

/** `vault.retention.*`. */
function bindRetention(need: () => OpenVault): RetentionApi {
  const context = () => need().context;
  return {
    retentionSet: (policy) => result(() => savePolicy(context(), policy)),
    retentionGet: () => result(() => loadPolicy(context())),
    retentionApply: (options) => result(() => applyRetention(context(), options ?? {})),
  };
}

/** `vault.schedule.*`: the context's scheduler. */
function bindSchedule(need: () => OpenVault): ScheduleApi {
  const schedules = () => need().context.schedules;
  return {
    scheduleSet: (spec, options) => result(() => schedules().set(spec, options)),
    scheduleList: () => result(() => schedules().list()),
    scheduleRemove: (id) => result(() => schedules().remove(id)),
  };
}

/** `vault.history.*`: time travel (restores, backups and downloads by time go through the `at` of those verbs). */
function bindHistory(need: () => OpenVault): HistoryApi {
  const context = () => need().context;
  return {
    historyList: (options) => result(() => listHistory(context(), options ?? {})),
  };
}

/** `vault.remote.*`: worker/remote/, one call per verb. */
function bindRemote(need: () => OpenVault): RemoteApi {
  const context = () => need().context;
  return {
    remoteAdd: (name, options, sign, getHeaders) => result(() => remote.addRemoteReplicating(context(), name, { ...options, ...(sign ? { sign } : {}), ...(getHeaders ? { getHeaders } : {}) } as RemoteOptions)),
    remoteRemove: (name) => result(() => remote.removeRemote(context(), String(name))),
    remotePush: (name, options, onProgress) => result(() => remote.pushBackup(context(), name, options ?? {}, onProgress)),
    remoteCancel: (name) => result(() => remote.cancelPushes(context(), name)),
    remoteList: (name) => result(() => remote.listRemote(context(), name)),
    remotePull: (name, backupId, onProgress) => result(() => remote.pullBackup(context(), name, backupId, onProgress)),
    remoteDrop: (name, backupId) => result(() => remote.dropRemote(context(), name, backupId)),
    remoteApplyRetention: (name, policy, options) => result(() => remote.applyRemoteRetention(context(), name, policy, options ?? {})),
    remoteRestoreLatest: (name, options) => result(() => remote.restoreLatest(context(), name, options ?? {})),
  };
}
