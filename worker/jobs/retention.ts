/**
 * Retention: which backups a policy keeps, and applying that as a job.
 *
 * The policy follows restic's `forget` rules: `keepLast` keeps the newest N backups; `keepDaily`,
 * `keepWeekly` and `keepMonthly` keep the newest backup of each of the N most recent UTC days,
 * ISO weeks and months that have a backup; `maxBytes` then drops the oldest remaining backups
 * until the sum of their `storedBytes` (what each added to the store, compressed) fits.
 * A policy with no keep rule keeps everything but what `maxBytes` drops.
 *
 * Invariants (whatever the policy says):
 * - The newest verified backup is never removed.
 * - A backup a queued or running job uses is never removed.
 * - The automatic backup made by the latest restore (the way to undo it) is never removed.
 * - The base of a kept incremental backup is never removed (a chain stays restorable).
 * - A dry run reports exactly what a real run would remove, and removes nothing.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { BackupInfo, RetentionDecision, RetentionPolicy, RetentionResult } from '../../src/protocol';
import type { BackupJobs } from './backup-jobs';

/** Meta key the policy is stored under. */
export const RETENTION_META_KEY = 'retention';

/** What the planner needs to know of a backup. `base` names the backup an incremental one builds on. */
export type RetentionCandidate = Pick<BackupInfo, 'backupId' | 'createdAt' | 'storedBytes' | 'verifiedAt' | 'verifyFailed' | 'auto'> & {
  readonly base?: string;
};

const DAY_MS = 86_400_000;

/** UTC calendar day, `2026-03-04`. */
function dayKey(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** ISO 8601 week of the UTC date, `2026-W10` (weeks start on Monday; week 1 holds the first Thursday). */
function weekKey(at: number): string {
  const date = new Date(at);
  const weekday = (date.getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  const thursday = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - weekday + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** UTC month, `2026-03`. */
function monthKey(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

const BUCKETS = [
  { rule: 'keepDaily', key: dayKey, label: 'daily' },
  { rule: 'keepWeekly', key: weekKey, label: 'weekly' },
  { rule: 'keepMonthly', key: monthKey, label: 'monthly' },
] as const;

/**
 * Decides which backups `policy` keeps and which it removes, and why. Pure: no clock, no I/O.
 * @param protectedIds backups in use by a queued or running job.
 * @returns both lists newest first; every backup appears in exactly one of them.
 */
export function planRetention(backups: readonly RetentionCandidate[], policy: RetentionPolicy, protectedIds: ReadonlySet<string> = new Set()): RetentionResult {
  const newestFirst = [...backups].sort((a, b) => b.createdAt - a.createdAt || (b.backupId < a.backupId ? -1 : 1));
  const kept = new Map<string, string>();
  const keep = (id: string, reason: string) => {
    if (!kept.has(id)) kept.set(id, reason);
  };

  // Hard protections first: no rule below may remove these.
  const hard = new Map<string, string>();
  const newestVerified = newestFirst.find((b) => b.verifiedAt !== undefined && b.verifyFailed === undefined);
  if (newestVerified) hard.set(newestVerified.backupId, 'the newest verified backup');
  const undo = newestFirst.find((b) => b.auto === 'before-restore');
  if (undo && !hard.has(undo.backupId)) hard.set(undo.backupId, 'made by the latest restore (undoes it)');
  for (const b of newestFirst) if (protectedIds.has(b.backupId) && !hard.has(b.backupId)) hard.set(b.backupId, 'in use by a running job');

  const hasKeepRule = policy.keepLast !== undefined || BUCKETS.some((bucket) => policy[bucket.rule] !== undefined);
  if (!hasKeepRule) for (const b of newestFirst) keep(b.backupId, 'no keep rule in the policy');
  newestFirst.slice(0, policy.keepLast ?? 0).forEach((b) => keep(b.backupId, `one of the last ${policy.keepLast}`));
  for (const bucket of BUCKETS) {
    const limit = policy[bucket.rule] ?? 0;
    const seen = new Set<string>();
    for (const b of newestFirst) {
      const key = bucket.key(b.createdAt);
      if (seen.has(key)) continue;
      if (seen.size >= limit) break;
      seen.add(key);
      keep(b.backupId, `newest of ${bucket.label} ${key}`);
    }
  }

  const removed = new Map<string, string>();
  for (const b of newestFirst) if (!kept.has(b.backupId) && !hard.has(b.backupId)) removed.set(b.backupId, 'not selected by any keep rule');

  if (policy.maxBytes !== undefined) {
    let total = newestFirst.reduce((sum, b) => (removed.has(b.backupId) ? sum : sum + b.storedBytes), 0);
    for (const b of [...newestFirst].reverse()) {
      if (total <= policy.maxBytes) break;
      if (removed.has(b.backupId) || hard.has(b.backupId)) continue;
      kept.delete(b.backupId);
      removed.set(b.backupId, `over maxBytes (${policy.maxBytes} bytes)`);
      total -= b.storedBytes;
    }
  }

  // A kept incremental backup needs its whole chain; bring back any base that was removed.
  const byId = new Map(newestFirst.map((b) => [b.backupId, b]));
  const pending = newestFirst.filter((b) => !removed.has(b.backupId));
  while (pending.length > 0) {
    const base = pending.pop()!.base;
    if (base === undefined || !removed.has(base)) continue;
    removed.delete(base);
    hard.set(base, 'the base of a kept incremental backup');
    const rescued = byId.get(base);
    if (rescued) pending.push(rescued);
  }

  const decision = (b: RetentionCandidate, reason: string): RetentionDecision => ({ backupId: b.backupId, reason });
  return {
    removed: newestFirst.filter((b) => removed.has(b.backupId)).map((b) => decision(b, removed.get(b.backupId)!)),
    kept: newestFirst.filter((b) => !removed.has(b.backupId)).map((b) => decision(b, kept.get(b.backupId) ?? hard.get(b.backupId)!)),
  };
}

const POLICY_KEYS = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'maxBytes'] as const;

/**
 * Checks a policy sent by the page: known keys only, non-negative integers.
 * @throws INVALID_ARGUMENT naming the bad field.
 */
export function checkPolicy(value: unknown): RetentionPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'The retention policy must be an object like { keepLast: 7 }.', { argument: 'policy' });
  }
  const policy: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (raw === undefined) continue;
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Unknown retention rule "${key}"; expected one of ${POLICY_KEYS.join(', ')}.`, { argument: key });
    }
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) {
      throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Retention rule ${key} must be a non-negative integer.`, { argument: key });
    }
    policy[key] = raw;
  }
  return policy as RetentionPolicy;
}

