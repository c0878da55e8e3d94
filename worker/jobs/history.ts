/**
 * Time travel: the live database as it was at any moment of the history window. The store keeps
 * each save's replaced head as a point and thins them in the commit that saves (see
 * worker/store/history-keeper.ts); this module sets the policy, lists the points, and restores,
 * backs up or downloads the point in force at a moment.
 *
 * A point `at` holds the state saved at `at`, in force until the next point (or the live head):
 * the state "at" a moment t is the newest point (or head) saved at or before t.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { sha256Hex } from '../../src/format/sha256';
import type { BackupInfo, CreateBackupOptions, HistoryListOptions, HistoryPoint, LiveDownloadOptions, ProgressListener, RestoreAtOptions, RestoreOptions, RestoreResult } from '../../src/protocol';
import { checkImage } from '../engine';
import { HISTORY_META_KEY, LIVE_HEAD, type BackupRecord, type HistoryPolicy, type Manifest } from '../store/schema';
import { checkName, oneOf, optionalString } from '../validate';
import { readImage } from './chunk-io';
import type { VaultContext } from './context';
import { plainFileParts } from './plain-file';
import { restoreChecked } from './restore';
import { listRemoteHistory, restoreAtFromRemote } from '../remote/points';
import { checkAt, historyRows } from './history-rows';
import { newId } from './runner';

export { checkAt } from './history-rows';

const MINUTE_MS = 60_000;
const MAX_KEEP_MS = 366 * 24 * 3_600_000;
const UNIT_MS = { m: MINUTE_MS, h: 3_600_000, d: 24 * 3_600_000 } as const;

function invalid(message: string, argument: string): PagevaultError {
  return new PagevaultError(ErrorCode.INVALID_ARGUMENT, message, { argument });
}

/**
 * The policy `openVault({ history })` asks for: undefined (keep the stored one), null (off) or a policy.
 * @throws INVALID_ARGUMENT for a malformed `keep` or `maxBytes`.
 */
export function checkHistoryOption(value: unknown): HistoryPolicy | null | undefined {
  if (value === undefined) return undefined;
  if (value === false) return null;
  if (typeof value !== 'object' || value === null) throw invalid('history must be { keep: "24h", maxBytes? } or false.', 'history');
  const { keep, maxBytes } = value as Record<string, unknown>;
  const match = typeof keep === 'string' ? /^(\d{1,9})([mhd])$/.exec(keep) : null;
  const keepMs = typeof keep === 'number' ? keep : match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!Number.isInteger(keepMs) || keepMs < MINUTE_MS || keepMs > MAX_KEEP_MS) {
    throw invalid(`history.keep must be "30m", "24h", "7d" or milliseconds, from 1 minute to 366 days (got ${JSON.stringify(keep)}).`, 'history.keep');
  }
  if (maxBytes !== undefined && (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
    throw invalid(`history.maxBytes must be a whole number of bytes (got ${JSON.stringify(maxBytes)}).`, 'history.maxBytes');
  }
  return maxBytes === undefined ? { keepMs } : { keepMs, maxBytes };
}

/**
 * Stores the policy asked at open (`undefined`: keep the stored one) and thins by it now, in one
 * commit. @throws QUOTA_EXCEEDED, STORAGE.
 */
export async function applyHistoryOption(vault: VaultContext, policy: HistoryPolicy | null | undefined): Promise<void> {
  const stored = vault.store.historyPolicy;
  if (policy === undefined || (policy === null && stored === null)) return;
  if (policy && stored && policy.keepMs === stored.keepMs && policy.maxBytes === stored.maxBytes) return;
  await vault.store.commit({ meta: new Map([[HISTORY_META_KEY, policy]]) }, { now: vault.clock.now() });
}

/**
 * Every point of the history (and the current state, last) saved within `since`..`until`; with
 * `from`, the points that remote holds (worker/remote/points.ts). @throws INVALID_ARGUMENT.
 */
export function listHistory(vault: VaultContext, options: HistoryListOptions): HistoryPoint[] | Promise<HistoryPoint[]> {
  if (options?.from !== undefined) return listRemoteHistory(vault, options);
  const head = vault.store.head(LIVE_HEAD);
  return historyRows([...vault.store.listPoints(), ...(head ? [{ at: head.savedAt, manifest: head.manifest, current: true as const }] : [])], options);
}

/** True when a restore asks for a moment rather than a backup. */
export function isRestoreAt(options: RestoreOptions): options is RestoreAtOptions {
  return typeof options === 'object' && options !== null && 'at' in options;
}

/**
 * Restores the state in force at `options.at` over the live database (or `into` another name),
 * with every check and the undo of a backup restore; the replaced state becomes a point too.
 * With `from`, the state comes from that remote's points (worker/remote/points.ts).
 * @throws INVALID_ARGUMENT, NOT_FOUND (nothing saved at or before `at`), CORRUPT, LOCKED, BUSY.
 */
