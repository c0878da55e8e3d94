/**
 * Storage: what the live database and the backups take in IndexedDB, against the origin's quota,
 * and whether the browser may evict it (persistence), with a button to ask for persistence.
 */
import { requestPersistence, type StorageReport } from '../../src/index';
import type { App } from '../app';
import { h, panel } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { bytes } from '../lib/format';

/** Refresh period while the page is visible: the figures move as autosaves and jobs run. */
const REFRESH_MS = 3000;

function segment(kind: string, value: number, total: number): HTMLElement {
  // A visible sliver for anything non-zero: quota is often thousands of times the data.
  const percent = total > 0 ? (value / total) * 100 : 0;
  const width = value > 0 ? Math.max(percent, 1.5) : 0;
  return h('span', { class: `seg ${kind}`, style: `width: ${width.toFixed(2)}%` });
}

function legend(kind: string, label: string, value: string): HTMLElement {
  return h('li', {}, h('span', { class: `swatch ${kind}`, 'aria-hidden': 'true' }), h('span', {}, label), h('strong', {}, value));
}

export function mountStoragePanel(root: HTMLElement, app: App): void {
  panel(root, 'Storage', 'As stored in IndexedDB: compressed, and each chunk kept once however many backups share it.');
  const status = new StatusLine();
  const bar = h('div', { class: 'storage-bar', role: 'img' });
  const legendList = h('ul', { class: 'legend' });
  const usageLine = h('p', { class: 'usage-line' });
  const persistence = h('p', { class: 'persistence' });
  const ask = h('button', { type: 'button' }, 'Request persistent storage');
  let timer: ReturnType<typeof setTimeout> | undefined;

  const draw = (report: StorageReport) => {
    const quota = report.quotaBytes ?? 0;
    const usage = report.usageBytes ?? report.liveBytes + report.backupBytes + report.historyBytes;
    const other = Math.max(0, usage - report.liveBytes - report.backupBytes - report.historyBytes);
    const free = Math.max(0, quota - usage);
    bar.replaceChildren(segment('live', report.liveBytes, quota), segment('backups', report.backupBytes, quota), segment('history', report.historyBytes, quota), segment('other', other, quota));
    bar.setAttribute('aria-label', `Live database ${bytes(report.liveBytes)}, backups ${bytes(report.backupBytes)}, free ${bytes(free)} of ${bytes(quota)}`);
    legendList.replaceChildren(
      legend('live', 'Live database', bytes(report.liveBytes)),
      legend('backups', 'Backups', bytes(report.backupBytes)),
      legend('history', 'History (time travel)', bytes(report.historyBytes)),
      legend('other', 'Other site data', bytes(other)),
      legend('free', 'Free quota', report.quotaBytes === null ? 'unknown' : bytes(free)),
    );
    usageLine.textContent =
      report.quotaBytes === null ? `${bytes(usage)} used; the browser does not say its quota.` : `${bytes(usage)} used of a ${bytes(quota)} quota (${((usage / Math.max(1, quota)) * 100).toFixed(2)}%).`;
    const state = report.persisted === true ? 'persistent' : report.persisted === false ? 'best effort' : 'unknown';
    persistence.replaceChildren(
      'Persistence: ',
      h('span', { class: `badge ${report.persisted ? 'good' : 'warn'}`, 'data-testid': 'persistence' }, state),
      ' ',
      h('small', { class: 'muted' }, report.persisted ? 'The browser will not evict this data on its own.' : 'The browser may evict this data under storage pressure.'),
    );
    ask.hidden = report.persisted === true;
  };

  const refresh = async () => {
    clearTimeout(timer);
    const vault = app.vault;
    if (vault) {
      const report = await vault.storage().catch(() => undefined);
      if (report && app.vault === vault) draw(report);
    } else {
      bar.replaceChildren();
      legendList.replaceChildren(h('li', { class: 'muted' }, 'Open a database to see its storage.'));
      persistence.replaceChildren();
      usageLine.textContent = '';
    }
    if (!document.hidden) timer = setTimeout(() => void refresh(), REFRESH_MS);
  };

  ask.addEventListener('click', async () => {
    const answer = await act(ask, status, requestPersistence);
    if (answer === undefined) return;
    if (answer.persisted) status.ok('Storage is now persistent.');
    else status.info('The browser declined for now. Browsers grant it to sites you use often, install, or bookmark.');
    void refresh();
  });
  document.addEventListener('visibilitychange', () => void refresh());
  for (const event of ['vault', 'data', 'backups'] as const) app.on(event, () => void refresh());
  root.append(bar, usageLine, legendList, persistence, ask, status.element);
  void refresh();
}
