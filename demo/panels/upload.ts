/**
 * Upload: pick or drop a file (pagevault archive, .sqlite, .sqlite.gz or .sql dump, told apart
 * by their bytes), inspect it, store it as a backup after every check, then restore it.
 */
import { ErrorCode } from '../../src/index';
import type { App } from '../app';
import { field, h, panel } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { bytes, duration, shortId } from '../lib/format';
import { inspectView } from '../lib/inspect-view';
import { restoreWithUndo } from '../lib/restore';

export function mountUploadPanel(root: HTMLElement, app: App): void {
  panel(root, 'Upload a backup', 'An archive, a SQLite file, a gzip’d SQLite file or a SQL dump. Every byte is checked before it is stored.');
  const status = new StatusLine();
  const input = h('input', { type: 'file', id: 'upload-file', name: 'file', class: 'visually-hidden', accept: '.pvault,.sqlite,.sqlite3,.db,.gz,.sql,application/octet-stream' });
  const chosen = h('span', { class: 'drop-file' }, 'No file chosen');
  const zone = h(
    'label',
    { for: 'upload-file', class: 'dropzone' },
    h('strong', {}, 'Choose a file'),
    h('span', {}, ' or drop it here'),
    chosen,
  );
  const passphrase = h('input', { type: 'password', name: 'passphrase', autocomplete: 'off', placeholder: 'only for encrypted archives' });
  const note = h('input', { name: 'note', maxlength: 200, autocomplete: 'off', placeholder: 'e.g. from the support desk' });
  const upload = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const inspectButton = h('button', { type: 'button' }, 'Inspect file');
  const fieldset = h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Upload'), input, zone, h('div', { class: 'row' }, field('Passphrase', passphrase), field('Note', note)));
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, upload, inspectButton), status.element);
  const detail = h('div', { class: 'detail' });
  let file: File | undefined;

  const choose = (picked: File | undefined) => {
    file = picked;
    chosen.textContent = picked ? `${picked.name} · ${bytes(picked.size)}` : 'No file chosen';
    zone.classList.toggle('has-file', Boolean(picked));
    detail.replaceChildren();
    status.clear();
  };
  input.addEventListener('change', () => choose(input.files?.[0]));
  zone.addEventListener('dragover', (event) => {
    if (fieldset.disabled) return;
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    if (!fieldset.disabled) choose(event.dataTransfer?.files[0]);
  });

  const passphraseOption = () => (passphrase.value ? { passphrase: passphrase.value } : {});

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const vault = app.vault;
    if (!vault) return;
    if (!file) {
      status.show('error', h('code', { class: 'code' }, ErrorCode.INVALID_ARGUMENT), ' Choose a file first.');
      return;
    }
    const picked = file;
    const began = performance.now();
    status.busy(`Checking and storing ${picked.name}…`);
    const noteText = note.value.trim();
    const result = await act(upload, status, () => vault.backup.upload(picked, { ...passphraseOption(), ...(noteText ? { note: noteText } : {}) }));
    app.emit('backups', 'jobs');
    if (!result) return;
    const restore = h('button', { type: 'button', class: 'primary' }, 'Restore it now');
    restore.addEventListener('click', () => void restoreWithUndo(app, result.backupId, status, restore));
    status.ok(`Stored ${picked.name} as backup ${shortId(result.backupId)} in ${duration(performance.now() - began)}. `, restore);
  });

  inspectButton.addEventListener('click', async () => {
    const vault = app.vault;
    if (!vault || !file) return;
    const picked = file;
    const result = await act(inspectButton, status, () => vault.backup.inspect(picked, passphraseOption()));
    if (!result) return;
    status.clear();
    detail.replaceChildren(inspectView(picked.name, result));
  });

  app.enableWhenOpen(fieldset, upload, inspectButton);
  app.on('vault', () => {
    zone.classList.toggle('disabled', !app.vault);
    status.clear();
  });
  zone.classList.toggle('disabled', !app.vault);
  root.append(form, detail);
}
