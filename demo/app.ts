/**
 * The demo's shared state: which vault is open, and the events panels listen to so each can
 * refresh itself without knowing the others.
 */
import { ErrorCode, PagevaultError, deleteVault, openVault, type Vault } from '../src/index';

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
/** Time travel in the demo (Timeline panel): two hours, at most 50 MB that only history holds. */
const DEMO_HISTORY = { keep: '2h', maxBytes: 50_000_000 } as const;
/** How long opening waits for another owner of the name before it reports LOCKED. */
const LOCK_WAIT_MS = 3000;
/** Changes made in other tabs arrive one by one; panels refresh at most this often for them. */
const CHANGE_REFRESH_MS = 150;

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

  /**
   * Closes the open vault (if any) and opens `name`, creating it when new.
   * @throws STORAGE_LOST when the browser cleared its data (`acceptLoss` starts it empty), LOCKED, CORRUPT.
   */
  async open(name: string, options: { acceptLoss?: boolean } = {}): Promise<Vault> {
    await this.close();
    // A short wait for the lock: a job that just wrote this name (restore into it) may still hold it.
    const vault = await openVault({ name, lockTimeoutMs: LOCK_WAIT_MS, history: DEMO_HISTORY, ...options });
    this.current = vault;
    this.followChanges(vault);
    localStorage.setItem(LAST_OPENED_KEY, name);
    this.emit('vault', 'databases', 'data', 'backups', 'jobs');
    return vault;
  }

  /**
   * Refreshes the panels when the vault changes, also from another tab with the same database open
   * (every tab shares it: README "Several tabs"), coalescing bursts (a generator's many inserts).
   */
  private followChanges(vault: Vault): void {
    const due = new Set<AppEvent>();
    vault.onChange((change) => {
      if (this.current !== vault) return;
      const idle = due.size === 0;
      if (change.kind === 'data') due.add('data');
      else due.add('backups').add('jobs');
      if (!idle) return; // a refresh is already due
      setTimeout(() => {
        const events = [...due];
        due.clear();
        if (this.current === vault) this.emit(...events);
      }, CHANGE_REFRESH_MS);
    });
  }

  /**
   * Closes the open vault. When its final save fails the vault stays open (nothing acknowledged is
   * lost) and this rejects with the reason: the page can retry or download the live database.
   */
  async close(): Promise<void> {
    const vault = this.current;
    if (!vault) return;
    await vault.close();
    this.current = undefined;
    this.emit('vault');
  }

  /**
   * Closes `name` if it is open here, then deletes it with everything stored for it.
   * @throws LOCKED when it is open in another tab; STORAGE when IndexedDB refuses.
   */
  async delete(name: string): Promise<void> {
    if (this.current?.name === name) await this.close();
    if (localStorage.getItem(LAST_OPENED_KEY) === name) localStorage.removeItem(LAST_OPENED_KEY);
    await deleteVault(name);
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
