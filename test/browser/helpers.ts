/** Shared helpers for the browser suites (real engines: Chromium, Firefox, WebKit; real IndexedDB, real workers). */
import { openDB } from 'idb';
import { openVault, type OpenVaultOptions, type Vault } from '../../src/index';

/** A database name no other test uses (each test gets a fresh IndexedDB database). */
export function uniqueName(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

/** A worker we hold ourselves, so a test can terminate it mid-operation. */
export function startWorker(): Worker {
  return new Worker(new URL('../../worker/index.ts', import.meta.url), { type: 'module' });
}

export async function open(name: string, options: Partial<OpenVaultOptions> = {}): Promise<Vault> {
  return openVault({ name, autosaveMs: 60_000, ...options });
}

/** Fills table `item` with `rows` rows of ~`rowBytes` bytes of compressible text. */
export async function fillRows(vault: Vault, rows: number, rowBytes = 100, table = 'item'): Promise<void> {
  await vault.exec(`CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY, body TEXT NOT NULL, n INTEGER NOT NULL)`);
  await vault.exec(
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
     INSERT INTO ${table} (body, n) SELECT printf('row %d ', x) || substr(hex(randomblob(?)) || hex(zeroblob(?)), 1, ?), x FROM c`,
    [rows, Math.ceil(rowBytes / 4), Math.ceil(rowBytes / 2), rowBytes],
  );
}

/** Grows the database to about `megabytes` MB. */
export async function fillMegabytes(vault: Vault, megabytes: number, table = 'item'): Promise<void> {
  await fillRows(vault, Math.ceil((megabytes * 1024 * 1024) / 330), 300, table);
}

export async function count(vault: Vault, table = 'item'): Promise<number> {
  const rows = await vault.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  return rows[0]!.n;
}

/** A checksum over every row of every user table, to compare contents across restores. */
export async function contentDigest(vault: Vault): Promise<string> {
  const tables = await vault.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  const parts: string[] = [];
  for (const { name } of tables) {
    // Rowids are content too (a restore must keep them); WITHOUT ROWID tables have none.
    const rows = await vault.query(`SELECT rowid AS __rowid, * FROM "${name}"`).catch(() => vault.query(`SELECT * FROM "${name}"`));
    const lines = rows.map((row) => JSON.stringify(row, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v))).sort();
    parts.push(name, ...lines);
  }
  const bytes = new TextEncoder().encode(parts.join('\n'));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Opens the vault's IndexedDB database directly, as an attacker or a failing disk would. */
export async function rawStore(name: string) {
  return openDB(`pagevault:${name}`);
}

/** Expects `promise` to reject with a PagevaultError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code?: string; message: string; details: Record<string, unknown>; name?: string };
    if (e.code !== code) throw new Error(`expected code ${code}, got ${e.code ?? 'none'} (${e.name}: ${e.message})`);
    return e as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error(`expected a rejection with code ${code}, but it resolved`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
