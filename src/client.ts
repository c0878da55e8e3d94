/**
 * The page's side: `openVault()` starts a worker for one database and returns a typed client.
 * The main thread does no SQLite, hashing or compression work; it only sends messages.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { ErrorCode, PagevaultError, errorFromWire, isPagevaultError } from './errors';
import { spawnWorker } from './spawn-worker';
import { hadData, rememberData } from './vault-marker';
import type {
  CancelStatus,
  ChangeEvent,
  BackupInfo,
  BackupStatus,
  CreateBackupOptions,
  DownloadOptions,
  ExecResult,
  HistoryListOptions,
  HistoryPoint,
  InspectResult,
  JobRecord,
  LiveDownloadOptions,
  OpenOptions,
  Progress,
  PushResult,
  RemoteBackupInfo,
  RemoteInfo,
  RemoteOptions,
  RemoteRetentionOptions,
  RemoteSigner,
  HttpRemoteOptions,
  RestoreLatestOptions,
  RestoreLatestResult,
  RemoteRetentionResult,
  RestoreOptions,
  RestoreResult,
  Result,
  RetentionPolicy,
  RetentionResult,
  Row,
  SaveErrorEvent,
  SaveResult,
  ScheduleInfo,
  ScheduleOptions,
  ScheduleSpec,
  SqlParams,
  StorageReport,
  UploadOptions,
  VaultInfo,
  VerifyReport,
  WorkerApi,
} from './protocol';

export interface OpenVaultOptions extends OpenOptions {
  /**
   * Where the worker fetches `sql-wasm.wasm`. By default the worker finds the copy emitted beside
   * it by your bundler; set this when assets are served from elsewhere.
   */
  readonly wasmUrl?: string;
  /** A worker you constructed yourself (e.g. under a strict Content-Security-Policy). */
  readonly worker?: Worker;
}

export interface CreateBackupRequest extends CreateBackupOptions {
  /** Called (at most every 100 ms, and once at the end) with the job's progress. */
  readonly onProgress?: (progress: Progress) => void;
}

/** The backup catalog of a vault. */
export interface BackupClient {
  /** Starts a backup job and returns its id at once. @throws INVALID_ARGUMENT, CLOSED */
  create(options?: CreateBackupRequest): Promise<{ backupId: string }>;
  /** State and progress of a backup job. @throws NOT_FOUND */
  status(backupId: string): Promise<BackupStatus>;
  /** Resolves when the backup succeeds; throws with the job's code (`CANCELLED`, `QUOTA_EXCEEDED`...) otherwise. */
  wait(backupId: string): Promise<BackupInfo>;
  /** Cancels a queued or running backup. @throws NOT_FOUND */
  cancel(backupId: string): Promise<{ status: CancelStatus }>;
  /** Completed backups, newest first. */
  list(): Promise<BackupInfo[]>;
  /** Every job (backup, restore, ...), newest first. */
  history(): Promise<JobRecord[]>;
  /** Removes a backup and the chunks nothing else references. @throws NOT_FOUND, BUSY */
  drop(backupId: string): Promise<void>;
  /** Checks a backup and swaps it in; the replaced state is kept as an automatic backup. @throws NOT_FOUND, CORRUPT, LOCKED */
  restore(options: RestoreOptions): Promise<RestoreResult>;
  /** A portable file of a backup: archive (default), sqlite, sqlite.gz or sql. @throws NOT_FOUND, CHAIN */
  download(backupId: string, options?: DownloadOptions): Promise<{ blob: Blob; filename: string }>;
  /**
   * Checks and stores an archive, SQLite file, gzip'd SQLite file or SQL dump as a backup; `encrypted` says whether the file was.
   * @throws NOT_ENCRYPTED with `requireEncrypted` for a plain file, WRONG_PASSPHRASE, INTEGRITY, CORRUPT, CHAIN
   */
  upload(file: Blob, options?: UploadOptions): Promise<{ backupId: string; encrypted: boolean }>;
  /** What a stored backup or a file holds, without restoring it (an encrypted archive tells its facts only with its passphrase). @throws WRONG_PASSPHRASE */
  inspect(target: string | Blob, options?: { passphrase?: string }): Promise<InspectResult>;
  /** Restores into a scratch connection and runs every check. */
  verify(backupId: string): Promise<VerifyReport>;
  /** @deprecated Use `vault.retention.set` (this alias stays so existing apps keep working). */
  setRetention(policy: RetentionPolicy): Promise<void>;
  /** @deprecated Use `vault.retention.get`. */
  getRetention(): Promise<RetentionPolicy>;
  /** @deprecated Use `vault.retention.apply`. */
  applyRetention(options?: { dryRun?: boolean }): Promise<RetentionResult>;
}

