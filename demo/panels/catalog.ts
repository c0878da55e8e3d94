/**
 * The catalog: every backup of the open database. Pick one (a radio per row) and act on it:
 * restore, restore into a new name, verify, inspect, drop, or download it in any format
 * (optionally encrypted, or incremental since another backup).
 */
import type { BackupInfo, DownloadFormat, DownloadOptions } from '../../src/index';
import type { App } from '../app';
import { confirmAction } from '../lib/dialog';
import { field, h, panel, table } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { saveFile } from '../lib/save-file';
import { backupName, bytes, duration, methodLabel, shortId, when } from '../lib/format';
import { inspectView } from '../lib/inspect-view';
import { restoreInto, restoreTables, restoreWithUndo } from '../lib/restore';

const FORMATS: readonly { value: DownloadFormat; label: string }[] = [
  { value: 'archive', label: 'pagevault archive' },
  { value: 'sqlite', label: 'SQLite file' },
  { value: 'sqlite.gz', label: 'gzip’d SQLite file' },
  { value: 'sql', label: 'SQL dump' },
];

function noteLabel(b: BackupInfo): Node | string {
  return h('span', { class: 'note', title: b.note ?? '' }, b.auto === 'before-restore' ? 'undo point' : (b.note ?? ''));
}

function verifiedLabel(b: BackupInfo): Node | string {
  if (b.verifyFailed) return h('span', { class: 'badge bad', title: b.verifyFailed }, 'failed');
  if (b.verifiedAt) return h('span', { class: 'badge good', title: `verified ${when(b.verifiedAt)}` }, `✓ ${when(b.verifiedAt)}`);
  return h('span', { class: 'muted' }, '—');
}