export async function restoreAtTime(vault: VaultContext, options: RestoreAtOptions): Promise<RestoreResult> {
  const moment = checkAt(options.at);
  if ('backupId' in options || 'tables' in options) throw invalid('restore takes either { backupId, into?, tables? } or { at, into? }.', 'at');
  if (options.from !== undefined) return restoreAtFromRemote(vault, moment, options);
  const into = options.into === undefined ? undefined : checkName(options.into, 'into');
  // The hold resolves the moment inside the store's lock; the record is built from what it holds.
  const held = await heldAt(vault, moment);
  let handed = false;
  try {
    const record = asBackupRecord(held, `at-${new Date(held.at).toISOString()}`);
    return await restoreChecked(vault, record, into, undefined, async () => {
      handed = true;
      return held;
    });
  } finally {
    if (!handed) await held.release();
  }
}

/**
 * Turns the state in force at `options.at` into a regular backup (its manifest: no page copy) as
 * a backup job; resolves with its id once queued.
 * @throws INVALID_ARGUMENT, NOT_FOUND (nothing saved at or before `at`), CLOSED.
 */
export async function backupAtTime(vault: VaultContext, options: CreateBackupOptions, onProgress?: ProgressListener): Promise<{ backupId: string }> {
  const moment = checkAt(options.at);
  if (options.tables !== undefined || options.method !== undefined) throw invalid('A backup of a moment ({ at }) takes no method or tables: it is that moment\'s saved image.', 'at');
  const given = optionalString(options.note, 'note');
  const backupId = newId('bk');
  const held = await heldAt(vault, moment);
  const point = { at: held.at };
  const note = given ?? `The database as it was at ${new Date(point.at).toISOString()}`;
  try {
    const { done } = await vault.runner.enqueue(
      'backup',
      { backupId },
      async (ctx) => {
        const image = await readImage(vault.store, held.manifest, { signal: ctx.signal, onChunk: (n, total) => ctx.progress('read', n, total, 'chunks', { from: 0, to: 80 }) });
        const { check } = await checkImage(vault.engine, image);
        if (check.integrity !== 'ok') throw new PagevaultError(ErrorCode.CORRUPT, `The state at ${new Date(point.at).toISOString()} failed its integrity check: ${check.integrity}`, { at: point.at });
        const record = asBackupRecord({ at: point.at, manifest: { ...held.manifest, sha256: await sha256Hex(image) } }, backupId, note, vault.clock.now(), check.tables);
        await vault.store.commit({ backups: new Map([[backupId, record]]), releaseStaging: [ctx.jobId] }, { signal: ctx.signal });
        return record.info;
      },
      onProgress,
    );
    void done.finally(held.release).catch(() => undefined);
  } catch (error) {
    await held.release();
    throw error;
  }
  return { backupId };
}

/**
 * The state in force at `options.at` as a plain file (`.sqlite`, `.sqlite.gz`, `.sql`), read back
 * through the checked path (every chunk re-hashed).
 * @throws INVALID_ARGUMENT, NOT_FOUND (nothing saved at or before `at`), CORRUPT.
 */
export async function downloadAtTime(vault: VaultContext, options: LiveDownloadOptions): Promise<{ blob: Blob; filename: string }> {
  const moment = checkAt(options.at);
  const format = oneOf(options.format, 'format', ['sqlite', 'sqlite.gz', 'sql'] as const, 'sqlite');
  const held = await heldAt(vault, moment);
  const point = { at: held.at };
  try {
    const image = await readImage(vault.store, held.manifest);
    const stamp = new Date(point.at).toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
    const parts = await plainFileParts(vault.engine, image, format, `${vault.name}.sqlite`, point.at);
    const type = format === 'sqlite' ? 'application/octet-stream' : format === 'sql' ? 'application/sql' : 'application/gzip';
    return { blob: new Blob(parts, { type }), filename: `${vault.name}-at-${stamp}.${format}` };
  } finally {
    await held.release();
  }
}

/** Holds the state in force at `moment`. @throws NOT_FOUND when nothing was saved at or before it. */
async function heldAt(vault: VaultContext, moment: number): Promise<{ readonly at: number; readonly manifest: Manifest; readonly release: () => Promise<void> }> {
  const held = await vault.store.hold({ at: moment });
  return { ...held, at: held.at ?? moment };
}

/** A point as the record a restore or a backup takes (`sha256` only once computed over the bytes). */
function asBackupRecord(point: { at: number; manifest: Manifest }, backupId: string, note?: string, createdAt = point.at, tables: BackupInfo['tables'] = []): BackupRecord {
  const { manifest } = point;
  return {
    manifest,
    info: {
      backupId,
      createdAt,
      method: 'pages',
      ...(note === undefined ? {} : { note }),
      sizeBytes: manifest.sizeBytes,
      storedBytes: 0,
      pageSize: manifest.pageSize,
      pageCount: manifest.pageCount,
      sha256: manifest.sha256 ?? '',
      tables,
    },
  };
}
