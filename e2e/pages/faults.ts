/**
 * The page the Chromium fault checks (e2e/faults.mjs) and the soak test (scripts/soak.mjs) drive:
 * the public API on `window.pv`, plus small helpers that keep `page.evaluate` bodies short.
 * Errors are returned as `{ code, message, details }` so they cross the CDP boundary intact.
 */
import { deleteVault, openVault, type ChangeEvent, type OpenOptions, type Vault } from '../../src/index';

const vaults = new Map<string, Vault>();
const changes = new Map<string, ChangeEvent[]>();

/** Runs `body`, resolving with its value or with the PagevaultError's code, message and details. */
async function attempt<T>(body: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string; message: string; details: unknown }> {
  try {
    return { ok: true, value: await body() };
  } catch (error) {
    const e = error as { code?: string; message?: string; details?: unknown };
    return { ok: false, code: e.code ?? 'RAW', message: e.message ?? String(error), details: e.details ?? {} };
  }
}

const pv = {
  attempt,
  deleteVault,
  async open(name: string, options: Omit<OpenOptions, 'name'> = {}): Promise<void> {
    vaults.set(name, await openVault({ name, ...options }));
  },
  vault(name: string): Vault {
    const vault = vaults.get(name);
    if (!vault) throw new Error(`no open vault ${name}`);
    return vault;
  },
  async close(name: string): Promise<void> {
    await vaults.get(name)?.close();
    vaults.delete(name);
  },
  /** Adds `rows` rows of `bytes` random (incompressible) bytes each to table `item`. */
  async fill(name: string, rows: number, bytes: number): Promise<void> {
    const vault = pv.vault(name);
    await vault.exec('CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    await vault.exec('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) INSERT INTO item (body) SELECT randomblob(?) FROM c', [rows, bytes]);
  },
  async count(name: string): Promise<number> {
    const rows = await pv.vault(name).query<{ n: number }>('SELECT count(*) AS n FROM item');
    return rows[0]!.n;
  },
  /** Starts recording the vault's change events (e2e/tabs.mjs reads them with `changes`). */
  watch(name: string): void {
    const seen: ChangeEvent[] = [];
    changes.set(name, seen);
    pv.vault(name).onChange((event) => seen.push(event));
  },
  changes: (name: string): ChangeEvent[] => changes.get(name) ?? [],
  estimate: () => navigator.storage.estimate(),
};

declare global {
  interface Window {
    pv: typeof pv;
  }
}
window.pv = pv;
document.body.dataset['ready'] = 'true';
