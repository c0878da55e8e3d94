/**
 * The demo page, mounted in the test page and used through its labels and buttons, in every engine
 * of the browser project. The full end-to-end walk (`npm run e2e`: downloads, reloads, drag and drop,
 * screenshots, main-thread timings) drives Chromium through Playwright; this is the part of it every
 * engine can run without a page-automation protocol: open, generate, query, back up, restore, delete.
 */
import { afterAll, describe, expect, it } from 'vitest';
import html from '../../demo/index.html?raw';
import { uniqueName } from './helpers';

const body = new DOMParser().parseFromString(html, 'text/html').body;
for (const script of body.querySelectorAll('script')) script.remove();
document.body.replaceChildren(...body.childNodes);
await import('../../demo/main');

const panel = (id: string) => document.getElementById(`panel-${id}`)!;

/** The control of the label whose text is `text` (exactly, trimmed) inside `root`. */
function byLabel<T extends HTMLElement>(root: HTMLElement, text: string): T {
  const label = [...root.querySelectorAll('label')].find((l) => l.textContent?.trim() === text);
  const control = label?.control ?? root.querySelector(`[aria-label="${text}"]`);
  if (!control) throw new Error(`no control labelled "${text}"`);
  return control as T;
}

function button(root: HTMLElement, name: string): HTMLButtonElement {
  const found = [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === name || b.getAttribute('aria-label') === name);
  if (!found) throw new Error(`no button "${name}"`);
  return found;
}

function fill(control: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  control.value = value;
  control.dispatchEvent(new Event('input', { bubbles: true }));
  control.dispatchEvent(new Event('change', { bubbles: true }));
}

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `action` in panel `id` and waits for its status line to change and settle: `{ tone, text }`. */
async function settle(id: string, action: () => void): Promise<{ tone: string; text: string }> {
  const status = panel(id).querySelector<HTMLElement>('.status')!;
  let changed = false;
  const observer = new MutationObserver(() => (changed = true));
  observer.observe(status, { childList: true, subtree: true, characterData: true, attributes: true });
  action();
  try {
    await until(`panel ${id} to settle`, () => changed && ['ok', 'error', 'info'].includes(status.dataset['tone'] ?? ''), 120_000);
  } finally {
    observer.disconnect();
  }
  return { tone: status.dataset['tone']!, text: status.textContent ?? '' };
}

async function sql(query: string): Promise<string[][]> {
  fill(byLabel(panel('console'), 'SQL'), query);
  const result = await settle('console', () => button(panel('console'), 'Run').click());
  expect(result.tone, result.text).toBe('ok');
  return [...panel('console').querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent ?? ''));
}

/** Clicks the button of the open `<dialog>` named `name`. */
async function answerDialog(name: string): Promise<void> {
  const dialog = await until('a dialog', () => document.querySelector<HTMLDialogElement>('dialog[open]'));
  button(dialog, name).click();
}

describe('the demo page', () => {
  const name = uniqueName('demo');
  afterAll(() => document.body.replaceChildren());

  it('opens a database, generates rows, queries, backs up, restores and deletes it', async () => {
    fill(byLabel(panel('database'), 'Name'), name);
    button(panel('database'), 'Open or create').click();
    await until('the open database', () => [...document.querySelectorAll('[data-testid=open-db]')].some((e) => e.textContent?.includes(name)));

    fill(byLabel(panel('generator'), 'Amount'), '2000');
    const generated = await settle('generator', () => button(panel('generator'), 'Generate').click());
    expect(generated.tone, generated.text).toBe('ok');
    expect(await sql('SELECT count(*) AS n FROM item')).toEqual([['2000']]);

    fill(byLabel(panel('backup'), 'Note'), 'demo backup');
    const backedUp = await settle('backup', () => button(panel('backup'), 'Back up now').click());
    expect(backedUp.tone, backedUp.text).toBe('ok');
    const row = await until('the catalog row', () => [...panel('catalog').querySelectorAll('tbody tr')].find((tr) => tr.textContent?.includes('demo backup')));

    await sql('DELETE FROM item');
    expect(await sql('SELECT count(*) AS n FROM item')).toEqual([['0']]);
    row.querySelector<HTMLInputElement>('input[type=radio]')!.click();
    const restored = await settle('catalog', () => {
      button(panel('catalog'), 'Restore').click();
      void answerDialog('Restore');
    });
    expect(restored.tone, restored.text).toBe('ok');
    expect(await sql('SELECT count(*) AS n FROM item')).toEqual([['2000']]);

    // Time travel: delete again, let the autosave keep it, then restore the point before it.
    const points = () => panel('timeline').querySelectorAll('tbody tr').length;
    const before = await until('the timeline', () => points());
    await sql('DELETE FROM item');
    await until('the delete to be saved as a new point', () => {
      button(panel('timeline'), 'Refresh').click();
      return points() > before;
    });
    const travelled = await settle('timeline', () => panel('timeline').querySelector<HTMLButtonElement>('tbody button')!.click());
    expect(travelled.tone, travelled.text).toBe('ok');
    expect(await sql('SELECT count(*) AS n FROM item')).toEqual([['2000']]);

    button(panel('database'), `Delete ${name}`).click();
    await answerDialog('Delete database');
    await until('the database to leave the list', () => ![...panel('database').querySelectorAll('.db-list li')].some((li) => li.textContent?.includes(name)));
  });
});
