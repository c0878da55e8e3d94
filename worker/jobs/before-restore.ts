/**
 * The automatic backup a restore makes of the state it replaces (the undo of every restore,
 * whole or of some tables). It reuses the replaced head's manifest, so it costs no chunks.
 */
import type { TableCount } from '../../src/protocol';
import type { BackupRecord, Manifest } from '../store/schema';

/** The automatic backup of the state a restore replaces (the live head's manifest, so it costs no chunks). */
export function beforeRestoreRecord(backupId: string, head: Manifest, sha256: string, tables: readonly TableCount[], note: string, createdAt: number): BackupRecord {
  const manifest: Manifest = { ...head, sha256 };
  return {
    manifest,
    info: {
      backupId,
      createdAt,
      method: 'auto',
      source: 'before-restore',
      note,
      auto: 'before-restore',
      sizeBytes: manifest.sizeBytes,
      storedBytes: 0,
      pageSize: manifest.pageSize,
      pageCount: manifest.pageCount,
      sha256,
      tables,
    },
  };
}

