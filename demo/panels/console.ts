/**
 * SQL console: runs statements on the live database and shows the rows, or the error with its
 * code. Ctrl+Enter (Cmd+Enter) runs from the editor.
 */
import type { Row, SqlValue } from '../../src/index';
import type { App } from '../app';
import { h, panel, table } from '../lib/dom';
import { StatusLine } from '../lib/feedback';
import { count, duration } from '../lib/format';

/** Rows drawn in the results table; the rest are counted, not drawn. */
const SHOWN_ROWS = 200;
/** Characters of a text cell shown before it is cut. */
const CELL_CHARS = 80;

const EXAMPLES: readonly { label: string; sql: string }[] = [
  { label: 'Tables', sql: "SELECT name, type FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name" },
  { label: 'Count items', sql: 'SELECT count(*) AS rows, round(sum(amount), 2) AS total FROM item' },
  { label: 'Latest items', sql: 'SELECT id, label, amount, created_at FROM item ORDER BY id DESC LIMIT 20' },
  { label: 'Page stats', sql: 'SELECT * FROM pragma_page_count, pragma_page_size, pragma_freelist_count' },
];

function cell(value: SqlValue | undefined): Node | string {
  if (value === null || value === undefined) return h('span', { class: 'null' }, 'NULL');
  if (value instanceof Uint8Array) return h('span', { class: 'blob' }, `blob ${value.byteLength} B`);
  const text = String(value);
  return text.length > CELL_CHARS ? h('span', { title: text }, `${text.slice(0, CELL_CHARS)}…`) : text;
}

function results(rows: readonly Row[]): HTMLElement {
  const columns = Object.keys(rows[0] ?? {});
  const numeric = columns.map((c) => rows.slice(0, SHOWN_ROWS).every((r) => typeof r[c] === 'number' || r[c] === null));
  return table(
    'Query results',
    columns.map((label, i) => ({ label, numeric: numeric[i] ?? false })),
    rows.slice(0, SHOWN_ROWS).map((row) => columns.map((c) => cell(row[c]))),
  );
}

export function mountConsolePanel(root: HTMLElement, app: App): void {
  panel(root, 'SQL console', 'Runs on the live database in the worker. Errors show their pagevault code.');
  const status = new StatusLine();
  const editor = h('textarea', { id: 'sql-editor', name: 'sql', rows: 5, spellcheck: false, autocomplete: 'off', 'aria-describedby': 'sql-editor-hint' }, EXAMPLES[0]!.sql);
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run');
  const output = h('div', { class: 'table-scroll', tabindex: 0, 'aria-label': 'Query results' });
  const examples = h(
    'div',
    { class: 'chips', role: 'group', 'aria-label': 'Example queries' },
    ...EXAMPLES.map((example) => {
      const pick = (): void => {
        editor.value = example.sql;
        editor.focus();
      };
      return h('button', { type: 'button', class: 'chip', onclick: pick }, example.label);
    }),
  );
  const fieldset = h(
    'fieldset',
    {},
    h('legend', { class: 'visually-hidden' }, 'SQL'),
    h('label', { for: 'sql-editor' }, 'SQL'),
    editor,
    h('small', { id: 'sql-editor-hint', class: 'hint' }, 'Ctrl+Enter runs. Several statements run in order; rows come from the last one that returns rows.'),
  );
  const form = h('form', {}, fieldset, h('div', { class: 'actions' }, run, examples));

  const execute = async () => {
    const vault = app.vault;
    if (!vault) return;
    const began = performance.now();
    run.disabled = true;
    try {
      const rows = await vault.query(editor.value);
      const took = duration(performance.now() - began);
      output.replaceChildren(rows.length > 0 ? results(rows) : '');
      status.ok(
        rows.length === 0
          ? `Done in ${took}; no rows returned.`
          : `${count(rows.length)} row${rows.length === 1 ? '' : 's'} in ${took}${rows.length > SHOWN_ROWS ? ` (first ${SHOWN_ROWS} shown)` : ''}.`,
      );
      if (!/^\s*(select|pragma|with|explain)\b/i.test(editor.value)) app.emit('data');
    } catch (error) {
      output.replaceChildren();
      status.error(error);
    } finally {
      run.disabled = !app.vault;
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void execute();
  });
  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void execute();
    }
  });
  app.enableWhenOpen(fieldset, run);
  app.on('vault', () => {
    output.replaceChildren();
    status.clear();
  });
  root.append(form, status.element, output);
}
