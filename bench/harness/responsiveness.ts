/**
 * What a user feels during a job: main-thread long tasks (PerformanceObserver, > 50 ms) and the
 * round trip of `SELECT 1` sent to the vault every 20 ms from the page (not waiting for the
 * previous answer, so a blocked worker shows as queued, growing latencies).
 */
import type { Vault } from '../../src/index';

const PING_INTERVAL_MS = 20;

export interface Responsiveness {
  readonly longTasks: number;
  readonly longTaskMaxMs: number;
  readonly pings: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/** The q-quantile (0..1) of `values` (nearest rank); 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Starts watching; `stop()` waits for the pings in flight and returns the figures. */
export function watchResponsiveness(vault: Vault): { stop: () => Promise<Responsiveness> } {
  const longTasks: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  });
  observer.observe({ type: 'longtask' });
  const rtts: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const sent = performance.now();
    const ping = vault
      .query('SELECT 1')
      .then(() => void rtts.push(performance.now() - sent))
      .catch(() => undefined)
      .finally(() => inFlight.delete(ping));
    inFlight.add(ping);
  }, PING_INTERVAL_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
      for (const entry of observer.takeRecords()) longTasks.push(entry.duration);
      observer.disconnect();
      return {
        longTasks: longTasks.length,
        longTaskMaxMs: Math.max(0, ...longTasks),
        pings: rtts.length,
        p50Ms: quantile(rtts, 0.5),
        p95Ms: quantile(rtts, 0.95),
        maxMs: Math.max(0, ...rtts),
      };
    },
  };
}
