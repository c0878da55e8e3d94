/**
 * The contract between the page (src/client.ts) and the worker (worker/service.ts).
 * Types, and one `as const` value (`JobState`, public so apps can compare states without string
 * literals): both sides import it; nothing else in it runs.
 *
 * All timestamps are epoch milliseconds. All sizes are bytes.
 */
import type { ErrorCode, ErrorDetails, WireError } from './errors';

/** A value SQLite can store, as sql.js hands it to JavaScript. */
export type SqlValue = number | string | Uint8Array | null;
/** Positional (`[1, 'a']`) or named (`{ $id: 1 }` / `{ ':id': 1 }` / `{ id: 1 }`) parameters. */
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;
/** One result row, column name to value. */
export type Row = Record<string, SqlValue>;

export interface ExecResult {
  /** Rows changed by the last statement. */
  readonly changes: number;
  /** Rowid of the last inserted row on this connection. */
  readonly lastInsertRowid: number;
}

export interface OpenOptions {
  /** Database name; one IndexedDB database per name. 1-128 characters. */
  readonly name: string;
  /** Delay after a committed write before the autosave runs. Default 250 ms; 0 saves after every write. */
  readonly autosaveMs?: number;
  /**
   * With `exclusive`: how long to wait for another owner of this name to close (default 0: fail at
   * once with `LOCKED`). Without it: how long to wait for the owner tab to answer (at least 30 s).
   */
  readonly lockTimeoutMs?: number;
  /**
   * Refuse to share: fail with `LOCKED` (after `lockTimeoutMs`) while another tab has the vault
   * open, as before vaults were shared between tabs. Default false: every tab gets a working vault.
   */
  readonly exclusive?: boolean;
  /**
   * When a write is acknowledged: `'memory'` (default) once committed in the owner tab's SQLite (a
   * crash before the autosave loses it); `'commit'` only once it is also saved to IndexedDB.
   */
  readonly durability?: Durability;
  /**
   * Start with an empty database even though this vault had data that is now gone (the browser
   * cleared or evicted the site's storage). Without it, such an open fails with `STORAGE_LOST`.
   */
  readonly acceptLoss?: boolean;
  /**
   * Time travel: keep every save's state restorable for `keep` (`'24h'`, `'90m'`, `'7d'` or ms), thinned
   * with age, within `maxBytes` of storage only history holds. Persisted per vault: omit it to keep
   * the stored setting; `false` turns history off (and removes its points). Default: off.
   */
  readonly history?: HistoryOptions | false;
}

/** How long the live database's history is kept (see `OpenOptions.history`). */
export interface HistoryOptions {
  /** The window: `'<n>m'`, `'<n>h'`, `'<n>d'` (1 minute to 366 days) or milliseconds. */
  readonly keep: string | number;
  /** At most this many bytes only history holds; the oldest points go first. Default: no limit. */
  readonly maxBytes?: number;
}

/** A moment the live database can be restored to (`vault.history.list`). */
export interface HistoryPoint {
  /** When this state was saved (epoch ms); it held until the next point. */
  readonly at: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  /** 64 KiB chunks that differ from the point before it (absent for the oldest). */
  readonly changes?: number;
  /** True for the live database's current state. */
  readonly current?: boolean;
}

/** A time range of `vault.history.list`, both ends included. */
export interface HistoryListOptions {
  readonly since?: Date | number;
  readonly until?: Date | number;
  /** List the points this remote holds (continuous replication keeps them) instead of the local ones. */
  readonly from?: string;
  /**
   * With `from`: whose history (the vault name that pushed it). Default: this vault's, else that of
   * the only vault the remote holds.
   */
  readonly vault?: string;
}

/** See `OpenOptions.durability`. */
export type Durability = 'memory' | 'commit';

/**
 * What changed, sent to `vault.onChange` listeners in every tab: rows of user tables (`data`, after
 * the transaction committed) or the backup catalog (`catalog`: a backup or job added, ended or removed).
 */
export type ChangeEvent =
  | {
      readonly kind: 'data';
      /** Tables whose rows a committed transaction changed (may name a table whose change was rolled back). */
      readonly tables: readonly string[];
      /** True when any table may have changed (schema change, restore, `DELETE` without `WHERE`): refresh everything. */
      readonly all: boolean;
    }
  | { readonly kind: 'catalog' };