/** Which backups a vault keeps: the policy applied after scheduled backups, or on demand. */
export interface RetentionClient {
  /** Stores the policy (`{}` clears it). @throws INVALID_ARGUMENT */
  set(policy: RetentionPolicy): Promise<void>;
  /** The stored policy (`{}` when none). */
  get(): Promise<RetentionPolicy>;
  /** Applies (or with `dryRun`, only reports) the policy. @throws BUSY */
  apply(options?: { dryRun?: boolean }): Promise<RetentionResult>;
}

/**
 * Time travel (`openVault({ history: { keep } })`): the moments the live database can go back to.
 * Restore one with `backup.restore({ at })`, keep it with `backup.create({ at })`, or `download({ at })`.
 */
export interface HistoryClient {
  /** The kept points (oldest first; the current state last, `current: true`). @throws INVALID_ARGUMENT */
  list(options?: HistoryListOptions): Promise<HistoryPoint[]>;
}

/** Backups on a schedule, caught up at the next open when the app was closed. */
export interface ScheduleClient {
  set(spec: ScheduleSpec, options?: ScheduleOptions): Promise<ScheduleInfo>;
  list(): Promise<ScheduleInfo[]>;
  remove(id: string): Promise<void>;
}

/**
 * Backups leaving the device (README "Remote replication", src/format/REMOTE.md). Remotes are
 * kept per open: add them again after each `openVault` (their secrets are never stored).
 */
export interface RemoteClient {
  /**
   * Adds (or replaces) remote `name` for this open and reads its config.
   * @throws INVALID_ARGUMENT, WRONG_PASSPHRASE, PASSPHRASE_REQUIRED, NOT_ENCRYPTED, REMOTE_DENIED, REMOTE_UNAVAILABLE
   */
  add(name: string, options: RemoteOptions): Promise<RemoteInfo>;
  /** Forgets remote `name` in this open (the remote is not changed). */
  remove(name: string): Promise<void>;
  /**
   * Sends a backup (default: the newest of `backup.list()`): only the chunks the remote lacks, then its manifest.
   * @throws NOT_FOUND, REMOTE_DENIED, REMOTE_UNAVAILABLE, CANCELLED
   */
  push(name: string, options?: { backupId?: string; onProgress?: (progress: Progress) => void }): Promise<PushResult>;
  /** Cancels this open's queued or running pushes to remote `name` (a cancelled push wrote no manifest). */
  cancel(name: string): Promise<{ status: CancelStatus }>;
  /** Backups on the remote, newest first, whichever vault pushed them. @throws NOT_FOUND, REMOTE_DENIED, REMOTE_UNAVAILABLE */
  list(name: string): Promise<RemoteBackupInfo[]>;
  /** Brings a remote backup into the local catalog (same id), verified. @throws NOT_FOUND, INTEGRITY, CORRUPT, REMOTE_DENIED, REMOTE_UNAVAILABLE */
  pull(name: string, backupId: string): Promise<BackupInfo>;
  /** Deletes a backup's manifest on the remote (its chunks go at a later collection). @throws NOT_FOUND, REMOTE_DENIED, REMOTE_UNAVAILABLE */
  drop(name: string, backupId: string): Promise<void>;
  /**
   * Applies a retention policy (default: the vault's own) on the remote, then collects unreferenced chunks (mark, then sweep after `graceMs`).
   * @throws INVALID_ARGUMENT, NOT_FOUND, REMOTE_DENIED, REMOTE_UNAVAILABLE
   */
  applyRetention(name: string, policy?: RetentionPolicy, options?: RemoteRetentionOptions): Promise<RemoteRetentionResult>;
  /**
   * Restores the newest state of this vault on the remote (its continuous head or newest backup;
   * else the newest of any vault there): the one call for a new device or after `STORAGE_LOST`.
   * With `ifEmpty`, only when the live database has no tables (`restored: false` otherwise), so an
   * app can call it at every start.
   * @throws NOT_FOUND (nothing on the remote), INTEGRITY, CORRUPT, REMOTE_DENIED, REMOTE_UNAVAILABLE
   */
  restoreLatest(name: string, options?: RestoreLatestOptions): Promise<RestoreLatestResult>;
}

