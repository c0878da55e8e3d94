/**
 * What the history (time travel) tests share: a made-up clock and a vault opened over it.
 */
import type { HistoryOptions, Row } from '../../src/protocol';
import type { Clock } from '../../worker/jobs/clock';
import { createService, type Service } from '../../worker/service';
import { call } from '../support/vault-harness';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** A clock that moves only when told to; its timers never fire (no schedule runs in these tests). */
export class MadeUpClock implements Clock {
  constructor(public at: number) {}
  now(): number {
    return this.at;
  }
  setTimer(): unknown {
    return undefined;
  }
  clearTimer(): void {}
  advance(ms: number): number {
    this.at += ms;
    return this.at;
  }
}

/** A vault over `clock`; autosave off (saves happen on flush, at the clock's time). */
export async function openAt(name: string, clock: Clock, history?: HistoryOptions | false): Promise<Service> {
  const service = createService({ clock });
  await call(service.open({ name, autosaveMs: 3_600_000, ...(history === undefined ? {} : { history }) }));
  return service;
}

/** Inserts row `n` into table `t` (created if needed) and saves; returns the save's time. */
export async function saveRow(service: Service, clock: MadeUpClock, n: number, stepMs = 10_000): Promise<number> {
  clock.advance(stepMs);
  await call(service.exec('CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, body TEXT)'));
  await call(service.exec('INSERT INTO t (n, body) VALUES (?, ?)', [n, `row ${n}`]));
  await call(service.flush());
  return clock.now();
}

/** The row numbers in table `t` (empty when it does not exist). */
export async function rowNumbers(service: Service): Promise<number[]> {
  const tables = await call(service.query("SELECT name FROM sqlite_schema WHERE name = 't'"));
  if (tables.length === 0) return [];
  return (await call(service.query('SELECT n FROM t ORDER BY n'))).map((row: Row) => Number(row['n']));
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