export interface StorageEstimate {
  readonly usageBytes: number | null;
  readonly quotaBytes: number | null;
}

export interface VaultInfo {
  readonly name: string;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  /** Whether the origin's storage is persistent (`navigator.storage.persisted()`); null when unknown. */
  readonly persisted: boolean | null;
  readonly estimate: StorageEstimate;
  /** When the live database was last saved to IndexedDB; null before the first save. */
  readonly savedAt: number | null;
  /** True when committed changes are waiting for the autosave. */
  readonly dirty: boolean;
  /** The last failed save while unsaved changes remain (retried with backoff); null when saves succeed. */
  readonly saveError: SaveErrorEvent | null;
}

/** A save that failed (autosave or flush); kept in `VaultInfo.saveError` until a save succeeds. */
export interface SaveErrorEvent {
  /** The error code of the failure (`QUOTA_EXCEEDED`, `STORAGE`, ...). */
  readonly code: ErrorCode;
  readonly message: string;
  /** When it failed (epoch ms). */
  readonly at: number;
  /** Failures in a row since the last successful save. */
  readonly attempts: number;
  /** When the autosave tries again, from `at` (backoff doubling from 1 s to 60 s). */
  readonly retryInMs: number;
}

/** What `vault.download()` of the live database takes. */
export interface LiveDownloadOptions {
  /** `sqlite` (default), `sqlite.gz` or `sql`. */
  readonly format?: 'sqlite' | 'sqlite.gz' | 'sql';
  /** The database as it was at this moment (the newest history point at or before it). */
  readonly at?: Date | number;
}

export interface SaveResult {
  /** Chunks written to the store by this save (0 when nothing changed). */
  readonly chunksWritten: number;
  /** Compressed bytes written. */
  readonly bytesWritten: number;
  readonly durationMs: number;
}

export interface StorageReport {
  readonly liveBytes: number;
  readonly backupBytes: number;
  /** Bytes only the history (time travel) holds: chunks no head or backup names, and its point records. */
  readonly historyBytes: number;
  readonly usageBytes: number | null;
  readonly quotaBytes: number | null;
  readonly persisted: boolean | null;
}

// ---------------------------------------------------------------------------------------------
// Jobs and backups

export const JobState = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export type JobKind = 'backup' | 'restore' | 'verify' | 'upload' | 'retention' | 'push' | 'pull' | 'remote-retention';
export type BackupMethod = 'pages' | 'vacuum' | 'upload' | 'auto';
/**
 * How a backup's bytes were obtained: `head` (the saved live database's manifest recorded as it
 * is: no copy, milliseconds at any size), `page-copy` (SQLite's backup API, stepped), `vacuum`
 * (`VACUUM INTO`), `partial` (selected tables), `upload`, `before-restore` (the replaced head).
 */
export type BackupSource = 'head' | 'page-copy' | 'vacuum' | 'partial' | 'upload' | 'before-restore';
export type ProgressUnit = 'pages' | 'chunks' | 'bytes' | 'rows';
/**
 * The step a job reports progress for: page copy (`copy`), `vacuum`, storing chunks (`store`),
 * reading a backup or an upload (`read`), checking an upload (`check`), a restore's swap (`swap`),
 * retention removing chunks (`remove`), a verification's two steps, and `done` once it succeeded.
 * A push reports `store` (chunks stored on the remote), a pull `read` then `check`.
 */
export type ProgressPhase = 'copy' | 'vacuum' | 'store' | 'read' | 'check' | 'swap' | 'remove' | 'verify-read' | 'verify-check' | 'done';

export interface JobError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The error's details (e.g. `usageBytes` and `quotaBytes` of a QUOTA_EXCEEDED). */
  readonly details?: ErrorDetails;
}

export interface Progress {
  readonly backupId: string;
  readonly jobId: string;
  readonly phase: ProgressPhase;
  readonly done: number;
  readonly total: number;
  readonly unit: ProgressUnit;
  readonly percent: number;
}

/** Which tables a partial backup holds: a list, or table name to SQL filter (`WHERE` body). */
export type TableSelection = readonly string[] | Readonly<Record<string, string>>;

