/**
 * Sample data: fills a table with rows (by count or by megabytes) in batches of `exec` calls
 * inside one transaction, so the progress bar moves and the autosave runs once, at the end.
 */
import type { App } from '../app';
import { field, h, panel } from '../lib/dom';
import { ProgressBar, StatusLine } from '../lib/feedback';
import { bytes, count, duration } from '../lib/format';

/** Rows per `exec` call: ~0.6 MB, a few tens of ms in the worker. */
const BATCH_ROWS = 2000;
/** Bytes of text per generated row; about 372 bytes of database per row (measured: 50,000 rows make 18.6 MB). */
const ROW_TEXT_BYTES = 300;
const BYTES_PER_ROW = 372;

const INSERT_BATCH = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :rows)
INSERT INTO "TABLE" (label, body, amount, created_at)
SELECT printf('item %d', :first + x),
       substr(printf('row %d of a generated sample; ', :first + x) || hex(randomblob(:random)) || hex(zeroblob(:zeros)), 1, :len),
       abs(random() % 100000) / 100.0,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d minutes', x))
FROM c`;

export function mountGeneratorPanel(root: HTMLElement, app: App): void {
  panel(root, 'Sample data', 'Generate rows to back up. Runs in batches, so the page stays usable.');
  const status = new StatusLine();
  const progress = new ProgressBar('Generating rows');
  const amount = h('input', { type: 'number', name: 'amount', min: 1, max: 10_000_000, step: 1, value: 20_000, required: true, inputmode: 'numeric' });
  const unit = h('select', { name: 'unit' }, h('option', { value: 'rows' }, 'rows'), h('option', { value: 'mb' }, 'megabytes'));
  const tableName = h('input', { name: 'table', value: 'item', required: true, pattern: '[A-Za-z_][A-Za-z0-9_]*', autocomplete: 'off', spellcheck: false });
  const start = h('button', { type: 'submit', class: 'primary' }, 'Generate');
  const stop = h('button', { type: 'button', disabled: true }, 'Stop');
  const fieldset = h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Sample data'), h('div', { class: 'row' }, field('Amount', amount), field('Unit', unit), field('Table', tableName)));
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, start, stop), progress.element, status.element);
  let stopping = false;

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void generate();
  });
  stop.addEventListener('click', () => {
    stopping = true;
    stop.disabled = true;
  });

  const generate = async () => {
    const vault = app.vault;
    if (!vault) return;
    const value = Number(amount.value);
    const rows = unit.value === 'mb' ? Math.ceil((value * 1024 * 1024) / BYTES_PER_ROW) : value;
    const sql = INSERT_BATCH.replace('TABLE', tableName.value);
    stopping = false;
    start.disabled = true;
    stop.disabled = false;
    const began = performance.now();
    let done = 0;
    try {
      await vault.exec(`CREATE TABLE IF NOT EXISTS "${tableName.value}" (id INTEGER PRIMARY KEY, label TEXT NOT NULL, body TEXT NOT NULL, amount REAL NOT NULL, created_at TEXT NOT NULL)`);
      const [{ base = 0 } = {}] = await vault.query<{ base: number }>(`SELECT coalesce(max(id), 0) AS base FROM "${tableName.value}"`);
      await vault.exec('BEGIN');
      try {
        while (done < rows && !stopping) {
          const batch = Math.min(BATCH_ROWS, rows - done);
          await vault.exec(sql, { ':rows': batch, ':first': base + done, ':random': ROW_TEXT_BYTES / 4, ':zeros': ROW_TEXT_BYTES / 2, ':len': ROW_TEXT_BYTES });
          done += batch;
          progress.set((done / rows) * 100, `${count(done)} of ${count(rows)} rows (~${bytes(done * BYTES_PER_ROW)})`);
        }
      } finally {
        // Keep what was inserted, also when stopped; the autosave runs after COMMIT.
        await vault.exec('COMMIT');
      }
      status.ok(`${stopping ? 'Stopped after' : 'Added'} ${count(done)} rows to ${tableName.value} in ${duration(performance.now() - began)}.`);
    } catch (error) {
      status.error(error);
    } finally {
      start.disabled = false;
      stop.disabled = true;
      app.emit('data');
    }
  };

  app.enableWhenOpen(fieldset, start);
  app.on('vault', () => {
    progress.hide();
    status.clear();
  });
  root.append(form);
}
