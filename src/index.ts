/**
 * pagevault: backups for SQLite in the browser. The public entry for the main thread.
 * It loads the client and Comlink only; SQLite, IndexedDB and compression live in the worker.
 */
export { openVault } from './client';
export type { BackupClient, CreateBackupRequest, OpenVaultOptions, Vault } from './client';
export { ErrorCode, PagevaultError, isPagevaultError } from './errors';
export type { ErrorDetails } from './errors';
export type {
  BackupInfo,
  BackupMethod,
  BackupStatus,
  CreateBackupOptions,
  ExecResult,
  JobError,
  JobKind,
  JobRecord,
  JobState,
  OpenOptions,
  Progress,
  ProgressUnit,
  RestoreOptions,
  RestoreResult,
  Row,
  SaveResult,
  SqlParams,
  SqlValue,
  StorageReport,
  TableCount,
  VaultInfo,
} from './protocol';