/**
 * What one piece of sandboxed work (checking an upload, replaying a dump, evaluating filters) may
 * spend before it is stopped with LIMIT_EXCEEDED. Defaults: 60 000 ms and 512 MiB.
 */
export interface SandboxBudget {
  /** Wall time in ms (1..3 600 000). */
  readonly timeMs?: number;
  /** SQLite heap and largest database the work may build, in bytes (1 MiB..2 GiB). */
  readonly memoryBytes?: number;
}

export interface CreateBackupOptions {
  readonly method?: 'pages' | 'vacuum';
  readonly note?: string;
  /** Verify by restore before the backup is reported as succeeded. */
  readonly verify?: boolean;
  /** A partial backup: only these tables (and the selected rows). */
  readonly tables?: TableSelection;
  /** Budget for evaluating the filters of a partial backup in the sandbox. */
  readonly budget?: SandboxBudget;
  /** A backup of the database as it was at this moment (a history point; no page copy). */
  readonly at?: Date | number;
}

/**
 * What `cancel()` found: `cancelled` (the job ended without its result: a cancelled backup is never
 * listed), `completed` (its result was already being committed and landed), `not running`.
 */
export type CancelStatus = 'cancelled' | 'completed' | 'not running';

export interface BackupStatus {
  readonly backupId: string;
  readonly jobId: string;
  readonly state: JobState;
  readonly progressPercent: number;
  readonly pagesDone: number;
  readonly pagesTotal: number;
  readonly bytesStored: number;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly error?: JobError;
  readonly cleanupError?: JobError;
}

export interface TableCount {
  readonly name: string;
  readonly rows: number;
}

export interface BackupInfo {
  readonly backupId: string;
  readonly createdAt: number;
  readonly method: BackupMethod;
  /** How its bytes were obtained; absent on backups made by versions before it was recorded. */
  readonly source?: BackupSource;
  readonly note?: string;
  /** `pageSize * pageCount`: the byte length of the image. */
  readonly sizeBytes: number;
  /** Bytes this backup added to the store (compressed, after dedup). */
  readonly storedBytes: number;
  readonly pageSize: number;
  readonly pageCount: number;
  /** Lowercase hex SHA-256 of the image. */
  readonly sha256: string;
  readonly tables: readonly TableCount[];
  readonly verifiedAt?: number;
  /** Set when a verification failed; says why. */
  readonly verifyFailed?: string;
  readonly partial?: boolean;
  /** For a partial backup with row filters: table name to its filter (the body of a `WHERE` clause). */
  readonly filters?: Readonly<Record<string, string>>;
  /** For automatic backups: what made them (`before-restore`). */
  readonly auto?: 'before-restore';
  readonly scheduleId?: string;
}

export interface JobRecord {
  readonly jobId: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly backupId?: string;
  readonly scheduleId?: string;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly error?: JobError;
  readonly cleanupError?: JobError;
  /** Push jobs: bytes sent to the remote. */
  readonly bytesSent?: number;
}

/** Restores a backup (`backupId`), or the database as it was at a moment (`at`, see `RestoreAtOptions`). */
export type RestoreOptions = RestoreBackupOptions | RestoreAtOptions;

/** Restores the newest history point at or before `at`, with every check and undo of a backup restore. */
export interface RestoreAtOptions {
  readonly at: Date | number;
  readonly into?: string;
  /** Restore from this remote's points (continuous replication keeps them): pulled, verified, then restored. */
  readonly from?: string;
  /**
   * With `from`: whose history (the vault name that pushed it). Default: this vault's, else that of
   * the only vault the remote holds.
   */
  readonly vault?: string;
}

export interface RestoreBackupOptions {
  readonly backupId: string;
  /** Restore a backup of this remote (`vault.remote.add` name): pulled, verified, then restored. */
  readonly from?: string;
  /** Restore into another database name instead of the current one. */
  readonly into?: string;
  /** Replace only these tables in the live database. */
  readonly tables?: readonly string[];
}

export interface RestoreResult {
  /** The automatic backup of the state this restore replaced (restore it to undo). Absent for `into` a new name. */
  readonly previousBackupId?: string;
}

export type DownloadFormat = 'archive' | 'sqlite' | 'sqlite.gz' | 'sql';

