/**
 * Verification by restore: read every chunk of a backup back (re-hashing each), hash the image,
 * open it in the sandbox (`trusted_schema=OFF`, no application functions, off the live
 * connection's thread) and run `integrity_check` and `foreign_key_check`.
 * "An untested backup is a hope, not a backup."
 *
 * Invariants:
 * - Damage is a report (`ok: false` with a `reason`), never a thrown error: a damaged chunk, a
 *   wrong image hash, a failed `integrity_check`, row counts that differ from the catalog's.
 * - Foreign key violations are counted, not failed: SQLite enforces foreign keys only when the
 *   application turns them on, so a faithful copy of a database with violations has them too.
 * - A verified backup carries `verifiedAt`; a failed one `verifyFailed` (the reason), committed
 *   with the backup record, and the verify job ends `failed` with `CORRUPT` in history.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { BackupInfo, TableCount, VerifyReport } from '../../src/protocol';
import { checkImage, type ImageCheck } from '../engine';
import type { Manifest } from '../store/schema';
import { checkId } from '../validate';
import { readImageHashed } from './chunk-io';
import type { VaultContext } from './context';
import type { JobContext } from './runner';

/** What a backup claims to be, to check the image against. */
export interface Expected {
  readonly sha256: string;
  readonly tables: readonly TableCount[];
}

/**
 * Checks the image a manifest reassembles. Reads chunks that may still be staged (so a new
 * backup can be verified before its manifest is committed).
 */
export async function verifyManifest(
  vault: VaultContext,
  manifest: Manifest,
  expected: Expected,
  ctx: JobContext,
  weight: { from: number; to: number },
): Promise<VerifyReport> {
  const started = performance.now();
  const failed = (reason: string, partial: Partial<VerifyReport> = {}): VerifyReport => ({
    ok: false,
    integrity: 'not checked',
    foreignKeys: 0,
    sha256Match: false,
    tables: [],
    ...partial,
    durationMs: Math.round(performance.now() - started),
    reason,
  });
  const middle = weight.from + Math.round((weight.to - weight.from) * 0.8);
  let image: Uint8Array;
  let sha256: string | undefined;
  try {
    ({ image, sha256 } = await readImageHashed(vault.store, manifest, {
      signal: ctx.signal,
      hashImage: true,
      onChunk: (n, total) => ctx.progress('verify-read', n, total, 'chunks', { from: weight.from, to: middle }),
    }));
  } catch (error) {
    if (error instanceof PagevaultError && error.code === ErrorCode.CORRUPT) return failed(error.message);
    throw error;
  }
  const sha256Match = sha256 === expected.sha256;
  if (!sha256Match) return failed('The reassembled image does not match the SHA-256 recorded for this backup.');
  ctx.signal.throwIfAborted();
  let check: ImageCheck;
  try {
    check = (await checkImage(vault.engine, image)).check;
  } catch (error) {
    // Running out of the sandbox's budget says nothing about the backup: that is an error, not a verdict.
    if (error instanceof PagevaultError && error.code !== ErrorCode.LIMIT_EXCEEDED) return failed(`The image is not a readable SQLite database: ${error.message}`, { sha256Match });
    throw error;
  }
  ctx.progress('verify-check', 1, 1, 'chunks', { from: middle, to: weight.to });
  const base = { integrity: check.integrity, foreignKeys: check.foreignKeys, sha256Match, tables: check.tables };
  if (check.integrity !== 'ok') return failed(`integrity_check reports: ${check.integrity}`, base);
  const mismatch = firstMismatch(expected.tables, check.tables);
  if (mismatch) return failed(mismatch, base);
  return { ok: true, ...base, durationMs: Math.round(performance.now() - started) };
}

/** Says how the restored tables differ from the ones the catalog recorded, if they do. */
function firstMismatch(expected: readonly TableCount[], found: readonly TableCount[]): string | undefined {
  if (expected.length === 0) return undefined; // nothing recorded to compare with
  const rows = new Map(found.map((t) => [t.name, t.rows]));
  for (const table of expected) {
    const got = rows.get(table.name);
    if (got === undefined) return `Table ${table.name} is missing from the restored image.`;
    if (got !== table.rows) return `Table ${table.name} has ${got} rows; the backup recorded ${table.rows}.`;
  }
  if (found.length !== expected.length) return `The restored image has ${found.length} tables; the backup recorded ${expected.length}.`;
  return undefined;
}

/** The backup's info after a verification: `verifiedAt` on success, `verifyFailed` otherwise. */
export function markVerified(info: BackupInfo, report: VerifyReport, at: number): BackupInfo {
  const { verifiedAt: _at, verifyFailed: _failed, ...rest } = info;
  return report.ok ? { ...rest, verifiedAt: at } : { ...rest, verifyFailed: report.reason ?? 'verification failed' };
}

/**
 * Verifies a stored backup as a `verify` job and records the outcome on it.
 * @returns the report; damage gives `ok: false` with a `reason`, not an error.
 * @throws NOT_FOUND, CANCELLED, CLOSED, STORAGE
 */
export async function verifyBackup(vault: VaultContext, backupIdValue: unknown): Promise<VerifyReport> {
  const backupId = checkId(backupIdValue, 'backupId');
  let report: VerifyReport | undefined;
  const { done } = await vault.enqueueHolding('verify', backupId, async (ctx) => {
    const record = vault.store.backup(backupId)!;
    report = await verifyManifest(vault, record.manifest, record.info, ctx, { from: 0, to: 99 });
    const info = markVerified(record.info, report, Date.now());
    await vault.store.commit({ backups: new Map([[backupId, { ...record, info }]]) }, { signal: ctx.signal });
    if (!report.ok) throw new PagevaultError(ErrorCode.CORRUPT, `Backup ${backupId} failed verification: ${report.reason}`, { backupId });
    return report;
  });
  try {
    return await done;
  } catch (error) {
    if (report && !report.ok) return report; // the damage is the answer, not an error
    throw error;
  }
}