export function mountCatalogPanel(root: HTMLElement, app: App): void {
  panel(root, 'Backups', 'Newest first. Pick one, then act on it. Restores are checked first and can be undone.');
  const status = new StatusLine();
  const list = h('div', { class: 'table-scroll cards catalog' });
  const detail = h('div', { class: 'detail' });
  const selectedLabel = h('strong', {}, 'none');
  const button = (text: string, onClick: (id: string, el: HTMLButtonElement) => void, extra = '') => {
    const el = h('button', { type: 'button', class: extra || undefined }, text);
    el.addEventListener('click', () => selected && onClick(selected.backupId, el));
    return el;
  };
  const restoreButton = button('Restore', (id, el) => void restoreWithUndo(app, id, status, el), 'primary');
  const buttons = [
    restoreButton,
    button('Restore as…', (id, el) => void restoreInto(app, id, status, el)),
    button('Restore tables…', (id, el) => void restoreTables(app, id, selected?.tables.map((t) => t.name) ?? [], status, el)),
    button('Verify', (id, el) => void verify(id, el)),
    button('Inspect', (id, el) => void inspect(id, el)),
    button('Drop', (_id, el) => void drop(el), 'danger'),
  ];
  const format = h('select', { name: 'format' }, ...FORMATS.map((f) => h('option', { value: f.value }, f.label)));
  const passphrase = h('input', { type: 'password', name: 'passphrase', autocomplete: 'new-password', placeholder: 'none: a plain file' });
  const since = h('select', { name: 'since' }, h('option', { value: '' }, 'full'));
  const downloadButton = button('Download', (id, el) => void download(id, el), 'primary');
  const toolbar = h(
    'fieldset',
    { class: 'toolbar', hidden: true },
    h('legend', {}, 'Selected: ', selectedLabel),
    h('div', { class: 'actions' }, ...buttons),
    h(
      'div',
      { class: 'row download' },
      field('Download as', format),
      field('Encrypt with passphrase', passphrase),
      field('Incremental since', since),
      h('div', { class: 'field end' }, downloadButton),
    ),
  );
  let backups: BackupInfo[] = [];
  let selected: BackupInfo | undefined;
  /** Until a person picks a row, the newest backup is the selected one. */
  let picked = false;

  const select = (id: string | undefined) => {
    selected = backups.find((b) => b.backupId === id) ?? backups[0];
    toolbar.hidden = !selected;
    selectedLabel.textContent = selected ? `${backupName(selected)} · ${when(selected.createdAt)}` : 'none';
    for (const row of list.querySelectorAll('tbody tr')) {
      const radio = row.querySelector<HTMLInputElement>('input[type=radio]')!;
      radio.checked = radio.value === selected?.backupId;
      row.classList.toggle('selected', radio.checked);
    }
    syncOptions();
  };
  const syncOptions = () => {
    const archive = format.value === 'archive';
    passphrase.disabled = !archive;
    since.disabled = !archive;
    for (const option of since.options) option.disabled = option.value === selected?.backupId;
    if (since.selectedOptions[0]?.disabled) since.value = '';
  };
  format.addEventListener('change', syncOptions);

  const downloadOptions = (): DownloadOptions => {
    const chosen = format.value as DownloadFormat;
    const archive = chosen === 'archive';
    return { format: chosen, ...(archive && passphrase.value ? { passphrase: passphrase.value } : {}), ...(archive && since.value ? { since: since.value } : {}) };
  };

  const download = async (id: string, el: HTMLButtonElement) => {
    const vault = app.need();
    const opts = downloadOptions();
    status.busy(`Preparing the ${opts.format} file…`);
    const began = performance.now();
    const file = await act(el, status, () => vault.backup.download(id, opts));
    if (!file) return;
    saveFile(file.blob, file.filename);
    status.ok(`Downloaded ${file.filename} (${bytes(file.blob.size)}${opts.passphrase ? ', encrypted' : ''}${opts.since ? ', incremental' : ''}) in ${duration(performance.now() - began)}.`);
  };

  const verify = async (id: string, el: HTMLButtonElement) => {
    const vault = app.need();
    status.busy(`Verifying ${shortId(id)}: restoring into a scratch database…`);
    const report = await act(el, status, () => vault.backup.verify(id));
    app.emit('backups', 'jobs');
    if (!report) return;
    const summary = `integrity ${report.integrity}, ${report.foreignKeys} foreign key problems, hash ${report.sha256Match ? 'matches' : 'DIFFERS'}, ${duration(report.durationMs)}`;
    if (report.ok) status.ok(`Verified: ${summary}.`);
    else status.show('error', h('code', { class: 'code' }, 'VERIFY_FAILED'), ` ${report.reason ?? summary}`);
  };

  const inspect = async (id: string, el: HTMLButtonElement) => {
    const vault = app.need();
    const result = await act(el, status, () => vault.backup.inspect(id));
    if (!result) return;
    status.clear();
    const label = selected ? `${backupName(selected)} · ${when(selected.createdAt)}` : shortId(id);
    detail.replaceChildren(inspectView(`Inside: ${label}`, result));
  };

  const drop = async (el: HTMLButtonElement) => {
    const vault = app.need();
    const b = selected;
    if (!b) return;
    const sure = await confirmAction('Drop this backup?', `The backup from ${when(b.createdAt)}${b.note ? ` (“${b.note}”)` : ''} is deleted, with the chunks no other backup uses.`, 'Drop backup', true);
    if (!sure) return;
    const done = await act(el, status, async () => {
      await vault.backup.drop(b.backupId);
      return true;
    });
    app.emit('backups', 'jobs');
    if (done) status.ok(`Dropped the backup from ${when(b.createdAt)}.`);
  };

  const render = async () => {
    const vault = app.vault;
    if (!vault) {
      backups = [];
      list.replaceChildren(h('p', { class: 'muted' }, 'Open a database to see its backups.'));
      select(undefined);
      return;
    }
    try {
      backups = await vault.backup.list();
    } catch (error) {
      status.error(error);
      return;
    }
    const previousSince = since.value;
    since.replaceChildren(
      h('option', { value: '' }, 'full'),
      ...backups.map((b) => h('option', { value: b.backupId, selected: b.backupId === previousSince }, `${when(b.createdAt)} ${b.note ?? ''}`.trim())),
    );
    if (backups.length === 0) {
      list.replaceChildren(h('p', { class: 'muted' }, 'No backups yet.'));
      select(undefined);
      return;
    }
    list.replaceChildren(
      table(
        'Backups',
        [{ label: '' }, 'Created', 'Method', 'Note', { label: 'Size', numeric: true }, { label: 'Stored', numeric: true }, 'Verified', 'Partial'],
        backups.map((b) => [
          h('input', { type: 'radio', name: 'backup', value: b.backupId, 'aria-label': `Select the backup from ${when(b.createdAt)}${b.note ? `, ${b.note}` : ''}` }),
          h('time', { datetime: new Date(b.createdAt).toISOString(), title: b.backupId }, when(b.createdAt)),
          methodLabel(b),
          noteLabel(b),
          bytes(b.sizeBytes),
          bytes(b.storedBytes),
          verifiedLabel(b),
          b.partial ? h('span', { class: 'badge' }, 'partial') : h('span', { class: 'muted' }, '—'),
        ]),
      ),
    );
    select(picked ? selected?.backupId : undefined);
  };

  // A click anywhere on a row picks it; the radios keep it keyboard-operable.
  list.addEventListener('click', (event) => {
    const row = (event.target as Element).closest('tbody tr');
    const id = row?.querySelector<HTMLInputElement>('input[type=radio]')?.value;
    if (!id) return;
    picked = true;
    select(id);
  });
  list.addEventListener('change', (event) => {
    picked = true;
    select((event.target as HTMLInputElement).value);
  });
  app.on('vault', () => {
    detail.replaceChildren();
    status.clear();
    selected = undefined;
    picked = false;
    void render();
  });
  app.on('backups', () => void render());
  root.append(list, toolbar, status.element, detail);
  void render();
}
