/** Renders what `backup.inspect()` reports about a stored backup or a file. */
import type { InspectResult } from '../../src/index';
import { h, table } from './dom';
import { bytes, count, when } from './format';

export function inspectView(title: string, result: InspectResult): HTMLElement {
  // An encrypted (v2) archive inspected without its passphrase reports only its file size.
  const sealed = result.encrypted && result.pageSize === 0;
  const facts: [string, string][] = [
    ['Format', result.format + (result.version === undefined ? '' : ` v${result.version}`)],
    ['Size', sealed ? `${bytes(result.sizeBytes)} file (contents sealed)` : `${bytes(result.sizeBytes)} (${count(result.pageCount)} pages of ${count(result.pageSize)} B)`],
    ['Encrypted', result.encrypted ? 'yes' : 'no'],
  ];
  if (result.createdAt !== undefined) facts.push(['Created', when(result.createdAt)]);
  if (result.method) facts.push(['Method', result.method]);
  if (result.note) facts.push(['Note', result.note]);
  if (result.partial) facts.push(['Partial', 'yes']);
  if (result.base) facts.push(['Incremental on', result.base]);
  if (result.userVersion !== undefined) facts.push(['user_version', String(result.userVersion)]);
  if (result.sha256) facts.push(['SHA-256', result.sha256]);
  const tables = result.tables ?? [];
  return h(
    'section',
    { class: 'inspect', 'aria-label': title },
    h('h3', {}, title),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: k === 'SHA-256' ? 'mono' : undefined }, v)])),
    tables.length > 0
      ? table(`Tables in ${title}`, ['Table', { label: 'Rows', numeric: true }], tables.map((t) => [t.name, count(t.rows)]))
      : h('p', { class: 'muted' }, sealed ? 'Tables, note, names and hashes are encrypted: give the passphrase to see them.' : 'No tables.'),
  );
}
