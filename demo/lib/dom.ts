/**
 * A tiny element builder for the demo's panels: plain DOM, no framework.
 * `h('button', { type: 'button', onclick }, 'Run')` builds and returns the element.
 */

type Child = Node | string | number | null | undefined | false;
type Handler<E extends Event = Event> = (event: E) => void;

/** Attributes (set with setAttribute), a few properties, and `on<event>` listeners. */
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler<never>>;

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(key.slice(2), value as EventListener);
    else if (PROPERTIES.has(key)) (element as unknown as Record<string, unknown>)[key] = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** Appends children, skipping empty ones. */
export function append(parent: Element | DocumentFragment, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/** A labelled form field: `<label for=id>text</label>` then the control, wrapped in a div. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLDivElement {
  const id = control.id || uid(label);
  control.id = id;
  const hintElement = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintElement);
}

let counter = 0;
/** A document-unique id derived from a label. */
export function uid(label: string): string {
  counter += 1;
  return `${label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}-${counter}`;
}

/**
 * A panel's frame: a labelled region with a heading and an optional one-line description.
 * Returns the header, where a panel may add buttons beside its heading.
 */
export function panel(root: HTMLElement, title: string, description?: string): HTMLElement {
  const headingId = uid(title);
  const head = h('header', { class: 'panel-head' }, h('h2', { id: headingId }, title));
  root.classList.add('panel');
  root.setAttribute('aria-labelledby', headingId);
  root.replaceChildren(head);
  if (description) root.append(h('p', { class: 'lede' }, description));
  return head;
}

/** A table with a header row; `cells` may hold nodes. Columns marked numeric align right. */
export function table(caption: string, columns: readonly (string | { label: string; numeric?: boolean })[], rows: readonly (readonly Child[])[]): HTMLTableElement {
  const heads = columns.map((c) => (typeof c === 'string' ? { label: c, numeric: false } : { numeric: false, ...c }));
  return h(
    'table',
    {},
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...heads.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : undefined }, c.label)))),
    h(
      'tbody',
      {},
      ...rows.map((cells) =>
        h('tr', {}, ...cells.map((cell, i) => h('td', { 'data-label': heads[i]?.label, class: heads[i]?.numeric ? 'num' : undefined }, cell))),
      ),
    ),
  );
}
