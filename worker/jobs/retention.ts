/**
 * Retention: which backups a policy keeps, and applying that as a job.
 *
 * Backups are grouped as restic groups snapshots, and every keep rule applies to each group on its
 * own: full backups (method `pages` or `vacuum`), partial backups of one table set (the sorted
 * table names, plus the row filters when there are any), uploads, and automatic backups. So a daily
 * one-table export never crowds the nightly full backups out of `keepLast` or `keepDaily`.
 * In each group, `keepLast` keeps the newest N; `keepDaily`, `keepWeekly` and `keepMonthly` keep the
 * newest backup of each of the N most recent UTC days, ISO weeks and months that have one.
 * A policy with no keep rule keeps everything but what `maxBytes` drops.
 *
 * `maxBytes` bounds the stored (compressed) bytes of the chunks the kept backups reference that the
 * live database does not: exactly what removing every backup would free, since chunks are shared
 * between backups and with the live database (content-addressed, reference-counted). Over it, the
 * oldest unprotected backups go, across all groups, until it fits; one whose removal frees nothing
 * (its chunks are all held by what remains) is kept after all.
 *
 * Invariants (whatever the policy says):
 * - The newest verified full backup is never removed (a partial backup, an upload or an automatic
 *   backup does not count as one).
 * - A backup a queued or running job uses is never removed.
 * - The automatic backup made by the latest restore (the way to undo it) is never removed.
 * - A dry run reports exactly what a real run would remove, and removes nothing.
 *
 * There is no chain to protect among stored backups: each is a complete manifest. Incremental
 * archives exist only as downloads, outside the store; uploading one needs its base backup in the
 * vault, which the vault cannot know is still wanted (it keeps no record of downloads).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { BackupInfo, RetentionDecision, RetentionPolicy, RetentionResult } from '../../src/protocol';
import { LIVE_HEAD } from '../store/schema';
import type { VaultContext } from './context';

/** Meta key the policy is stored under. */
export const RETENTION_META_KEY = 'retention';

/** What the planner needs to know of a backup: its facts and the chunk keys its manifest references. */
export type RetentionCandidate = Pick<BackupInfo, 'backupId' | 'createdAt' | 'method' | 'verifiedAt' | 'verifyFailed' | 'auto' | 'partial' | 'tables' | 'filters'> & {
  readonly chunks: readonly string[];
};

/** What the planner knows besides the backups. */
export interface RetentionFacts {
  /** Backups in use by a queued or running job. */
  readonly inUse?: ReadonlySet<string>;
  /** Stored (compressed) bytes of each chunk; only read when the policy has `maxBytes`. */
  readonly chunkBytes?: ReadonlyMap<string, number>;
  /** The chunk keys of the live database: never freed by removing backups. */
  readonly liveKeys?: ReadonlySet<string>;
}

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
 * The group a backup's keep rules count in, as words for the reasons: `full backups`, `uploads`,
 * `automatic backups`, or `partial backups of a, b` (table names compared as SQLite does, without
 * case; row filters, when any, are part of the set).
 */
export function retentionGroup(b: Pick<RetentionCandidate, 'method' | 'auto' | 'partial' | 'tables' | 'filters'>): string {
  if (b.auto !== undefined || b.method === 'auto') return 'automatic backups';
  if (b.method === 'upload') return 'uploads';
  if (b.partial !== true) return 'full backups';
  const names = b.tables.map((t) => t.name.toLowerCase()).sort();
  const filters = Object.entries(b.filters ?? {})
    .map(([name, where]) => `${name.toLowerCase()} WHERE ${where}`)
    .sort();
  return `partial backups of ${names.join(', ')}${filters.length > 0 ? ` (${filters.join('; ')})` : ''}`;
}

/** Newest first; ties broken by id so the order never depends on the input order. */
function newestFirst<T extends Pick<RetentionCandidate, 'createdAt' | 'backupId'>>(backups: readonly T[]): T[] {
  return [...backups].sort((a, b) => b.createdAt - a.createdAt || (b.backupId < a.backupId ? -1 : 1));
}