/** The stored policy, `{}` (keep everything) when none was set. */
export async function loadPolicy(jobs: BackupJobs): Promise<RetentionPolicy> {
  return (await jobs.parts.store.getMeta<RetentionPolicy>(RETENTION_META_KEY)) ?? {};
}

/** Stores the policy (replacing the previous one). @throws INVALID_ARGUMENT */
export async function savePolicy(jobs: BackupJobs, value: unknown): Promise<void> {
  const policy = checkPolicy(value);
  await jobs.parts.store.commit({ meta: new Map([[RETENTION_META_KEY, policy]]) });
}

/** The plan for the stored policy against the backups as they are now. */
function planNow(jobs: BackupJobs, policy: RetentionPolicy): RetentionResult {
  const backups = jobs.list();
  const inUse = new Set(backups.filter((b) => jobs.runner.uses(b.backupId)).map((b) => b.backupId));
  return planRetention(backups, policy, inUse);
}

/**
 * Applies the stored policy as a `retention` job: every removed backup goes in one transaction,
 * with the chunks nothing references any more. A dry run only plans (no job, nothing deleted).
 * @throws INVALID_ARGUMENT, CLOSED, STORAGE
 */
export async function applyRetention(jobs: BackupJobs, options: { dryRun?: unknown } = {}): Promise<RetentionResult> {
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'dryRun must be true or false.', { argument: 'dryRun' });
  }
  const policy = await loadPolicy(jobs);
  if (options.dryRun) return planNow(jobs, policy);
  const { done } = await jobs.runner.enqueue('retention', {}, async (ctx) => {
    const plan = planNow(jobs, policy);
    ctx.progress('remove', 0, plan.removed.length, 'chunks');
    if (plan.removed.length > 0) await jobs.parts.store.commit({ backups: new Map(plan.removed.map((r) => [r.backupId, null])) }, { signal: ctx.signal });
    ctx.progress('remove', plan.removed.length, plan.removed.length, 'chunks');
    return plan;
  });
  return done;
}
