/**
 * Destinations: connect an S3-compatible bucket (endpoint + keys) or a folder on disk, push the
 * newest backup with progress, list what the remote holds, and restore from it. Remotes live for
 * one open of the vault (their secrets are never stored), so reopening asks to connect again.
 */
import type { RemoteBackupInfo, RemoteOptions } from '../../src/index';
import type { App } from '../app';
import { confirmAction } from '../lib/dialog';
import { field, h, panel, table } from '../lib/dom';
import { ProgressBar, StatusLine, act } from '../lib/feedback';
import { bytes, duration, shortId, when } from '../lib/format';

const NAME = 'destination';

type PickDirectory = () => Promise<FileSystemDirectoryHandle>;

export function mountRemotePanel(root: HTMLElement, app: App): void {
  panel(root, 'Destinations', 'Copies of your backups off this device: an S3-compatible bucket (AWS S3, R2, B2, MinIO) or a folder. Only missing chunks are sent; with a passphrase everything is encrypted here first.');
  const status = new StatusLine();
  const progress = new ProgressBar('Push progress');
  const kind = h('select', { name: 'kind' }, h('option', { value: 's3' }, 'S3-compatible bucket'), h('option', { value: 'directory' }, 'Folder on this computer'));
  const endpoint = h('input', { name: 'endpoint', type: 'url', placeholder: 'https://<account>.r2.cloudflarestorage.com', autocomplete: 'off' });
  const bucket = h('input', { name: 'bucket', placeholder: 'backups', autocomplete: 'off' });
  const prefix = h('input', { name: 'prefix', placeholder: 'notes/', autocomplete: 'off' });
  const region = h('input', { name: 'region', placeholder: 'us-east-1 (R2: auto)', autocomplete: 'off' });
  const keyId = h('input', { name: 'accessKeyId', autocomplete: 'off', placeholder: 'access key id' });
  const secret = h('input', { name: 'secretAccessKey', type: 'password', autocomplete: 'off', placeholder: 'secret access key' });
  const passphrase = h('input', { name: 'remote-passphrase', type: 'password', autocomplete: 'off', placeholder: 'optional: encrypts the remote' });
  const s3Fields = h('div', { class: 'row' }, field('Endpoint', endpoint), field('Bucket', bucket), field('Prefix', prefix), field('Region', region), field('Access key', keyId), field('Secret key', secret));
  const connect = h('button', { type: 'submit', class: 'primary' }, 'Connect');
  const push = h('button', { type: 'button' }, 'Push newest backup');
  const list = h('button', { type: 'button' }, 'List remote backups');
  const fieldset = h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Destination'), field('Kind', kind), s3Fields, field('Passphrase', passphrase));
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, connect, push, list), progress.element, status.element);
  const listing = h('div', { class: 'detail' });
  let connected = false;

  const sync = () => {
    s3Fields.hidden = kind.value !== 's3';
    push.disabled = list.disabled = !app.vault || !connected;
  };
  kind.addEventListener('change', sync);

  const options = async (): Promise<RemoteOptions | undefined> => {
    const secretPart = passphrase.value ? { passphrase: passphrase.value } : {};
    if (kind.value === 'directory') {
      const pick = (window as unknown as { showDirectoryPicker?: PickDirectory }).showDirectoryPicker;
      if (!pick) {
        status.show('error', 'This browser cannot give a page a folder (the File System Access API is Chromium desktop only).');
        return undefined;
      }
      return { kind: 'directory', handle: await pick(), ...secretPart };
    }
    return {
      kind: 's3',
      endpoint: endpoint.value.trim(),
      bucket: bucket.value.trim(),
      prefix: prefix.value.trim(),
      ...(region.value.trim() ? { region: region.value.trim() } : {}),
      credentials: { accessKeyId: keyId.value.trim(), secretAccessKey: secret.value },
      ...secretPart,
    };
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const vault = app.vault;
    if (!vault) return;
    const info = await act(connect, status, async () => {
      const chosen = await options();
      return chosen ? vault.remote.add(NAME, chosen) : undefined;
    });
    connected = info !== undefined;
    sync();
    if (info) status.ok(`Connected to ${info.location}${info.encrypted ? ' (encrypted)' : ''}${info.initialized ? '.' : ': empty, the first push creates the repository.'}`);
  });

  push.addEventListener('click', async () => {
    const vault = app.vault;
    if (!vault) return;
    const began = performance.now();
    status.busy('Pushing the newest backup…');
    const result = await act(push, status, () =>
      vault.remote.push(NAME, { onProgress: (p) => progress.set(p.percent, `${p.phase} · ${p.done} / ${p.total} ${p.unit}`) }),
    );
    progress.hide();
    app.emit('jobs');
    if (!result) return;
    status.ok(`Pushed backup ${shortId(result.backupId)}: ${bytes(result.bytesSent)} in ${result.objectsSent} objects, ${result.objectsSkipped} chunks already there, in ${duration(performance.now() - began)}.`);
    await showList();
  });

  const restoreButton = (b: RemoteBackupInfo) => {
    const button = h('button', { type: 'button', class: 'link' }, 'Restore');
    button.addEventListener('click', async () => {
      const vault = app.vault;
      if (!vault) return;
      const sure = await confirmAction('Restore from the destination?', `The live database "${vault.name}" is replaced by backup ${shortId(b.backupId)} from the destination once every chunk and the database check pass. The current state is kept as an automatic backup.`, 'Restore');
      if (!sure) return;
      status.busy('Fetching, checking and restoring…');
      const result = await act(button, status, () => vault.backup.restore({ backupId: b.backupId, from: NAME }));
      app.emit('data', 'backups', 'jobs');
      if (result) status.ok(`Restored backup ${shortId(b.backupId)} from the destination.`);
    });
    return button;
  };

  const showList = async () => {
    const vault = app.vault;
    if (!vault) return;
    const backups = await act(list, status, () => vault.remote.list(NAME));
    if (!backups) return;
    listing.replaceChildren(
      backups.length === 0
        ? h('p', { class: 'empty' }, 'The destination holds no backup yet.')
        : table('Backups on the destination', ['Backup', 'Created', { label: 'Size', numeric: true }, 'From', ''], backups.map((b) => [shortId(b.backupId), when(b.createdAt), bytes(b.sizeBytes), b.vault, restoreButton(b)])),
    );
  };
  list.addEventListener('click', () => void showList());

  app.on('vault', () => {
    // A remote belongs to one open: a reopened vault must be connected again.
    connected = false;
    listing.replaceChildren();
    status.clear();
    sync();
  });
  app.enableWhenOpen(fieldset, connect);
  sync();
  root.append(form, listing);
}
