/** How the demo writes sizes, times, counts and backups for people. */
import type { BackupInfo } from '../../src/index';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** 1536 -> "1.5 KB" (decimal-free below 10 of a unit is too coarse, so one decimal there). */
export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'unknown';
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${unit === 0 || n >= 10 ? Math.round(n) : n.toFixed(1)} ${UNITS[unit]}`;
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** Epoch ms -> "14:03:21" today, "Nov 20, 14:03" otherwise. */
export function when(epochMs: number | undefined | null): string {
  if (epochMs === undefined || epochMs === null) return '';
  const date = new Date(epochMs);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString('en-GB')
    : date.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

/** 1234 -> "1.2 s", 83_000 -> "1 min 23 s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** "bk-lx3k2-9f8e7d" -> "bk-lx3k2-9f8e" : ids are long; the tail is enough to tell them apart. */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 16)}…` : id;
}

export function methodLabel(b: BackupInfo): string {
  const method = b.method === 'pages' ? 'page copy' : b.method;
  if (b.auto === 'before-restore') return 'auto, before restore';
  return b.scheduleId ? `${method}, ${b.scheduleId}` : method;
}

/** What a person calls a backup: its note, "undo point" for automatic ones, else its method. */
export function backupName(b: BackupInfo): string {
  return b.auto === 'before-restore' ? 'undo point' : (b.note ?? methodLabel(b));
}
