/**
 * Modal questions with the native `<dialog>` element (focus is trapped and restored by the
 * browser, Escape cancels). Used instead of `confirm()`/`prompt()`, which block the page.
 */
import { field, h } from './dom';

function ask(body: HTMLElement[], confirmLabel: string, danger: boolean): Promise<HTMLDialogElement | undefined> {
  const confirm = h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : 'primary' }, confirmLabel);
  const dialog = h(
    'dialog',
    { class: 'ask' },
    h('form', { method: 'dialog' }, ...body, h('div', { class: 'actions' }, h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel'), confirm)),
  );
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok' ? dialog : undefined);
      dialog.remove();
    });
  });
}

/** Asks a yes/no question; resolves true when confirmed. */
export async function confirmAction(title: string, message: string, confirmLabel: string, danger = false): Promise<boolean> {
  const answer = await ask([h('h2', {}, title), h('p', {}, message)], confirmLabel, danger);
  return answer !== undefined;
}

/** Asks for one line of text; resolves with it, or undefined when cancelled. */
export async function promptText(title: string, label: string, options: { value?: string; pattern?: string; hint?: string; confirmLabel: string }): Promise<string | undefined> {
  const input = h('input', { name: 'answer', required: true, value: options.value ?? '', pattern: options.pattern, autocomplete: 'off' });
  const answer = await ask([h('h2', {}, title), field(label, input, options.hint)], options.confirmLabel, false);
  return answer ? input.value.trim() : undefined;
}

/** Asks which of `options` to act on (checkboxes); resolves with the ticked ones, or undefined. */
export async function chooseSome(title: string, message: string, options: readonly string[], confirmLabel: string): Promise<string[] | undefined> {
  const boxes = options.map((option) => h('input', { type: 'checkbox', name: 'choice', value: option }));
  const group = h('fieldset', { class: 'checks' }, h('legend', {}, message), ...boxes.map((box, i) => h('label', { class: 'check' }, box, ` ${options[i]}`)));
  const answer = await ask([h('h2', {}, title), group], confirmLabel, false);
  if (!answer) return undefined;
  const ticked = boxes.filter((box) => box.checked).map((box) => box.value);
  return ticked.length > 0 ? ticked : undefined;
}