export interface DownloadOptions {
  readonly format?: DownloadFormat;
  /** Incremental archive: only what this base backup lacks. */
  readonly since?: string;
  readonly passphrase?: string;
}

export interface UploadOptions {
  readonly passphrase?: string;
  /** Refuse a file that is not an encrypted archive (`NOT_ENCRYPTED`): a plain copy cannot stand in for an encrypted backup. */
  readonly requireEncrypted?: boolean;
  readonly note?: string;
  /** Limit for running a `.sql` dump, default 30 000 ms. */
  readonly sqlTimeoutMs?: number;
  /** Budget for checking the file in the sandbox (and replaying a `.sql` one, with `sqlTimeoutMs`). */
  readonly budget?: SandboxBudget;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** `'ok'` or the first problem SQLite reports. */
  readonly integrity: string;
  /** Number of foreign key violations. */
  readonly foreignKeys: number;
  readonly sha256Match: boolean;
  readonly tables: readonly TableCount[];
  readonly durationMs: number;
  /** Why the check failed, when it did. */
  readonly reason?: string;
}

export interface InspectResult {
  readonly format: 'archive' | 'sqlite' | 'sqlite.gz' | 'sql' | 'stored';
  readonly version?: number;
  readonly createdAt?: number;
  readonly note?: string;
  readonly method?: string;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  readonly sha256?: string;
  readonly sqliteVersion?: number;
  readonly userVersion?: number;
  readonly tables?: readonly TableCount[];
  /** True for an encrypted archive. Without its passphrase a v2 one reports only this, `version` and `sizeBytes` (the file's). */
  readonly encrypted: boolean;
  readonly base?: string;
  readonly partial?: boolean;
}

export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly maxBytes?: number;
}

export interface RetentionDecision {
  readonly backupId: string;
  readonly reason: string;
}

export interface RetentionResult {
  readonly removed: readonly RetentionDecision[];
  readonly kept: readonly RetentionDecision[];
}

export type ScheduleSpec = { readonly id: string; readonly every: string } | { readonly id: string; readonly dailyAt: string };

export interface ScheduleOptions {
  readonly method?: 'pages' | 'vacuum';
  readonly note?: string;
  readonly verify?: boolean;
  /** Push each scheduled backup to this remote (added with `vault.remote.add` in the same open). */
  readonly pushTo?: string;
}

export interface ScheduleInfo {
  readonly id: string;
  readonly every?: string;
  readonly dailyAt?: string;
  readonly method: 'pages' | 'vacuum';
  readonly note?: string;
  readonly verify?: boolean;
  readonly pushTo?: string;
  readonly lastRunAt?: number;
  readonly nextRunAt: number;
}

// ---------------------------------------------------------------------------------------------
// Remotes (src/format/REMOTE.md): what `vault.remote.add` takes, and what the verbs return.

/** How hard requests to a remote are tried. */
export interface RetryOptions {
  /** Attempts after the first (default 4). */
  readonly retries?: number;
  /** First backoff ceiling in ms, doubled per attempt, with full jitter (default 250). */
  readonly backoffMs?: number;
  /** Per-attempt timeout in ms (default 30 000). */
  readonly timeoutMs?: number;
  /** Requests in flight at most (default 4). */
  readonly parallel?: number;
}

/** Presigning by the app's own server: gets the request pagevault is about to send, returns it signed. */
export type RemoteSigner = (request: { readonly method: string; readonly url: string; readonly headers: Record<string, string> }) => Promise<{ url: string; headers?: Record<string, string> }>;

interface Common {
  /** Encrypts everything on the remote client-side (object names are keyed). */
  readonly passphrase?: string;
  /** Retries, timeout and parallel requests (defaults: 4 retries, 30 s, 4 in flight). */
  readonly retry?: RetryOptions;
  /**
   * Continuous replication: push the live database's new chunks and a head manifest this many ms
   * after each save (e.g. 2000). Off by default.
   */
  readonly continuousMs?: number;
}

/** An S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Wasabi): path-style requests. */
export interface S3RemoteOptions extends Common {
  readonly kind: 's3';
  readonly endpoint: string;
  readonly bucket: string;
  /** The repository's prefix inside the bucket (`notes/`); '' for the bucket's root. */
  readonly prefix?: string;
  /** Default `us-east-1` (R2: `auto`). */
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Instead of credentials: the app's server signs (or presigns) each request. */
  readonly sign?: RemoteSigner;
}

