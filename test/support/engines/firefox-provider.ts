// A vitest browser provider for Debian's Firefox ESR: it starts the stock binary, headless, on a fresh
// profile, with vitest's tester page as its URL, and stops it by its process at the end.
// The suite needs no page automation (no userEvent, no locators): vitest's tester page runs the
// tests and reports over its own WebSocket, so opening that page is all a provider has to do.
// Why not an automation protocol: Playwright's Firefox driver needs Playwright's own patched build
// (cannot be downloaded here), @vitest/browser-webdriverio needs geckodriver (not in Debian), and
// with a WebDriver BiDi client attached (puppeteer-core), Firefox ESR 153 instruments every worker
// realm, and a database worker that spawns its compression helpers stopped answering within a few
// vaults (a test hang, no error). A plain browser process runs workers as users get them.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserProvider, TestProject } from 'vitest/node';

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** The profile's prefs: no first-run pages, no background network, no prompts a test cannot answer. */
const PREFS: Record<string, boolean | string | number> = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'browser.tabs.warnOnClose': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.normandy.enabled': false,
  'app.update.auto': false,
  'extensions.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.backup.enabled': false,
  // Never ask about persistent storage: a prompt nobody answers would hang requestPersistence().
  'dom.storageManager.prompt.testing': true,
  'dom.storageManager.prompt.testing.allow': false,
};

class FirefoxProvider implements BrowserProvider {
  readonly name = 'firefox-process';
  // One page at a time: the browser project already runs its files one after another.
  readonly supportsParallelism = false;
  private readonly running = new Map<string, { child: ChildProcess; profile: string }>();

  constructor(private readonly project: TestProject) {}

  async openPage(sessionId: string, url: string): Promise<void> {
    await this.stop(sessionId);
    // A fresh profile per page: storage starts empty, like a new user's.
    const profile = mkdtempSync(join(tmpdir(), 'pagevault-firefox-'));
    writeFileSync(join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
    const args = ['--no-remote', '--new-instance', '--profile', profile, url];
    if (this.project.config.browser.headless) args.unshift('--headless');
    const child = spawn(FIREFOX, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } });
    // Firefox is chatty on stderr (remote settings, graphics); keep it only to explain an early exit.
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + String(chunk)).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (this.running.get(sessionId)?.child === child) {
        this.project.vitest.logger.error(`[firefox] exited (${signal ?? code}) while its tests ran:\n${stderr}`);
      }
    });
    this.running.set(sessionId, { child, profile });
    // vitest waits for the page to connect back; a Firefox that fails to start is reported above.
    await once(child, 'spawn');
  }

  private async stop(sessionId: string): Promise<void> {
    const run = this.running.get(sessionId);
    if (!run) return;
    this.running.delete(sessionId);
    if (run.child.exitCode === null && run.child.signalCode === null) {
      const exited = once(run.child, 'exit');
      run.child.kill('SIGTERM');
      await exited;
    }
    rmSync(run.profile, { recursive: true, force: true });
  }

  getCommandsContext(): Record<string, unknown> {
    return {};
  }

  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }
}

/** The provider vite.config.ts loads (lazily, through Vite's module runner) for the `firefox` instance. */
export function createProvider(project: TestProject): BrowserProvider {
  return new FirefoxProvider(project);
}
