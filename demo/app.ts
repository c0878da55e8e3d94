/**
 * The demo's shared state: which vault is open, and the events panels listen to so each can
 * refresh itself without knowing the others.
 */
import { ErrorCode, PagevaultError, openVault, type Vault } from '../src/index';

/**
 * - `vault`: a database was opened or closed.
 * - `data`: the live database's content changed (SQL, generator, restore).
 * - `backups`: the catalog changed (backup made, dropped, uploaded, verified).
 * - `jobs`: a job started or ended.
 * - `databases`: the set of database names changed (created, deleted, restored into).
 */
export type AppEvent = 'vault' | 'data' | 'backups' | 'jobs' | 'databases';

/** The IndexedDB name prefix pagevault uses for a vault's store. */
export const DB_PREFIX = 'pagevault:';
const LAST_OPENED_KEY = 'pagevault-demo:last-opened';
/** How long a delete may stay blocked by another connection before we report it. */
const BLOCKED_WAIT_MS = 3000;

export class App {
  private current: Vault | undefined;
  private readonly events = new EventTarget();

  get vault(): Vault | undefined {
    return this.current;
  }

  /** The open vault. @throws CLOSED when none is open. */
  need(): Vault {
    if (!this.current) throw new PagevaultError(ErrorCode.CLOSED, 'Open a database first.', {});
    return this.current;
  }

  on(event: AppEvent, listener: () => void): void {
    this.events.addEventListener(event, listener);
  }

  /** Keeps `controls` enabled exactly while a database is open. */
  enableWhenOpen(...controls: { disabled: boolean }[]): void {
    const sync = () => {
      for (const control of controls) control.disabled = !this.current;
    };
    this.on('vault', sync);
    sync();
  }

  emit(...events: AppEvent[]): void {
    for (const event of events) this.events.dispatchEvent(new Event(event));
  }

  /** Closes the open vault (if any) and opens `name`, creating it when new. */
  async open(name: string): Promise<Vault> {
    await this.close();
    const vault = await openVault({ name });
    this.current = vault;
    localStorage.setItem(LAST_OPENED_KEY, name);
    this.emit('vault', 'databases', 'data', 'backups', 'jobs');
    return vault;
  }

  async close(): Promise<void> {
    const vault = this.current;
    if (!vault) return;
    this.current = undefined;
    try {
      await vault.close();
    } finally {
      this.emit('vault');
    }
  }

  /** Closes `name` if it is open, then deletes its IndexedDB database. */
  async delete(name: string): Promise<void> {
    if (this.current?.name === name) await this.close();
    if (localStorage.getItem(LAST_OPENED_KEY) === name) localStorage.removeItem(LAST_OPENED_KEY);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(DB_PREFIX + name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(new PagevaultError(ErrorCode.STORAGE, `Could not delete "${name}": ${request.error?.message ?? 'unknown error'}.`, { name }));
      // A worker that just ended may still hold its connection for a moment: wait a little first.
      request.onblocked = () => {
        timer = setTimeout(() => reject(new PagevaultError(ErrorCode.LOCKED, `"${name}" is open in another tab; close it there first.`, { name })), BLOCKED_WAIT_MS);
      };
    }).finally(() => clearTimeout(timer));
    this.emit('databases');
  }

  /** Names of the vaults stored in this origin, sorted. */
  async databases(): Promise<string[]> {
    const all = await indexedDB.databases();
    return all
      .map((d) => d.name ?? '')
      .filter((n) => n.startsWith(DB_PREFIX))
      .map((n) => n.slice(DB_PREFIX.length))
      .sort((a, b) => a.localeCompare(b));
  }

  /** The database opened last time, to reopen after a reload. */
  lastOpened(): string | null {
    return localStorage.getItem(LAST_OPENED_KEY);
  }
}