/** Any store that answers PUT/GET/HEAD/DELETE under a base URL (WebDAV, a small app endpoint). */
export interface HttpRemoteOptions extends Common {
  readonly kind: 'http';
  /** Base URL; object names are appended to it. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Called before each request (e.g. a fresh bearer token); its headers win over `headers`. */
  readonly getHeaders?: () => Promise<Record<string, string>> | Record<string, string>;
}

/** A folder on disk (File System Access API). */
export interface DirectoryRemoteOptions extends Common {
  readonly kind: 'directory';
  readonly handle: FileSystemDirectoryHandle;
}

export type RemoteOptions = S3RemoteOptions | HttpRemoteOptions | DirectoryRemoteOptions;

/** A backup on a remote, as `vault.remote.list` reports it. */
export interface RemoteBackupInfo {
  readonly backupId: string;
  readonly createdAt: number;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly tables: readonly TableCount[];
  readonly partial?: boolean;
  readonly note?: string;
  /** Name of the vault that pushed it. */
  readonly vault: string;
  readonly method: string;
}

export interface PushOptions {
  /** Default: the newest backup of `backup.list()`. */
  readonly backupId?: string;
}

export interface PushResult {
  readonly backupId: string;
  /** Bytes of the objects sent (chunks and the manifest). */
  readonly bytesSent: number;
  readonly objectsSent: number;
  /** Chunks the remote already had. */
  readonly objectsSkipped: number;
}

export interface RemoteRetentionOptions {
  /** Wait between marking an unreferenced chunk and deleting it (default 1 hour; 0 only when no other device pushes). */
  readonly graceMs?: number;
  readonly dryRun?: boolean;
  /** Plan over every vault's backups under the prefix, not only this vault's (default false: a prefix is shared). */
  readonly allVaults?: boolean;
}

export interface RemoteRetentionResult extends RetentionResult {
  /** Chunk objects deleted by this run. */
  readonly chunksDeleted: number;
  /** Chunk objects marked, deleted by a run after the grace period if still unreferenced. */
  readonly chunksMarked: number;
}

export interface RestoreLatestOptions {
  /** Restore into another vault name instead of the current one. */
  readonly into?: string;
  /** Only when the live database has no tables (a new device, a wiped vault): safe to call at every start. */
  readonly ifEmpty?: boolean;
}

/** What `vault.remote.restoreLatest` did: `restored: false` when `ifEmpty` found data (nothing changed). */
export interface RestoreLatestResult extends RestoreResult {
  readonly restored: boolean;
  /** The backup (or continuous head) restored. */
  readonly backupId?: string;
}

/** What `vault.remote.add` resolves with. */
export interface RemoteInfo {
  readonly name: string;
  /** Where it points (no secrets). */
  readonly location: string;
  readonly encrypted: boolean;
  /** False when the prefix holds no repository yet (the first push creates it). */
  readonly initialized: boolean;
}

// ---------------------------------------------------------------------------------------------
// The wire: every worker method resolves with a Result so the error code survives Comlink.

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

/** Called by the worker with job progress; proxied by Comlink. */
export type ProgressListener = (progress: Progress) => void;

// Wire verbs mirror the client: a method on `vault` keeps its name (`exec`, `download`); a method on
// `vault.<group>` is `<group><Method>` (`vault.backup.verify` -> `backupVerify`,
// `vault.retention.set` -> `retentionSet`). One interface per client namespace.

/** `vault.*`: the live database. Each resolves with a Result; the client unwraps it. */
export interface CoreApi {
  /**
   * `hadData`, called once the worker holds the vault's lock and only when the store is empty and no
   * `deleteVault` tombstone explains it: true when the page saw this vault open with data before
   * (then the data was lost: `STORAGE_LOST`).
   */
  open(options: OpenOptions & { readonly wasmUrl?: string }, hadData?: () => boolean | Promise<boolean>): Promise<Result<VaultInfo>>;
  exec(sql: string, params?: SqlParams): Promise<Result<ExecResult>>;
  query(sql: string, params?: SqlParams): Promise<Result<Row[]>>;
  flush(): Promise<Result<SaveResult>>;
  info(): Promise<Result<VaultInfo>>;
  storage(): Promise<Result<StorageReport>>;
  /** `force`: close even when the final save fails (unsaved changes are then lost). */
  close(options?: { readonly force?: boolean }): Promise<Result<void>>;
  /** The live database as a file; works even when the store is gone (a last-chance download). */
  download(options: LiveDownloadOptions): Promise<Result<{ blob: Blob; filename: string }>>;
  /** Subscribes `listener` to failed saves. */
  onSaveError(listener: (event: SaveErrorEvent) => void): Promise<Result<void>>;
  /** Subscribes `listener` to committed changes and catalog changes (made from any tab). */
  onChange(listener: (event: ChangeEvent) => void): Promise<Result<void>>;
}

