/**
 * The demo page: mounts one panel per capability (the database panel reopens the one used last).
 * Each panel lives in demo/panels/ and talks to the others only through App events.
 */
import { App } from './app';
import { mountBackupPanel } from './panels/backup';
import { mountCatalogPanel } from './panels/catalog';
import { mountConsolePanel } from './panels/console';
import { mountDatabasePanel } from './panels/database';
import { mountGeneratorPanel } from './panels/generator';
import { mountHistoryPanel } from './panels/history';
import { mountRemotePanel } from './panels/remote';
import { mountRetentionPanel } from './panels/retention';
import { mountSchedulePanel } from './panels/schedule';
import { mountStoragePanel } from './panels/storage';
import { mountTimelinePanel } from './panels/timeline';
import { mountUploadPanel } from './panels/upload';

const PANELS: readonly [string, (root: HTMLElement, app: App) => void][] = [
  ['panel-database', mountDatabasePanel],
  ['panel-storage', mountStoragePanel],
  ['panel-generator', mountGeneratorPanel],
  ['panel-backup', mountBackupPanel],
  ['panel-console', mountConsolePanel],
  ['panel-catalog', mountCatalogPanel],
  ['panel-upload', mountUploadPanel],
  ['panel-remote', mountRemotePanel],
  ['panel-history', mountHistoryPanel],
  ['panel-timeline', mountTimelinePanel],
  ['panel-schedule', mountSchedulePanel],
  ['panel-retention', mountRetentionPanel],
];

const app = new App();
for (const [id, mount] of PANELS) {
  const root = document.getElementById(id);
  if (root) mount(root, app);
}

const topDb = document.getElementById('top-db')!;
app.on('vault', () => {
  topDb.textContent = app.vault ? `Database: ${app.vault.name}` : 'No database open';
  document.body.classList.toggle('has-vault', Boolean(app.vault));
});
topDb.textContent = 'No database open';

