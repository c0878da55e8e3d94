/**
 * Retention: which backups to keep (last N, daily, weekly, monthly, a size cap), previewed as a
 * dry run before anything is removed. Applied after scheduled backups, or now by hand.
 */
import type { BackupInfo, RetentionPolicy, RetentionResult } from '../../src/index';
import type { App } from '../app';
import { confirmAction } from '../lib/dialog';
import { field, h, panel, table } from '../lib/dom';
import { StatusLine, act } from '../lib/feedback';
import { backupName, shortId, when } from '../lib/format';

const MB = 1024 * 1024;
const RULES = [
  { key: 'keepLast', label: 'Keep last' },
  { key: 'keepDaily', label: 'Daily' },
  { key: 'keepWeekly', label: 'Weekly' },
  { key: 'keepMonthly', label: 'Monthly' },
] as const;

export function mountRetentionPanel(root: HTMLElement, app: App): void {
  panel(root, 'Retention', 'Empty fields set no rule. The newest verified backup and the latest undo are always kept.');
  const status = new StatusLine();
  const inputs = RULES.map((rule) => ({ ...rule, input: h('input', { type: 'number', name: rule.key, min: 0, max: 10_000, step: 1, inputmode: 'numeric' }) }));
  const maxMb = h('input', { type: 'number', name: 'maxMb', min: 1, step: 1, inputmode: 'numeric' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save policy');
  const preview = h('button', { type: 'button' }, 'Preview');
  const apply = h('button', { type: 'button', class: 'danger' }, 'Apply now');
  const fieldset = h(
    'fieldset',
    {},
    h('legend', { class: 'visually-hidden' }, 'Retention policy'),
    h('div', { class: 'row compact' }, ...inputs.map((r) => field(r.label, r.input)), field('Max size (MB)', maxMb)),
  );
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, save, preview, apply), status.element);
  const outcome = h('div', { class: 'table-scroll cards retention-outcome' });

  const policy = (): RetentionPolicy => {
    const result: Record<string, number> = {};
    for (const r of inputs) if (r.input.value !== '') result[r.key] = Number(r.input.value);
    if (maxMb.value !== '') result['maxBytes'] = Number(maxMb.value) * MB;
    return result as RetentionPolicy;
  };

  const show = (result: RetentionResult, dryRun: boolean, backups: readonly BackupInfo[]) => {
    const rows = [...result.removed.map((d) => ({ ...d, removed: true })), ...result.kept.map((d) => ({ ...d, removed: false }))];
    // Name backups as the catalog does (ids are for machines), from the list taken before the run.
    const known = new Map(backups.map((b) => [b.backupId, b]));
    const name = (id: string) => {
      const b = known.get(id);
      return b ? `${backupName(b)} · ${when(b.createdAt)}` : shortId(id);
    };
    outcome.replaceChildren(
      table(
        dryRun ? 'Retention preview' : 'Retention result',
        ['Backup', dryRun ? 'Would be' : 'Was', 'Why'],
        rows.map((d) => [
          h('span', { title: d.backupId }, name(d.backupId)),
          h('span', { class: `badge ${d.removed ? 'bad' : 'good'}` }, d.removed ? 'removed' : 'kept'),
          d.reason,
        ]),
      ),
    );
  };

  const load = async () => {
    const vault = app.vault;
    outcome.replaceChildren();
    if (!vault) return;
    const stored = await act(null, status, () => vault.retention.get());
    if (!stored) return;
    for (const r of inputs) r.input.value = stored[r.key] === undefined ? '' : String(stored[r.key]);
    maxMb.value = stored.maxBytes === undefined ? '' : String(Math.round(stored.maxBytes / MB));
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const vault = app.vault;
    if (!vault) return;
    const done = await act(save, status, async () => {
      await vault.retention.set(policy());
      return true;
    });
    if (done) status.ok('Policy saved. It runs after each scheduled backup.');
  });
  /** Saves the form's policy (so what runs is what the form shows), then previews or applies it. */
  const run = async (dryRun: boolean, button: HTMLButtonElement): Promise<RetentionResult | undefined> => {
    const vault = app.vault;
    if (!vault) return undefined;
    const done = await act(button, status, async () => {
      await vault.retention.set(policy());
      const backups = await vault.backup.list();
      return { backups, result: await vault.retention.apply({ dryRun }) };
    });
    if (!dryRun) app.emit('backups', 'jobs');
    if (!done) return undefined;
    const { result, backups } = done;
    show(result, dryRun, backups);
    const n = result.removed.length;
    status.ok(`${dryRun ? 'Would remove' : 'Removed'} ${n} backup${n === 1 ? '' : 's'}; ${result.kept.length} kept.`);
    return result;
  };
  preview.addEventListener('click', () => void run(true, preview));
  apply.addEventListener('click', async () => {
    const plan = await run(true, apply);
    const n = plan?.removed.length ?? 0;
    if (!plan) return;
    if (n === 0) {
      status.ok('Nothing to remove: every backup is kept by the policy.');
      return;
    }
    if (await confirmAction(`Remove ${n} backup${n === 1 ? '' : 's'}?`, 'The backups marked "removed" in the preview are deleted, with the chunks nothing else uses.', 'Remove', true)) {
      await run(false, apply);
    }
  });

  app.enableWhenOpen(fieldset, save, preview, apply);
  app.on('vault', () => {
    status.clear();
    void load();
  });
  root.append(form, outcome);
}
