/**
 * The restore flow shared by the catalog and the upload panel: confirm, restore, then offer the
 * undo (every restore keeps the replaced state as an automatic backup).
 */
import type { App } from '../app';
import { confirmAction, promptText } from './dialog';
import { h } from './dom';
import { type StatusLine, act } from './feedback';
import { shortId } from './format';

/** Restores `backupId` over the live database after asking; reports on `status`. */
export async function restoreWithUndo(app: App, backupId: string, status: StatusLine, button: HTMLButtonElement | null): Promise<boolean> {
  const vault = app.vault;
  if (!vault) return false;
  const sure = await confirmAction(
    'Restore this backup?',
    `The live database "${vault.name}" is replaced by backup ${shortId(backupId)} once every check passes. The current state is kept as an automatic backup, so you can undo.`,
    'Restore',
  );
  if (!sure) return false;
  status.busy('Checking and restoring…');
  const result = await act(button, status, () => vault.backup.restore({ backupId }));
  app.emit('data', 'backups', 'jobs');
  if (!result) return false;
  const undoId = result.previousBackupId;
  const undo = undoId ? h('button', { type: 'button', class: 'link' }, 'Undo') : null;
  undo?.addEventListener('click', () => void restoreWithUndo(app, undoId!, status, undo));
  status.ok(`Restored backup ${shortId(backupId)}.`, ...(undo ? [' The previous state is kept as an automatic backup. ', undo] : []));
  return true;
}

/** Restores `backupId` into another database name, then offers to open it. */
export async function restoreInto(app: App, backupId: string, status: StatusLine, button: HTMLButtonElement | null): Promise<void> {
  const vault = app.vault;
  if (!vault) return;
  const into = await promptText('Restore into a new database', 'Database name', {
    value: `${vault.name}-restored`,
    hint: 'A database with this name is created (or replaced, keeping its state as a backup). It must not be open.',
    confirmLabel: 'Restore',
  });
  if (!into) return;
  status.busy(`Restoring into "${into}"…`);
  const result = await act(button, status, () => vault.backup.restore({ backupId, into }));
  app.emit('databases', 'jobs');
  if (!result) return;
  const openIt = h('button', { type: 'button', class: 'link' }, `Open "${into}"`);
  openIt.addEventListener('click', () => void act(openIt, status, () => app.open(into)));
  status.ok(`Restored backup ${shortId(backupId)} into "${into}". `, openIt);
}
