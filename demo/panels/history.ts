/** Job history: every backup, restore, verify, upload and retention job with its outcome. */
import type { JobRecord } from '../../src/index';
import type { App } from '../app';
import { h, panel, table } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { duration, shortId, when } from '../lib/format';

/** Jobs drawn; older ones are counted. */
const SHOWN_JOBS = 50;
/** While a job runs, the table refreshes this often so its state is live. */
const POLL_MS = 1000;

function outcome(job: JobRecord): HTMLElement {
  const tone = job.state === 'succeeded' ? 'good' : job.state === 'failed' || job.state === 'interrupted' ? 'bad' : job.state === 'cancelled' ? 'warn' : 'busy';
  return h('span', { class: `badge ${tone}` }, job.state);
}

export function mountHistoryPanel(root: HTMLElement, app: App): void {
  const head = panel(root, 'Job history', 'Every job and how it ended. Jobs cut short by a closed tab show as interrupted.');
  const status = new StatusLine();
  const refresh = h('button', { type: 'button', class: 'small' }, 'Refresh');
  const list = h('div', { class: 'table-scroll cards history' });
  let timer: ReturnType<typeof setTimeout> | undefined;

  const render = async () => {
    clearTimeout(timer);
    const vault = app.vault;
    if (!vault) {
      list.replaceChildren(h('p', { class: 'muted' }, 'Open a database to see its jobs.'));
      return;
    }
    const jobs = await act(null, status, () => vault.backup.history());
    if (!jobs) return;
    if (jobs.length === 0) {
      list.replaceChildren(h('p', { class: 'muted' }, 'No jobs yet.'));
      return;
    }
    list.replaceChildren(
      table(
        'Jobs',
        ['Started', 'Kind', 'Outcome', 'Backup', { label: 'Took', numeric: true }, 'Error'],
        jobs.slice(0, SHOWN_JOBS).map((job) => [
          when(job.startedAt),
          job.kind + (job.scheduleId ? ` (${job.scheduleId})` : ''),
          outcome(job),
          job.backupId ? h('span', { class: 'mono', title: job.backupId }, shortId(job.backupId)) : '',
          job.endedAt === undefined ? '' : duration(job.endedAt - job.startedAt),
          job.error ? h('span', {}, h('code', { class: 'code' }, job.error.code), ` ${job.error.message}`) : '',
        ]),
      ),
      jobs.length > SHOWN_JOBS ? h('p', { class: 'muted' }, `${jobs.length - SHOWN_JOBS} older jobs not shown.`) : '',
    );
    if (app.vault === vault && jobs.some((j) => j.state === 'running' || j.state === 'queued')) timer = setTimeout(() => void render(), POLL_MS);
  };

  refresh.addEventListener('click', () => void render());
  app.on('vault', () => void render());
  app.on('jobs', () => void render());
  head.append(refresh);
  root.append(list, status.element);
  void render();
}