/**
 * Decides which backups `policy` keeps and which it removes, and why. Pure: no clock, no I/O.
 * @returns both lists newest first; every backup appears in exactly one of them.
 */
export function planRetention(backups: readonly RetentionCandidate[], policy: RetentionPolicy, facts: RetentionFacts = {}): RetentionResult {
  const ordered = newestFirst(backups);
  const kept = new Map<string, string>();
  const keep = (id: string, reason: string) => {
    if (!kept.has(id)) kept.set(id, reason);
  };

  // Hard protections first: no rule below may remove these.
  const hard = new Map<string, string>();
  const newestVerified = ordered.find((b) => retentionGroup(b) === 'full backups' && b.verifiedAt !== undefined && b.verifyFailed === undefined);
  if (newestVerified) hard.set(newestVerified.backupId, 'the newest verified full backup');
  const undo = ordered.find((b) => b.auto === 'before-restore');
  if (undo && !hard.has(undo.backupId)) hard.set(undo.backupId, 'made by the latest restore (undoes it)');
  for (const b of ordered) if (facts.inUse?.has(b.backupId) && !hard.has(b.backupId)) hard.set(b.backupId, 'in use by a running job');

  const hasKeepRule = policy.keepLast !== undefined || BUCKETS.some((bucket) => policy[bucket.rule] !== undefined);
  if (!hasKeepRule) for (const b of ordered) keep(b.backupId, 'no keep rule in the policy');
  const groups = new Map<string, RetentionCandidate[]>();
  for (const b of ordered) {
    const group = retentionGroup(b);
    groups.set(group, [...(groups.get(group) ?? []), b]);
  }
  for (const [group, members] of groups) {
    for (const b of members.slice(0, policy.keepLast ?? 0)) keep(b.backupId, `one of the last ${policy.keepLast} ${group}`);
    for (const bucket of BUCKETS) {
      const limit = policy[bucket.rule] ?? 0;
      const seen = new Set<string>();
      for (const b of members) {
        const key = bucket.key(b.createdAt);
        if (seen.has(key)) continue;
        if (seen.size >= limit) break;
        seen.add(key);
        keep(b.backupId, `newest of ${bucket.label} ${key} (${group})`);
      }
    }
  }

  const removed = new Map<string, string>();
  for (const b of ordered) if (!kept.has(b.backupId) && !hard.has(b.backupId)) removed.set(b.backupId, 'not selected by any keep rule');
  if (policy.maxBytes !== undefined) capBytes(ordered, policy.maxBytes, facts, hard, removed);

  const decision = (b: RetentionCandidate, reason: string): RetentionDecision => ({ backupId: b.backupId, reason });
  return {
    removed: ordered.filter((b) => removed.has(b.backupId)).map((b) => decision(b, removed.get(b.backupId)!)),
    kept: ordered.filter((b) => !removed.has(b.backupId)).map((b) => decision(b, kept.get(b.backupId) ?? hard.get(b.backupId)!)),
  };
}

/**
 * Removes the oldest unprotected backups (adding to `removed`) until the stored bytes of the chunks
 * the remaining backups reference, and the live database does not, fit in `maxBytes`; then puts
 * back each of those whose chunks are all held by what remains (its removal frees nothing, e.g.
 * a protected backup holds the same chunks and keeps the total over the bound anyway).
 */
