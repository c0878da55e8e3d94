/**
 * Database picker: open or create a vault by name, see the stored ones, delete one.
 * Deleting closes the vault first, then removes its IndexedDB database.
 */
import { ErrorCode, PagevaultError } from '../../src/index';
import type { App } from '../app';
import { confirmAction } from '../lib/dialog';
import { field, h, panel } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { saveFile } from '../lib/save-file';
import { bytes, duration, when } from '../lib/format';

/** How often the "saving…" line looks again while changes wait for the autosave. */
const DIRTY_POLL_MS = 500;

export function mountDatabasePanel(root: HTMLElement, app: App): void {
  panel(root, 'Database', 'Each name is its own SQLite database, saved in IndexedDB as pagevault:<name>.');
  const status = new StatusLine();
  const nameInput = h('input', { name: 'name', required: true, maxlength: 128, autocomplete: 'off', spellcheck: false, value: 'demo' });
  const openButton = h('button', { type: 'submit', class: 'primary' }, 'Open or create');
  const form = h('form', { class: 'inline-form' }, field('Name', nameInput), openButton);
  const current = h('div', { class: 'current-db' });
  const list = h('ul', { class: 'db-list', 'aria-label': 'Stored databases' });

  const open = async (name: string, button: HTMLButtonElement | null, acceptLoss = false) => {
    status.busy(`Opening "${name}"…`);
    nameInput.value = name;
    if (button) button.disabled = true;
    try {
      await app.open(name, acceptLoss ? { acceptLoss } : {});
      status.clear();
    } catch (error) {
      if (status.error(error) !== ErrorCode.STORAGE_LOST) return;
      // The browser cleared this vault's data: say so, and let the person choose to start anew.
      const fresh = h('button', { type: 'button' }, `Start "${name}" empty`);
      fresh.addEventListener('click', () => void open(name, fresh, true));
      status.element.append(' ', fresh);
    } finally {
      if (button) button.disabled = false; // list buttons are redrawn after a successful open anyway
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void open(nameInput.value.trim(), openButton);
  });

  const remove = async (name: string, button: HTMLButtonElement) => {
    const sure = await confirmAction(`Delete "${name}"?`, 'The database and all of its backups are removed from this browser. Download the backups you want to keep first: this cannot be undone.', 'Delete database', true);
    if (!sure) return;
    status.busy(`Deleting "${name}"…`);
    const done = await act(button, status, async () => {
      await app.delete(name);
      return true;
    });
    if (done) status.ok(`Deleted "${name}".`);
  };

  const renderList = async () => {
    const names = await app.databases();
    const openName = app.vault?.name;
    list.replaceChildren(
      ...names.map((name) => {
        const isOpen = name === openName;
        const openIt = h('button', { type: 'button', disabled: isOpen, 'aria-label': `Open ${name}` }, isOpen ? 'Open now' : 'Open');
        openIt.addEventListener('click', () => void open(name, openIt));
        const del = h('button', { type: 'button', class: 'danger subtle', 'aria-label': `Delete ${name}` }, 'Delete');
        del.addEventListener('click', () => void remove(name, del));
        return h('li', { class: isOpen ? 'is-open' : undefined }, h('span', { class: 'db-name' }, name), h('span', { class: 'row-actions' }, openIt, del));
      }),
    );
    if (names.length === 0) list.replaceChildren(h('li', { class: 'empty' }, 'No databases yet: open a name to create one.'));
  };

  const renderCurrent = async () => {
    const vault = app.vault;
    if (!vault) {
      current.replaceChildren(h('p', { class: 'muted' }, 'No database open.'));
      return;
    }
    const info = await vault.info().catch(() => undefined);
    const closeButton = h('button', { type: 'button', class: 'small' }, 'Close');
    closeButton.addEventListener('click', () => void act(closeButton, status, () => app.close()));
    const saveButton = h('button', { type: 'button', class: 'small' }, 'Save now');
    saveButton.addEventListener('click', async () => {
      const saved = await act(saveButton, status, () => vault.flush());
      if (!saved) return;
      status.ok(saved.chunksWritten === 0 ? 'Already saved: nothing changed.' : `Saved ${saved.chunksWritten} changed chunks (${bytes(saved.bytesWritten)}) in ${duration(saved.durationMs)}.`);
      void renderCurrent();
    });
    // The live database from memory: works even when the browser took the store away.
    const copyButton = h('button', { type: 'button', class: 'small' }, 'Download live copy');
    copyButton.addEventListener('click', async () => {
      const file = await act(copyButton, status, () => vault.download({ format: 'sqlite' }));
      if (file) saveFile(file.blob, file.filename);
    });
    const saving = info?.saveError
      ? `saving failed (${info.saveError.code}), retrying in ${duration(info.saveError.retryInMs)}`
      : info?.dirty
        ? 'unsaved changes, saving…'
        : info?.savedAt
          ? `saved ${when(info.savedAt)}`
          : 'not saved yet';
    current.replaceChildren(
      h('p', {}, 'Open: ', h('strong', { 'data-testid': 'open-db' }, vault.name), info ? ` · ${bytes(info.sizeBytes)} · ${saving}` : ''),
      h('span', { class: 'row-actions' }, saveButton, copyButton, closeButton),
    );
    // While changes wait for the autosave, look again shortly so "saving…" turns into "saved".
    if (info?.dirty) setTimeout(() => void (app.vault === vault && renderCurrent()), DIRTY_POLL_MS);
  };

  app.on('vault', () => {
    // A failed save is reported as it happens (the autosave keeps retrying with backoff).
    app.vault?.onSaveError((event) => status.error(new PagevaultError(event.code, event.message), 'Saving failed'));
    void renderCurrent().then(renderList);
  });
  app.on('data', () => void renderCurrent());
  app.on('databases', () => void renderList());
  root.append(form, current, h('h3', {}, 'Stored in this browser'), list, status.element);
  void renderCurrent();
  void renderList();
  // Reopen the database used last, as an app would after a reload.
  const last = app.lastOpened();
  if (last) void open(last, openButton);
}
