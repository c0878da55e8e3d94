/**
 * Restores: a backup over the live database, into another vault name, or only some tables.
 *
 * Invariants (README "Reliability"):
 * - Nothing changes until every check passed: every chunk re-hashed, the image SHA-256, the
 *   SQLite header, `integrity_check` on a scratch connection with `trusted_schema=OFF`.
 * - The swap is one transaction that makes the backup the head and keeps the replaced state as
 *   an automatic backup, so every restore can be undone. Writes wait while it runs.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { StoredChunk } from '../../src/format/codec';
import { sha256Hex } from '../../src/format/sha256';
import type { RestoreBackupOptions, RestoreResult } from '../../src/protocol';
import { checkImage } from '../engine';
import { acquireLock } from '../lock';
import { stampAfter } from '../store/history-plan';
import { VaultStore } from '../store/vault-store';
import { LIVE_HEAD, type BackupRecord, type Manifest } from '../store/schema';
import { checkId, checkName } from '../validate';
import { beforeRestoreRecord } from './before-restore';
import { readImage } from './chunk-io';
import { notFound, type VaultContext } from './context';
import { checkRestoreTables, restoreTables } from './partial';
import { newId, type JobContext } from './runner';

/**
 * Restores a backup over the live database (or `into` another name, or only some `tables`) once
 * every check passed; queues a restore job and resolves with its result.
 * @throws NOT_FOUND, CORRUPT (damaged chunk or failed integrity_check), LOCKED (target open elsewhere), BUSY.
 */
export async function restoreBackup(vault: VaultContext, options: RestoreBackupOptions): Promise<RestoreResult> {
  const { store, name } = vault;
  const backupId = checkId(options?.backupId, 'backupId');
  const into = options.into === undefined ? undefined : checkName(options.into, 'into');
  const record = store.backup(backupId);
  if (!record) throw notFound(backupId);
  const tables = options.tables === undefined ? undefined : checkRestoreTables(options.tables, record, into);
  if (record.info.partial && tables === undefined && (into === undefined || into === name)) {
    // Restoring it whole would replace the database with just the tables it copied.
    throw new PagevaultError(
      ErrorCode.INVALID_ARGUMENT,
      `Backup ${backupId} is partial (${record.info.tables.map((t) => t.name).join(', ')}): restore those tables with { tables }, or the whole copy { into } another name.`,
      { backupId },
    );
  }
  return restoreChecked(vault, record, into, tables, () => store.hold(backupId, { inUse: true }));
}

/**
 * Queues the restore of `record` (whose chunks `hold` keeps) and resolves with its result: every
 * check, then the swap (or the copy `into` another name, or the `tables`). Also restores by time
 * (./history.ts), whose record is a history point's.
 */
export async function restoreChecked(
  vault: VaultContext,
  record: BackupRecord,
  into: string | undefined,
  tables: readonly string[] | undefined,
  hold: () => Promise<{ readonly manifest: Manifest; readonly release: () => Promise<void> }>,
): Promise<RestoreResult> {
  const { store, engine, name } = vault;
  const backupId = record.info.backupId;
  const { done } = await vault.enqueueHolding('restore', backupId, async (ctx, manifest) => {
    const read = await readImage(store, manifest, {
      signal: ctx.signal,
      checkImageHash: true,
      onChunk: (n, total) => ctx.progress('read', n, total, 'chunks', { from: 0, to: 60 }),
    });
    const { check, image } = await checkImage(engine, read);
    if (check.integrity !== 'ok') {
      throw new PagevaultError(ErrorCode.CORRUPT, `Backup ${backupId} failed its integrity check: ${check.integrity}`, { backupId });
    }
    ctx.progress('swap', 0, 1, 'chunks', { from: 60, to: 100 });
    ctx.signal.throwIfAborted();
    if (tables) return restoreTables(vault, record, image, tables, ctx);
    return into === undefined || into === name ? swapLive(vault, record, image, ctx) : restoreInto(vault, into, record);
  }, { hold });
  return done;
}

/** Replaces the live database with a checked image, keeping the replaced state as a backup. */
function swapLive(vault: VaultContext, record: BackupRecord, image: Uint8Array, ctx: JobContext): Promise<RestoreResult> {
  const { live, store } = vault;
  return vault.holdWrites(ctx.signal, () =>
    live.mutex.run(async () => {
      // The head then holds exactly these bytes, even a change no write mark saw (#12 review).
      const before = await live.saveExact();
      const current = store.head(LIVE_HEAD);
      const previousId = newId('bk');
      // After the replaced head (which becomes a history point keyed by its savedAt).
      const now = stampAfter(vault.clock.now(), current?.savedAt);
      const backups = new Map<string, BackupRecord | null>();
      if (current && current.manifest.sizeBytes > 0) {
        // Hashed over the bytes: the head's keys may have been vouched for by fingerprints (#12.8).
        // The save or open that made this head hashed its bytes already, when nothing changed since.
        const sha256 = (await live.headImageHash(current.manifest)) ?? (await sha256Hex(before));
        const note = `Automatic backup before restoring ${record.info.backupId}`;
        backups.set(previousId, beforeRestoreRecord(previousId, current.manifest, sha256, live.conn.tables(), note, now));
      }
      const head = { manifest: record.manifest, savedAt: now };
      // Opened before the commit: once the new head is committed, nothing may fail before the
      // live connection holds it (else the next save would write the old image back over it).
      const next = live.openImage(image);
      try {
        await store.commit({ heads: new Map([[LIVE_HEAD, head]]), backups, releaseStaging: [ctx.jobId] }, { signal: ctx.signal });
      } catch (error) {
        next.close();
        throw error;
      }
      live.adopt(next, image, record.manifest, now);
      return backups.size > 0 ? { previousBackupId: previousId } : {};
    }),
    // Each step that changes the live connection is synchronous (the export, the adopt): a read
    // answered meanwhile sees the state before the restore or after it.
    { readsPass: true },
  );
}

/** Writes a backup as the live database of another vault name (which must not be open). */
async function restoreInto(vault: VaultContext, into: string, record: BackupRecord): Promise<RestoreResult> {
  const { store, engine, name } = vault;
  const release = await acquireLock(into, 0);
  let target: VaultStore | undefined;
  try {
    target = await VaultStore.open(into);
    const chunks: StoredChunk[] = [];
    for (const key of new Set(record.manifest.chunks)) if (!target.hasChunk(key)) chunks.push(await store.getChunk(key));
    const current = target.head(LIVE_HEAD);
    const now = stampAfter(vault.clock.now(), current?.savedAt);
    const backups = new Map<string, BackupRecord | null>();
    let previousBackupId: string | undefined;
    if (current && current.manifest.sizeBytes > 0) {
      previousBackupId = newId('bk');
      const { check, image: before } = await checkImage(engine, await readImage(target, current.manifest));
      const note = `Automatic backup before restoring ${record.info.backupId} from "${name}"`;
      backups.set(previousBackupId, beforeRestoreRecord(previousBackupId, current.manifest, await sha256Hex(before), check.tables, note, now));
    }
    await target.commit({ chunks, heads: new Map([[LIVE_HEAD, { manifest: record.manifest, savedAt: now }]]), backups });
    return previousBackupId === undefined ? {} : { previousBackupId };
  } finally {
    target?.close();
    release();
  }
}
