/**
 * Schedules: back up every N minutes/hours/days or daily at a local time. A run missed while the
 * page was closed happens at the next open.
 */
import type { ScheduleInfo, ScheduleOptions, ScheduleSpec } from '../../src/index';
import type { App } from '../app';
import { field, h, panel, table } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { when } from '../lib/format';

export function mountSchedulePanel(root: HTMLElement, app: App): void {
  panel(root, 'Schedules', 'Backups that run on their own while the page is open, and catch up at the next open.');
  const status = new StatusLine();
  const id = h('input', { name: 'id', required: true, maxlength: 64, value: 'hourly', autocomplete: 'off', spellcheck: false });
  const kind = h('select', { name: 'kind' }, h('option', { value: 'every' }, 'every'), h('option', { value: 'dailyAt' }, 'daily at'));
  const every = h('input', { name: 'every', value: '1h', pattern: '\\d{1,9}[smhd]', autocomplete: 'off', spellcheck: false });
  const dailyAt = h('input', { type: 'time', name: 'dailyAt', value: '02:30' });
  const method = h('select', { name: 'method' }, h('option', { value: 'pages' }, 'page copy'), h('option', { value: 'vacuum' }, 'VACUUM INTO'));
  const note = h('input', { name: 'note', maxlength: 200, autocomplete: 'off', placeholder: 'e.g. hourly safety net' });
  const verify = h('input', { type: 'checkbox', name: 'verify' });
  const everyField = field('Interval', every, 'e.g. 30m, 6h, 1d');
  const dailyField = field('Local time', dailyAt);
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save schedule');
  const fieldset = h(
    'fieldset',
    {},
    h('legend', { class: 'visually-hidden' }, 'Schedule'),
    h('div', { class: 'row' }, field('Name', id), field('Runs', kind), everyField, dailyField),
    h('div', { class: 'row' }, field('Method', method), field('Note', note)),
    h('label', { class: 'check' }, verify, ' Verify each backup'),
  );
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, save), status.element);
  const list = h('div', { class: 'table-scroll cards' });

  const syncKind = () => {
    everyField.hidden = kind.value !== 'every';
    dailyField.hidden = kind.value !== 'dailyAt';
  };
  kind.addEventListener('change', syncKind);

  const render = async () => {
    const vault = app.vault;
    if (!vault) {
      list.replaceChildren();
      return;
    }
    const schedules = await act(null, status, () => vault.schedule.list());
    if (!schedules) return;
    list.replaceChildren(
      schedules.length === 0
        ? h('p', { class: 'muted' }, 'No schedules.')
        : table(
            'Schedules',
            ['Name', 'Runs', 'Method', 'Last run', 'Next run', ''],
            schedules.map((s: ScheduleInfo) => {
              const remove = h('button', { type: 'button', class: 'small danger subtle', 'aria-label': `Remove schedule ${s.id}` }, 'Remove');
              remove.addEventListener('click', async () => {
                const done = await act(remove, status, async () => {
                  await vault.schedule.remove(s.id);
                  return true;
                });
                if (done) status.ok(`Removed schedule ${s.id}.`);
                void render();
              });
              return [
                s.id,
                s.every ? `every ${s.every}` : `daily at ${s.dailyAt ?? ''}`,
                (s.method === 'pages' ? 'page copy' : 'VACUUM INTO') + (s.verify ? ', verified' : ''),
                s.lastRunAt ? when(s.lastRunAt) : h('span', { class: 'muted' }, 'never'),
                when(s.nextRunAt),
                remove,
              ];
            }),
          ),
    );
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const vault = app.vault;
    if (!vault) return;
    const spec: ScheduleSpec = kind.value === 'every' ? { id: id.value.trim(), every: every.value.trim() } : { id: id.value.trim(), dailyAt: dailyAt.value };
    const noteText = note.value.trim();
    const options: ScheduleOptions = { method: method.value === 'vacuum' ? 'vacuum' : 'pages', ...(noteText ? { note: noteText } : {}), ...(verify.checked ? { verify: true } : {}) };
    const saved = await act(save, status, () => vault.schedule.set(spec, options));
    if (saved) status.ok(`Saved schedule ${saved.id}; next run ${when(saved.nextRunAt)}.`);
    void render();
  });

  app.enableWhenOpen(fieldset, save);
  app.on('vault', () => {
    status.clear();
    void render();
  });
  app.on('jobs', () => void render());
  syncKind();
  root.append(form, list);
}
