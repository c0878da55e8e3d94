/**
 * pagevault: backups for SQLite in the browser. The public entry for the main thread.
 * It loads the client and Comlink only; SQLite, IndexedDB and compression live in the worker.
 */
export { openVault, requestPersistence } from './client';
export type { BackupClient, CreateBackupRequest, OpenVaultOptions, RetentionClient, ScheduleClient, Vault } from './client';
export { deleteVault } from './delete-vault';
export { ErrorCode, PagevaultError, isPagevaultError } from './errors';
export type { ErrorDetails } from './errors';
export type {
  BackupInfo,
  BackupMethod,
  BackupSource,
  BackupStatus,
  CreateBackupOptions,
  DownloadFormat,
  DownloadOptions,
  ExecResult,
  InspectResult,
  JobError,
  JobKind,
  JobRecord,
  JobState,
  LiveDownloadOptions,
  OpenOptions,
  Progress,
  ProgressPhase,
  ProgressUnit,
  RestoreOptions,
  RestoreResult,
  RetentionDecision,
  RetentionPolicy,
  RetentionResult,
  Row,
  SaveErrorEvent,
  SaveResult,
  CancelStatus,
  ScheduleInfo,
  ScheduleOptions,
  ScheduleSpec,
  SqlParams,
  SqlValue,
  StorageReport,
  TableCount,
  TableSelection,
  UploadOptions,
  VaultInfo,
  VerifyReport,
} from './protocol';
