/**
 * New backup: method, note, tables (a partial backup), verify; a live progress bar fed by
 * `onProgress`, and a cancel button. Encryption is chosen when a backup is downloaded.
 */
import { ErrorCode, isPagevaultError, type CreateBackupRequest, type Progress, type ProgressPhase, type TableSelection } from '../../src/index';
import type { App } from '../app';
import { field, h, panel } from '../lib/dom';
import { ProgressBar, StatusLine } from '../lib/feedback';
import { bytes, count, duration } from '../lib/format';

// Every phase a job reports (the compiler asks for a label when one is added).
const PHASES: Readonly<Record<ProgressPhase, string>> = {
  copy: 'copying pages',
  vacuum: 'VACUUM INTO',
  store: 'storing chunks',
  read: 'reading chunks',
  check: 'checking the file',
  swap: 'switching over',
  remove: 'removing chunks',
  'verify-read': 'verifying: reading',
  'verify-check': 'verifying: integrity check',
  done: 'done',
};

function describe(p: Progress): string {
  return `${PHASES[p.phase]} · ${count(p.done)} / ${count(p.total)} ${p.unit}`;
}

export function mountBackupPanel(root: HTMLElement, app: App): void {
  panel(root, 'New backup', 'A hot copy while the database stays usable. Progress comes from the worker.');
  const status = new StatusLine();
  const progress = new ProgressBar('Backup progress');
  const method = (value: string, label: string, hint: string, checked = false) =>
    h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'method', value, checked }), h('span', {}, h('strong', {}, label), h('small', {}, hint)));
  const note = h('input', { name: 'note', maxlength: 200, placeholder: 'e.g. before the migration', autocomplete: 'off' });
  const verify = h('input', { type: 'checkbox', name: 'verify' });
  const tables = h('div', { class: 'checks' });
  const start = h('button', { type: 'submit', class: 'primary' }, 'Back up now');
  const cancel = h('button', { type: 'button', disabled: true }, 'Cancel backup');
  const fieldset = h(
    'fieldset',
    {},
    h('legend', { class: 'visually-hidden' }, 'Backup options'),
    h('fieldset', { class: 'choices' }, h('legend', {}, 'Method'), method('pages', 'Page copy', 'hot copy, page by page; writes keep working', true), method('vacuum', 'VACUUM INTO', 'compacted copy in one step')),
    field('Note', note),
    h('fieldset', { class: 'tables' }, h('legend', {}, 'Tables'), h('small', { class: 'hint' }, 'None ticked: the whole database. Ticked: a partial backup of those tables, optionally only the rows a condition keeps.'), tables),
    h('label', { class: 'check' }, verify, ' Verify by restoring into a scratch database before it is listed'),
  );
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, start, cancel), progress.element, status.element);
  let running: string | undefined;

  const loadTables = async () => {
    const names = app.vault ? await app.vault.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").catch(() => []) : [];
    const ticked = new Set([...tables.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((i) => i.value));
    const filters = new Map([...tables.querySelectorAll<HTMLInputElement>('input[type=text]')].map((i) => [i.name, i.value]));
    tables.replaceChildren(
      ...names.map(({ name }) =>
        h(
          'div',
          { class: 'table-pick' },
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'table', value: name, checked: ticked.has(name) }), ` ${name}`),
          h('input', { type: 'text', name: `where:${name}`, value: filters.get(`where:${name}`) ?? '', placeholder: 'all rows, or a WHERE condition', 'aria-label': `Rows of ${name} to keep (a WHERE condition)`, autocomplete: 'off', spellcheck: false }),
        ),
      ),
    );
    if (names.length === 0) tables.replaceChildren(h('span', { class: 'muted' }, 'No tables yet.'));
  };

  /** The `tables` option: undefined (whole database), a list, or table → row filter. */
  const selection = (data: FormData): TableSelection | undefined => {
    const names = data.getAll('table').map(String);
    if (names.length === 0) return undefined;
    const filters = names.map((name) => String(data.get(`where:${name}`) ?? '').trim());
    if (filters.every((f) => f === '')) return names;
    return Object.fromEntries(names.map((name, i) => [name, filters[i] || '1']));
  };

  const backUp = async () => {
    const vault = app.vault;
    if (!vault || running) return;
    const data = new FormData(form);
    const tablesOption = selection(data);
    const noteText = note.value.trim();
    const request: CreateBackupRequest = {
      method: data.get('method') === 'vacuum' ? 'vacuum' : 'pages',
      ...(noteText ? { note: noteText } : {}),
      ...(tablesOption ? { tables: tablesOption } : {}),
      ...(verify.checked ? { verify: true } : {}),
      onProgress: (p) => progress.set(p.percent, describe(p)),
    };
    const began = performance.now();
    start.disabled = true;
    progress.set(0, 'starting');
    status.busy('Backing up…');
    try {
      const { backupId } = await vault.backup.create(request);
      running = backupId;
      cancel.disabled = false;
      app.emit('jobs');
      const info = await vault.backup.wait(backupId);
      progress.set(100, `done · ${count(info.pageCount)} pages`);
      const cost = info.storedBytes === 0 ? 'every chunk was already stored, so it took no extra space' : `it added ${bytes(info.storedBytes)} of new chunks`;
      status.ok(`Backed up ${bytes(info.sizeBytes)}${info.partial ? ' (partial)' : ''} in ${duration(performance.now() - began)}: ${cost}${info.verifiedAt ? '; verified' : ''}.`);
    } catch (error) {
      if (isPagevaultError(error) && error.code === ErrorCode.CANCELLED) status.info('Backup cancelled; nothing was kept.');
      else status.error(error);
      progress.hide();
    } finally {
      running = undefined;
      cancel.disabled = true;
      start.disabled = !app.vault;
      app.emit('backups', 'jobs');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void backUp();
  });
  cancel.addEventListener('click', async () => {
    const id = running;
    if (!id || !app.vault) return;
    cancel.disabled = true;
    status.busy('Cancelling…');
    await app.vault.backup.cancel(id).catch((error: unknown) => status.error(error));
  });
  app.enableWhenOpen(fieldset, start);
  app.on('vault', () => {
    progress.hide();
    status.clear();
  });
  app.on('data', () => void loadTables());
  root.append(form);
}
