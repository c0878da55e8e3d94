/** Shared fixtures for the format tests: real sql.js images and small archives built from them. */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';
import { expect } from 'vitest';
import { isPagevaultError } from '../../src/errors';
import type { ErrorCode } from '../../src/errors';
import { writeImageArchive } from '../../src/format/archive/from-image';
import type { ImageArchiveOptions } from '../../src/format/archive/from-image';

let sqlPromise: Promise<SqlJsStatic> | undefined;
export const sqlJs = (): Promise<SqlJsStatic> => (sqlPromise ??= initSqlJs());

/** A database with `rows` rows of pseudo-random text in table `t`, page size `pageSize`. */
export async function makeDatabase(rows: number, pageSize = 1024, seed = 1): Promise<Database> {
  const SQL = await sqlJs();
  const db = new SQL.Database();
  db.run(`PRAGMA page_size=${pageSize}; VACUUM;`);
  db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE empty_one (x);');
  let state = seed;
  const next = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31);
  db.run('BEGIN');
  const stmt = db.prepare('INSERT INTO t (body) VALUES (?)');
  for (let i = 0; i < rows; i++) stmt.run([`row ${i} ${next().toString(36)} ${next().toString(36)} ${'x'.repeat(next() % 40)}`]);
  stmt.free();
  db.run('COMMIT');
  return db;
}

export function tablesOf(db: Database): { name: string; rows: number }[] {
  const names = db.exec("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")[0]?.values.map((v) => String(v[0])) ?? [];
  return names.map((name) => ({ name, rows: Number(db.exec(`SELECT count(*) FROM "${name}"`)[0]!.values[0]![0]) }));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const META = { name: 'fixture', createdAt: 1_700_000_000_000, method: 'test', tables: [{ name: 't', rows: 1 }] } as const;

export async function archiveOf(image: Uint8Array, options: ImageArchiveOptions = {}): Promise<Uint8Array> {
  return concat(await writeImageArchive(image, META, options));
}

/** Awaits a rejection and returns its code (fails the test if it is not a PagevaultError). */
export async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<ErrorCode | 'OK'> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
    return 'OK';
  } catch (error) {
    if (!isPagevaultError(error)) expect.fail(`not a PagevaultError: ${String(error)}`);
    return error.code;
  }
}
