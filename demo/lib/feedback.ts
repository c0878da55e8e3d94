/**
 * How panels tell people what happened: a live status line per panel, errors shown with their
 * pagevault code, and a progress bar fed by job progress.
 */
import { isPagevaultError } from '../../src/index';
import { h } from './dom';

/** The code and message of anything a pagevault call rejected with. */
export function describeError(error: unknown): { code: string; message: string } {
  if (isPagevaultError(error)) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  // A client method whose worker side is not built yet reaches Comlink as a call on `undefined`.
  if (/reading 'apply'|is not a function/.test(message)) {
    return { code: 'NOT_SERVED', message: 'This build of the worker does not serve this feature yet.' };
  }
  return { code: error instanceof Error ? error.name : 'Error', message };
}

export type Tone = 'info' | 'ok' | 'error' | 'busy';

/** A status line (`role=status`, so screen readers hear it) that panels write to. */
export class StatusLine {
  readonly element = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });

  show(tone: Tone, ...content: (Node | string)[]): void {
    this.element.dataset['tone'] = tone;
    this.element.replaceChildren(...content);
  }

  info(...content: (Node | string)[]): void {
    this.show('info', ...content);
  }

  ok(...content: (Node | string)[]): void {
    this.show('ok', ...content);
  }

  busy(text: string): void {
    this.show('busy', text);
  }

  /** Shows an error as `CODE` + message; returns the code so callers can branch. */
  error(error: unknown, prefix?: string): string {
    const { code, message } = describeError(error);
    this.show('error', h('code', { class: 'code' }, code), ' ', prefix ? `${prefix}: ${message}` : message);
    return code;
  }

  clear(): void {
    delete this.element.dataset['tone'];
    this.element.replaceChildren();
  }
}

/**
 * Runs `action` with `button` disabled and marked busy, reporting a rejection on `status`.
 * Resolves with the action's value, or undefined when it failed.
 */
export async function act<T>(button: HTMLButtonElement | null, status: StatusLine, action: () => Promise<T>): Promise<T | undefined> {
  button?.setAttribute('aria-busy', 'true');
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    status.error(error);
    return undefined;
  } finally {
    button?.removeAttribute('aria-busy');
    if (button) button.disabled = false;
  }
}

/** A labelled `<progress>` with a caption underneath ("copy · 120 / 400 pages"). */
export class ProgressBar {
  readonly bar = h('progress', { max: 100, value: 0 });
  readonly caption = h('span', { class: 'progress-caption' });
  readonly element: HTMLDivElement;

  constructor(label: string) {
    const id = `progress-${Math.random().toString(36).slice(2, 8)}`;
    this.bar.id = id;
    this.bar.setAttribute('aria-label', label);
    this.element = h('div', { class: 'progress', hidden: true }, this.bar, this.caption);
  }

  set(percent: number, caption: string): void {
    this.element.hidden = false;
    this.bar.value = Math.max(0, Math.min(100, percent));
    this.bar.setAttribute('aria-valuetext', `${Math.round(percent)}%`);
    this.caption.textContent = `${Math.round(percent)}% · ${caption}`;
  }

  hide(): void {
    this.element.hidden = true;
  }
}