function capBytes(ordered: readonly RetentionCandidate[], maxBytes: number, facts: RetentionFacts, hard: ReadonlyMap<string, string>, removed: Map<string, string>): void {
  const holders = new Map<string, number>();
  let total = 0;
  const bytes = (key: string) => facts.chunkBytes?.get(key) ?? 0;
  // Returns the change in `total` when backup `b` joins (+1) or leaves (-1) the remaining set.
  const move = (b: RetentionCandidate, sign: 1 | -1): number => {
    let change = 0;
    for (const key of new Set(b.chunks)) {
      if (facts.liveKeys?.has(key)) continue;
      const before = holders.get(key) ?? 0;
      holders.set(key, before + sign);
      if (before === 0 && sign === 1) change += bytes(key);
      if (before === 1 && sign === -1) change -= bytes(key);
    }
    total += change;
    return change;
  };
  for (const b of ordered) if (!removed.has(b.backupId)) move(b, 1);
  const reason = `over maxBytes (${maxBytes} bytes)`;
  const cut: RetentionCandidate[] = [];
  for (const b of [...ordered].reverse()) {
    if (total <= maxBytes) break;
    if (removed.has(b.backupId) || hard.has(b.backupId)) continue;
    move(b, -1);
    removed.set(b.backupId, reason);
    cut.push(b);
  }
  for (const b of cut.reverse()) {
    if (move(b, 1) === 0) removed.delete(b.backupId);
    else move(b, -1);
  }
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
export async function loadPolicy(vault: VaultContext): Promise<RetentionPolicy> {
  return (await vault.store.getMeta<RetentionPolicy>(RETENTION_META_KEY)) ?? {};
}

/** Stores the policy (replacing the previous one). @throws INVALID_ARGUMENT */
export async function savePolicy(vault: VaultContext, value: unknown): Promise<void> {
  const policy = checkPolicy(value);
  await vault.store.commit({ meta: new Map([[RETENTION_META_KEY, policy]]) });
}

/**
 * The plan for the stored policy against the backups as they are now. Chunk sizes are read (one
 * key at a time, through the store's public `storedBytes`) only when the policy has `maxBytes`, and
 * only for keys the live database does not hold.
 */
async function planNow(vault: VaultContext, policy: RetentionPolicy): Promise<RetentionResult> {
  const { store } = vault;
  const records = store.listBackups();
  const backups = records.map((r): RetentionCandidate => ({ ...r.info, chunks: r.manifest.chunks }));
  const inUse = new Set(backups.filter((b) => vault.runner.uses(b.backupId) || store.isHeld(b.backupId)).map((b) => b.backupId));
  const liveKeys = new Set(store.head(LIVE_HEAD)?.manifest.chunks ?? []);
  const chunkBytes = new Map<string, number>();
  if (policy.maxBytes !== undefined) {
    const keys = [...new Set(backups.flatMap((b) => b.chunks))].filter((key) => !liveKeys.has(key));
    const sizes = await Promise.all(keys.map((key) => store.storedBytes([key])));
    keys.forEach((key, i) => {
      chunkBytes.set(key, sizes[i]!);
    });
  }
  return planRetention(backups, policy, { inUse, liveKeys, chunkBytes });
}

/**
 * Applies the stored policy as a `retention` job: every removed backup goes in one transaction,
 * with the chunks nothing references any more. A dry run only plans (no job, nothing deleted).
 * @throws INVALID_ARGUMENT, CLOSED, STORAGE
 */
export async function applyRetention(vault: VaultContext, options: { dryRun?: unknown } = {}): Promise<RetentionResult> {
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'dryRun must be true or false.', { argument: 'dryRun' });
  }
  const policy = await loadPolicy(vault);
  if (options.dryRun) return planNow(vault, policy);
  const { done } = await vault.runner.enqueue('retention', {}, async (ctx) => {
    const plan = await planNow(vault, policy);
    ctx.progress('remove', 0, plan.removed.length, 'chunks');
    if (plan.removed.length === 0) return plan;
    // keepHeld: a backup a reader took since the plan was made (a restore queued meanwhile) stays.
    const { kept } = await vault.store.commit({ backups: new Map(plan.removed.map((r) => [r.backupId, null])) }, { signal: ctx.signal, keepHeld: true });
    ctx.progress('remove', plan.removed.length, plan.removed.length, 'chunks');
    if (kept.length === 0) return plan;
    return {
      removed: plan.removed.filter((r) => !kept.includes(r.backupId)),
      kept: [...plan.kept, ...kept.map((backupId) => ({ backupId, reason: 'in use by a running job' }))],
    };
  });
  return done;
}