/** `vault.backup.*`: backup jobs, the catalog, restore, portable files, verification. */
export interface BackupApi {
  backupCreate(options: CreateBackupOptions, onProgress?: ProgressListener): Promise<Result<{ backupId: string }>>;
  backupStatus(backupId: string): Promise<Result<BackupStatus>>;
  backupWait(backupId: string): Promise<Result<BackupInfo>>;
  backupCancel(backupId: string): Promise<Result<{ status: CancelStatus }>>;
  backupList(): Promise<Result<BackupInfo[]>>;
  backupHistory(): Promise<Result<JobRecord[]>>;
  backupDrop(backupId: string): Promise<Result<void>>;
  backupRestore(options: RestoreOptions): Promise<Result<RestoreResult>>;
  backupDownload(backupId: string, options: DownloadOptions): Promise<Result<{ blob: Blob; filename: string }>>;
  backupUpload(blob: Blob, options: UploadOptions): Promise<Result<{ backupId: string; encrypted: boolean }>>;
  backupInspect(target: string | Blob, options: { passphrase?: string }): Promise<Result<InspectResult>>;
  backupVerify(backupId: string): Promise<Result<VerifyReport>>;
}

/** `vault.retention.*`: the retention policy. */
export interface RetentionApi {
  retentionSet(policy: RetentionPolicy): Promise<Result<void>>;
  retentionGet(): Promise<Result<RetentionPolicy>>;
  retentionApply(options: { dryRun?: boolean }): Promise<Result<RetentionResult>>;
}

/** `vault.schedule.*`: backups on a schedule. */
export interface ScheduleApi {
  scheduleSet(spec: ScheduleSpec, options: ScheduleOptions): Promise<Result<ScheduleInfo>>;
  scheduleList(): Promise<Result<ScheduleInfo[]>>;
  scheduleRemove(id: string): Promise<Result<void>>;
}

/** `vault.history.*`: time travel (restores and downloads by time go through `backup.restore({ at })`, `download({ at })`). */
export interface HistoryApi {
  historyList(options: HistoryListOptions): Promise<Result<HistoryPoint[]>>;
}

/** `vault.remote.*`: backups leaving the device (src/format/REMOTE.md). */
export interface RemoteApi {
  /** `sign` and `getHeaders` travel as their own arguments (Comlink proxies only top-level functions); the worker puts them back into `options`. */
  remoteAdd(name: string, options: RemoteOptions, sign?: RemoteSigner, getHeaders?: HttpRemoteOptions['getHeaders']): Promise<Result<RemoteInfo>>;
  remoteRemove(name: string): Promise<Result<void>>;
  remotePush(name: string, options: PushOptions, onProgress?: ProgressListener): Promise<Result<PushResult>>;
  remoteCancel(name: string): Promise<Result<{ status: CancelStatus }>>;
  remoteList(name: string): Promise<Result<RemoteBackupInfo[]>>;
  remotePull(name: string, backupId: string, onProgress?: ProgressListener): Promise<Result<BackupInfo>>;
  remoteDrop(name: string, backupId: string): Promise<Result<void>>;
  remoteApplyRetention(name: string, policy: RetentionPolicy | undefined, options: RemoteRetentionOptions): Promise<Result<RemoteRetentionResult>>;
  remoteRestoreLatest(name: string, options: RestoreLatestOptions): Promise<Result<RestoreLatestResult>>;
}

/** Everything the worker serves. */
export type WorkerApi = CoreApi & BackupApi & RetentionApi & ScheduleApi & HistoryApi & RemoteApi;