/** An open database. Every method rejects with a `PagevaultError`. */
export interface Vault {
  readonly name: string;
  /** Runs one or more statements. @throws SQLITE, BUSY, CLOSED */
  exec(sql: string, params?: SqlParams): Promise<ExecResult>;
  /** Runs a query and returns rows as plain objects. @throws SQLITE, CLOSED */
  query<T extends Row = Row>(sql: string, params?: SqlParams): Promise<T[]>;
  /** Saves the committed state now. @throws BUSY (open transaction), QUOTA_EXCEEDED, STORAGE */
  flush(): Promise<SaveResult>;
  info(): Promise<VaultInfo>;
  /** Bytes used by the live database and by backups, and the origin's quota. */
  storage(): Promise<StorageReport>;
  /**
   * The live database as a file (`sqlite` by default, `sqlite.gz` or `sql`), from memory: works
   * even when the browser cleared the store under an open vault (a last-chance download).
   * @throws BUSY (open transaction), CLOSED
   */
  download(options?: LiveDownloadOptions): Promise<{ blob: Blob; filename: string }>;
  /**
   * Calls `listener` whenever a save fails (the autosave retries with backoff; `info().saveError`
   * holds the last failure until a save succeeds). @returns a function that unsubscribes.
   */
  onSaveError(listener: (event: SaveErrorEvent) => void): () => void;
  /**
   * Calls `listener` after each committed transaction that changed rows (with the tables it
   * touched) and each change of the backup catalog, made from this tab or any other tab of the
   * origin that has the vault open. @returns a function that unsubscribes.
   */
  onChange(listener: (event: ChangeEvent) => void): () => void;
  /**
   * Rolls back an open transaction, saves everything committed, stops jobs and ends the worker.
   * From the moment it is called every other call rejects with CLOSED. When the final save fails
   * it rejects with that error and the vault stays open (retry, or `download()` the data);
   * `{ force: true }` closes anyway, losing unsaved changes. Safe to call twice.
   */
  close(options?: { force?: boolean }): Promise<void>;
  readonly backup: BackupClient;
  readonly retention: RetentionClient;
  readonly schedule: ScheduleClient;
  readonly history: HistoryClient;
  readonly remote: RemoteClient;
}

/** Resolves a worker Result, rethrowing its error as a PagevaultError with the same code. */
async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const result = await call;
  if (!result.ok) throw errorFromWire(result.error);
  return result.value;
}

/**
 * A promise that rejects with `WORKER` when the worker fails to load or dies with an uncaught
 * error (Comlink would otherwise leave every pending call hanging). It never resolves.
 */
function workerFailure(worker: Worker, name: string): Promise<never> {
  const failed = new Promise<never>((_resolve, reject) => {
    const fail = (event: Event) => {
      const detail = event instanceof ErrorEvent && event.message ? `: ${event.message}` : '';
      reject(
        new PagevaultError(
          ErrorCode.WORKER,
          `The pagevault worker for "${name}" failed${detail}. Check that its script and sql-wasm.wasm are served and allowed by your Content-Security-Policy (worker-src, script-src 'wasm-unsafe-eval'), or pass \`worker\` / \`wasmUrl\` to openVault.`,
          { name },
        ),
      );
    };
    worker.addEventListener('error', fail, { once: true });
    worker.addEventListener('messageerror', fail, { once: true });
  });
  failed.catch(() => undefined); // observed by the calls that race it
  return failed;
}

