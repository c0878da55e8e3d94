/** Time travel: the kept points of the live database (newest first), each with a restore button. */
import type { HistoryPoint } from '../../src/index';
import type { App } from '../app';
import { h, panel, table } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { bytes, when } from '../lib/format';

/** Points drawn; older ones are counted. */
const SHOWN_POINTS = 30;

export function mountTimelinePanel(root: HTMLElement, app: App): void {
  const head = panel(root, 'Timeline', 'Every save of the last hour, then one per 5 minutes, then one per hour (the demo keeps 2 hours). Restoring is undoable: the state it replaces is a point too.');
  const status = new StatusLine();
  const refresh = h('button', { type: 'button', class: 'small' }, 'Refresh');
  const list = h('div', { class: 'table-scroll cards timeline' });

  const restoreButton = (point: HistoryPoint): HTMLButtonElement => {
    const button = h('button', { type: 'button', class: 'small' }, 'Restore');
    button.addEventListener('click', async () => {
      const vault = app.vault;
      if (!vault) return;
      const done = await act(button, status, () => vault.backup.restore({ at: point.at }));
      if (!done) return;
      status.ok(`Restored the database as it was at ${when(point.at)}.`);
      app.emit('data', 'backups', 'jobs');
    });
    return button;
  };

  const render = async () => {
    const vault = app.vault;
    if (!vault) {
      list.replaceChildren(h('p', { class: 'muted' }, 'Open a database to see its timeline.'));
      return;
    }
    const points = await act(null, status, () => vault.history.list());
    if (!points || app.vault !== vault) return;
    const newest = [...points].reverse();
    list.replaceChildren(
      table(
        'History points',
        ['Saved', { label: 'Size', numeric: true }, { label: 'Chunks changed', numeric: true }, ''],
        newest.slice(0, SHOWN_POINTS).map((p) => [when(p.at), bytes(p.sizeBytes), p.changes === undefined ? '' : String(p.changes), p.current ? h('span', { class: 'badge good' }, 'now') : restoreButton(p)]),
      ),
      newest.length > SHOWN_POINTS ? h('p', { class: 'muted' }, `${newest.length - SHOWN_POINTS} older points not shown.`) : '',
    );
  };

  refresh.addEventListener('click', () => void render());
  app.on('vault', () => void render());
  app.on('data', () => void render());
  head.append(refresh);
  root.append(list, status.element);
  void render();
}
