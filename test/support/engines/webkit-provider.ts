// A vitest browser provider for Debian's WebKitGTK: WebKitWebDriver launches MiniBrowser in automation
// mode, under Xvfb when there is no display, and we speak plain WebDriver HTTP to it (three endpoints:
// new session, navigate, delete session; a client library would add more than it saves).
// Why not @vitest/browser-playwright: Playwright's WebKit is its own build, which cannot be downloaded
// here. Automation sessions are ephemeral, like Safari's private browsing (see README "Engines").
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { BrowserProvider } from 'vitest/node';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** A free TCP port on the loopback interface (the OS picks it; we release it for the driver). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts Xvfb on a display number it picks itself (`-displayfd`), and returns that display. */
async function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  let text = '';
  for await (const chunk of xvfb.stdio[3] as NodeJS.ReadableStream) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  const number = text.trim();
  if (!/^\d+$/.test(number)) throw new Error(`Xvfb did not report its display (got "${text}"); install it: apt-get install xvfb`);
  return { display: `:${number}`, process: xvfb };
}

class WebkitProvider implements BrowserProvider {
  readonly name = 'webkitgtk-webdriver';
  // One page at a time: the browser project already runs its files one after another.
  readonly supportsParallelism = false;
  private started: Promise<{ base: string; children: ChildProcess[] }> | undefined;
  private readonly sessions = new Map<string, string>();

  private start(): Promise<{ base: string; children: ChildProcess[] }> {
    this.started ??= (async () => {
      const children: ChildProcess[] = [];
      let display = process.env.DISPLAY;
      if (!display) {
        const xvfb = await startXvfb();
        children.push(xvfb.process);
        display = xvfb.display;
      }
      const port = await freePort();
      const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`, '--host=127.0.0.1'], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
      children.push(driver);
      const base = `http://127.0.0.1:${port}`;
      // The driver listens within a second or so; give a loaded machine up to 30 s.
      for (let i = 0; ; i++) {
        const ready = await fetch(`${base}/status`).then((r) => r.ok, () => false);
        if (ready) break;
        if (i >= 300 || driver.exitCode !== null) throw new Error(`WebKitWebDriver did not start on ${base}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { base, children };
    })();
    return this.started;
  }

  /** Sends one WebDriver command and returns its `value`; a WebDriver error becomes a thrown Error. */
  private async command(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const { base } = await this.start();
    const response = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) });
    const json = (await response.json()) as { value: { error?: string; message?: string } & Record<string, unknown> };
    if (!response.ok) throw new Error(`WebDriver ${method} ${path}: ${json.value.error}: ${json.value.message}`);
    return json.value;
  }

  async openPage(sessionId: string, url: string): Promise<void> {
    await this.closeSession(sessionId);
    const created = (await this.command('POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
    })) as { sessionId: string };
    this.sessions.set(sessionId, created.sessionId);
    // Returns once the tester page has loaded; the tests then run and report over vitest's WebSocket.
    await this.command('POST', `/session/${created.sessionId}/url`, { url });
  }

  private async closeSession(sessionId: string): Promise<void> {
    const id = this.sessions.get(sessionId);
    if (id === undefined) return;
    this.sessions.delete(sessionId);
    await this.command('DELETE', `/session/${id}`).catch(() => undefined);
  }

  getCommandsContext(sessionId: string): Record<string, unknown> {
    return { webdriverSession: this.sessions.get(sessionId) };
  }

  async close(): Promise<void> {
    if (!this.started) return;
    await Promise.all([...this.sessions.keys()].map((id) => this.closeSession(id)));
    const { children } = await this.started;
    this.started = undefined;
    // Driver first, then the display it draws on; each is ours, stopped by its own handle.
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

/** The provider vite.config.ts loads (lazily, through Vite's module runner) for the `webkit` instance. */
export function createProvider(): BrowserProvider {
  return new WebkitProvider();
}