/**
 * Opens (creating if needed) the database `name` in a new worker.
 * Any number of tabs may open the same name: one tab's worker owns the database, the others forward
 * to it (README "Several tabs").
 * @throws LOCKED with `exclusive` when another tab has it open past `lockTimeoutMs`; CORRUPT when saved data fails its checks;
 *   STORAGE_LOST when this vault had data here that the browser has since cleared (open with
 *   `acceptLoss: true` to start empty); INVALID_ARGUMENT, STORAGE, QUOTA_EXCEEDED.
 * @example
 * const vault = await openVault({ name: 'notes' });
 * await vault.exec('CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, body TEXT)');
 * await vault.exec('INSERT INTO note (body) VALUES (?)', ['hello']);
 * const rows = await vault.query('SELECT * FROM note');
 */
export async function openVault(options: OpenVaultOptions): Promise<Vault> {
  const worker = options.worker ?? spawnWorker(options.name);
  const remote: Remote<WorkerApi> = wrap<WorkerApi>(worker);
  let closed = false;
  const { worker: _worker, ...openOptions } = options;
  const died = workerFailure(worker, options.name);
  try {
    // The worker asks only once it holds the vault's lock (after any deleteVault it waited for).
    const sawData = proxy(() => options.acceptLoss !== true && hadData(options.name));
    await Promise.race([unwrap(remote.open(openOptions, sawData)), died]);
    rememberData(options.name);
  } catch (error) {
    remote[releaseProxy]();
    worker.terminate();
    throw error;
  }
  /** Set while close() runs: calls sent meanwhile reject at once, as the worker would. */
  let closing = false;
  let closingCall: Promise<void> | undefined;
  const call = <T>(body: () => Promise<Result<T>>): Promise<T> => {
    if (closed || closing) return Promise.reject(new PagevaultError(ErrorCode.CLOSED, `The vault "${options.name}" is closed.`, { name: options.name }));
    return Promise.race([unwrap(body()), died]);
  };
  const saveErrorListeners = new Set<(event: SaveErrorEvent) => void>();
  let subscribed = false;
  const onSaveError = (listener: (event: SaveErrorEvent) => void): (() => void) => {
    saveErrorListeners.add(listener);
    if (!subscribed) {
      subscribed = true;
      const forward = proxy((event: SaveErrorEvent) => {
        for (const each of saveErrorListeners) each(event);
      });
      void call(() => remote.onSaveError(forward)).catch(() => (subscribed = false));
    }
    return () => void saveErrorListeners.delete(listener);
  };
  const changeListeners = new Set<(event: ChangeEvent) => void>();
  let watching = false;
  const onChange = (listener: (event: ChangeEvent) => void): (() => void) => {
    changeListeners.add(listener);
    if (!watching) {
      watching = true;
      const forward = proxy((event: ChangeEvent) => {
        // One listener that throws must not starve the others, nor this tab's next events: its error
        // is rethrown on its own (reported as uncaught, as from any event handler).
        for (const each of changeListeners) {
          try {
            each(event);
          } catch (error) {
            queueMicrotask(() => {
              throw error;
            });
          }
        }
      });
      void call(() => remote.onChange(forward)).catch(() => (watching = false));
    }
    return () => void changeListeners.delete(listener);
  };
  const retention: RetentionClient = {
    set: (policy) => call(() => remote.retentionSet(policy)),
    get: () => call(() => remote.retentionGet()),
    apply: (retentionOptions = {}) => call(() => remote.retentionApply(retentionOptions)),
  };
  const backup: BackupClient = {
    create: (request = {}) => {
      const { onProgress, ...rest } = request;
      return call(() => (onProgress ? remote.backupCreate(rest, proxy(onProgress)) : remote.backupCreate(rest)));
    },
    status: (id) => call(() => remote.backupStatus(id)),
    wait: (id) => call(() => remote.backupWait(id)),
    cancel: (id) => call(() => remote.backupCancel(id)),
    list: () => call(() => remote.backupList()),
    history: () => call(() => remote.backupHistory()),
    drop: (id) => call(() => remote.backupDrop(id)),
    restore: (restoreOptions) => call(() => remote.backupRestore(restoreOptions)),
    download: (id, downloadOptions = {}) => call(() => remote.backupDownload(id, downloadOptions)),
    upload: (file, uploadOptions = {}) => call(() => remote.backupUpload(file, uploadOptions)),
    inspect: (target, inspectOptions = {}) => call(() => remote.backupInspect(target, inspectOptions)),
    verify: (id) => call(() => remote.backupVerify(id)),
    setRetention: retention.set,
    getRetention: retention.get,
    applyRetention: retention.apply,
  };
  const schedule: ScheduleClient = {
    set: (spec, scheduleOptions = {}) => call(() => remote.scheduleSet(spec, scheduleOptions)),
    list: () => call(() => remote.scheduleList()),
    remove: (id) => call(() => remote.scheduleRemove(id)),
  };
  const remoteClient: RemoteClient = {
    add: (remoteName, remoteOptions) => {
      // Functions cannot be cloned to the worker: they travel as proxies and run here, on the page.
      const { sign, getHeaders, ...rest } = remoteOptions as RemoteOptions & { sign?: RemoteSigner; getHeaders?: HttpRemoteOptions['getHeaders'] };
      return call(() => remote.remoteAdd(remoteName, rest as RemoteOptions, sign && proxy(sign), getHeaders && proxy(getHeaders)));
    },
    remove: (remoteName) => call(() => remote.remoteRemove(remoteName)),
    push: (remoteName, pushOptions = {}) => {
      const { onProgress, ...rest } = pushOptions;
      return call(() => (onProgress ? remote.remotePush(remoteName, rest, proxy(onProgress)) : remote.remotePush(remoteName, rest)));
    },
    cancel: (remoteName) => call(() => remote.remoteCancel(remoteName)),
    list: (remoteName) => call(() => remote.remoteList(remoteName)),
    pull: (remoteName, backupId) => call(() => remote.remotePull(remoteName, backupId)),
    drop: (remoteName, backupId) => call(() => remote.remoteDrop(remoteName, backupId)),
    applyRetention: (remoteName, policy, retentionOptions = {}) => call(() => remote.remoteApplyRetention(remoteName, policy, retentionOptions)),
    restoreLatest: (remoteName, restoreOptions = {}) => call(() => remote.remoteRestoreLatest(remoteName, restoreOptions)),
  };
  return {
    name: options.name,
    exec: (sql, params) => call(() => remote.exec(sql, params)),
    query: <T extends Row = Row>(sql: string, params?: SqlParams) => call(() => remote.query(sql, params)) as Promise<T[]>,
    flush: () => call(() => remote.flush()),
    info: () => call(() => remote.info()),
    storage: () => call(() => remote.storage()),
    download: (downloadOptions = {}) => call(() => remote.download(downloadOptions)),
    onSaveError,
    onChange,
    close: (closeOptions = {}) => {
      if (closed) return Promise.resolve();
      closingCall ??= (async () => {
        closing = true;
        try {
          await Promise.race([unwrap(remote.close(closeOptions)), died]);
        } catch (error) {
          // The final save failed: the worker keeps the vault open, and so does this client.
          if (!(isPagevaultError(error) && error.code === ErrorCode.WORKER)) {
            closing = false;
            throw error;
          }
        } finally {
          closingCall = undefined;
        }
        closed = true;
        remote[releaseProxy]();
        worker.terminate();
      })();
      return closingCall;
    },
    backup,
    retention,
    schedule,
    history: { list: (listOptions = {}) => call(() => remote.historyList(listOptions)) },
    remote: remoteClient,
  };
}

/**
 * Asks the browser to keep this origin's storage when space runs low (`navigator.storage.persist()`).
 * Main thread only: the call does not exist in workers. A denial, or a browser without the API,
 * is a result (`persisted: false`), never an error.
 * @example
 * const { persisted } = await requestPersistence();
 * if (!persisted) showHint('Install the app or bookmark it so the browser keeps your backups.');
 */
export async function requestPersistence(): Promise<{ persisted: boolean }> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (typeof storage?.persist !== 'function') return { persisted: false };
  try {
    return { persisted: await storage.persist() };
  } catch {
    return { persisted: false };
  }
}
