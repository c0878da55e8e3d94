// The e2e harness: serves dist/demo with `vite preview`, launches Debian's Chromium through
// playwright-core (never a downloaded browser), records console errors, and takes screenshots of
// each stage at both widths. Plain .mjs: Node 20 runs it without a loader.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer, preview, runnerImport } from 'vite';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const OUT = join(ROOT, 'e2e', 'out');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The two widths every stage is photographed at: a laptop and a phone. */
export const WIDTHS = [
  { name: '1280', width: 1280, height: 900 },
  { name: '390', width: 390, height: 844 },
];

export class AssertionError extends Error {}
export function assert(condition, message) {
  if (!condition) throw new AssertionError(`assertion failed: ${message}`);
}

/** Starts `vite preview` on the built demo and Chromium with a fresh profile. */
export async function start() {
  // The same launch flags as the vitest browser project (vite.config.ts is TypeScript: load it through Vite).
  const { module: config } = await runnerImport(join(ROOT, 'vite.config.ts'));
  // E2E_SERVER=dev checks the same page under `npm run demo` (Vite dev server, unbundled worker).
  const server =
    process.env.E2E_SERVER === 'dev'
      ? await (await createServer({ root: join(ROOT, 'demo'), configFile: join(ROOT, 'vite.config.ts'), server: { host: '127.0.0.1', port: 5173, strictPort: false }, logLevel: 'warn' })).listen()
      : await preview({
          root: join(ROOT, 'demo'),
          configFile: false, // serving static files needs no config (and loading it drags in the test setup)
          build: { outDir: join(ROOT, 'dist', 'demo') },
          preview: { host: '127.0.0.1', port: 4173, strictPort: false, open: false },
          logLevel: 'warn',
        });
  const url = server.resolvedUrls.local[0];
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'pagevault-e2e-'));
  const downloads = mkdtempSync(join(tmpdir(), 'pagevault-e2e-files-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: config.CHROMIUM_ARGS,
    viewport: { width: WIDTHS[0].width, height: WIDTHS[0].height },
    acceptDownloads: true,
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  const errors = [];
  const watch = (source, target) =>
    target.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${source} console.error: ${message.text()}`);
    });
  watch('page', page);
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('worker', (worker) => watch(`worker ${worker.url()}`, worker));
  page.on('requestfailed', (request) => {
    // A download's blob: URL is handed to the download manager, which the browser reports as aborted.
    if (!request.url().startsWith('blob:')) errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`);
  });
  let shots = 0;
  return {
    url,
    page,
    downloads,
    errors,
    /**
     * Screenshots of the current state at each width (the whole page, or with `fullPage: false`
     * only the viewport, e.g. for a modal dialog), then back to the first width.
     */
    async shot(stage, { fullPage = true } = {}) {
      shots += 1;
      const prefix = String(shots).padStart(2, '0');
      for (const size of WIDTHS) {
        await page.setViewportSize({ width: size.width, height: size.height });
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        await page.screenshot({ path: join(OUT, `${prefix}-${stage}-${size.name}.png`), fullPage });
      }
      await page.setViewportSize({ width: WIDTHS[0].width, height: WIDTHS[0].height });
    },
    async stop() {
      await context.close().catch(() => undefined);
      await (server.close ? server.close() : new Promise((r) => server.httpServer.close(r)));
      rmSync(profile, { recursive: true, force: true });
      rmSync(downloads, { recursive: true, force: true });
    },
  };
}
