// A vitest browser provider for Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi.
// Why not @vitest/browser-playwright: Playwright's Firefox driver needs Playwright's own patched
// Firefox build, which cannot be downloaded here. Why not @vitest/browser-webdriverio: it needs
// geckodriver, which Debian does not package. Stock Firefox speaks WebDriver BiDi itself.
// The suite needs no page automation (no userEvent, no locators): vitest's tester page runs the
// tests and reports over its own WebSocket, so opening that page is all a provider has to do.
import type { Browser, Page } from 'puppeteer-core';
import type { BrowserProvider, TestProject } from 'vitest/node';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

class FirefoxProvider implements BrowserProvider {
  readonly name = 'firefox-bidi';
  // One page at a time: the browser project already runs its files one after another.
  readonly supportsParallelism = false;
  private browser: Promise<Browser> | undefined;
  private readonly pages = new Map<string, Page>();

  constructor(private readonly project: TestProject) {}

  private launch(): Promise<Browser> {
    this.browser ??= import('puppeteer-core').then(({ default: puppeteer }) =>
      puppeteer.launch({
        browser: 'firefox',
        executablePath: FIREFOX,
        headless: this.project.config.browser.headless,
        // A fresh temporary profile per run (puppeteer's default): storage starts empty, like a new user's.
        extraPrefsFirefox: {
          // Never ask about persistent storage: a prompt nobody answers would hang requestPersistence().
          'dom.storageManager.prompt.testing': true,
          'dom.storageManager.prompt.testing.allow': false,
        },
      }),
    );
    return this.browser;
  }

  async openPage(sessionId: string, url: string): Promise<void> {
    const browser = await this.launch();
    await this.pages.get(sessionId)?.close();
    const page = await browser.newPage();
    this.pages.set(sessionId, page);
    await page.goto(url, { timeout: 0 });
  }

  getCommandsContext(sessionId: string): Record<string, unknown> {
    return { page: this.pages.get(sessionId) };
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = undefined;
    this.pages.clear();
    await (await browser)?.close();
  }
}

/** The provider vite.config.ts loads (lazily, through Vite's module runner) for the `firefox` instance. */
export function createProvider(project: TestProject): BrowserProvider {
  return new FirefoxProvider(project);
}
