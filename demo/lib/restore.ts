/**
 * The restore flow shared by the catalog and the upload panel: confirm, restore, then offer the
 * undo (every restore keeps the replaced state as an automatic backup).
 */
import type { App } from '../app';
import { chooseSome, confirmAction, promptText } from './dialog';
import { h } from './dom';
import { type StatusLine, act } from './feedback';
import { shortId } from './format';

/** " The previous state is kept… [Undo]": the way back after a restore, when there is one. */
function undoOffer(app: App, previousBackupId: string | undefined, status: StatusLine): (Node | string)[] {
  if (!previousBackupId) return [];
  const undo = h('button', { type: 'button', class: 'link' }, 'Undo');
  undo.addEventListener('click', () => void restoreWithUndo(app, previousBackupId, status, undo));
  return [' The previous state is kept as an automatic backup. ', undo];
}

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
  status.ok(`Restored backup ${shortId(backupId)}.`, ...undoOffer(app, result.previousBackupId, status));
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

/** Puts chosen tables back as they were in `backupId`, leaving the other tables alone. */
export async function restoreTables(app: App, backupId: string, tables: readonly string[], status: StatusLine, button: HTMLButtonElement | null): Promise<void> {
  const vault = app.vault;
  if (!vault) return;
  const chosen = await chooseSome('Restore tables', 'Replace these tables in the live database:', tables, 'Restore tables');
  if (!chosen) return;
  status.busy(`Checking the backup and restoring ${chosen.join(', ')}…`);
  const result = await act(button, status, () => vault.backup.restore({ backupId, tables: chosen }));
  app.emit('data', 'backups', 'jobs');
  if (!result) return;
  status.ok(`Restored ${chosen.join(', ')} from backup ${shortId(backupId)}.`, ...undoOffer(app, result.previousBackupId, status));
}
