// The consumer check: install pagevault the way an app does and prove it works there.
//   npm pack -> a fresh Vite app in a temp folder (vite pinned, NO vite config) that installs the
//   tarball -> vite build -> vite preview -> Debian Chromium (playwright-core) runs the app:
//   open a vault, write rows, back up, download (verified by the installed CLI), restore, upload
//   the file into another vault, read back after a reload, and the strict-CSP path
//   (an app-made worker, the wasm from the app's own URL); then the same app under `vite` dev.
//   Any console error fails the check.
// If it only works with this repo's own Vite config, it does not work.
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const VITE_VERSION = '8.3.8';
// The Content-Security-Policy the README recommends for apps that want a strict one
// (img-src only for the fixture's `data:` favicon).
const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; img-src 'self' data:";
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const started = Date.now();
const log = (message) => console.log(`[consumer ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

/** The launch flags the browser tests use: CHROMIUM_ARGS in vite.config.ts (one list for both). */
function chromiumArgs() {
  const config = readFileSync(join(root, 'vite.config.ts'), 'utf8');
  const list = /export const CHROMIUM_ARGS = \[([\s\S]*?)\];/.exec(config)?.[1];
  if (!list) throw new Error('CHROMIUM_ARGS not found in vite.config.ts');
  return [...list.matchAll(/'([^']+)'/g)].map((match) => match[1]);
}

function run(command, args, cwd) {
  execFileSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, npm_config_update_notifier: 'false' } });
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts `vite preview` (the built app) or `vite` (its dev server) and resolves once it answers. */
async function serve(app, command) {
  const port = await freePort();
  const args = [...(command === 'preview' ? ['preview'] : []), '--host', '127.0.0.1', '--port', String(port), '--strictPort'];
  const server = spawn(join(app, 'node_modules/.bin/vite'), args, {
    cwd: app,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (server.exitCode !== null) throw new Error(`vite ${command} exited with ${server.exitCode}`);
    const answered = await fetch(url).then((response) => response.ok, () => false);
    if (answered) return { url, stop: () => server.kill('SIGTERM') };
    await new Promise((wake) => setTimeout(wake, 100));
  }
  server.kill('SIGTERM');
  throw new Error(`vite ${command} did not answer at ${url}`);
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  log(`ok  ${what}: ${JSON.stringify(actual)}`);
}

const work = mkdtempSync(join(tmpdir(), 'pagevault-consumer-'));
const app = join(work, 'app');
let server;
let context;
try {
  log('npm pack');
  run('npm', ['pack', '--pack-destination', work], root); // `prepack` builds dist/ first
  const tarball = join(work, readdirSync(work).find((file) => file.endsWith('.tgz')));

  cpSync(join(root, 'scripts/consumer'), app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify(
      {
        name: 'pagevault-consumer',
        private: true,
        type: 'module',
        dependencies: { pagevault: `file:${tarball}` },
        devDependencies: { vite: VITE_VERSION },
      },
      null,
      2,
    )}\n`,
  );
  log('npm install (tarball + vite)');
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  const help = execFileSync(join(app, 'node_modules/.bin/pagevault'), ['--help'], { encoding: 'utf8' });
  expectEqual(help.startsWith('usage:'), true, 'the installed CLI runs on plain Node (pagevault --help)');
  // An app serving the wasm from its own path (e.g. a CDN or a CSP-approved folder) copies it there.
  mkdirSync(join(app, 'public/vendor'), { recursive: true });
  copyFileSync(join(app, 'node_modules/pagevault/dist/sql-wasm.wasm'), join(app, 'public/vendor/sql-wasm.wasm'));

  log('vite build (default config)');
  run(join(app, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], app);
  server = await serve(app, 'preview');
  log(`vite preview at ${server.url}`);

  const profile = join(work, 'chromium-profile');
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: chromiumArgs(), timeout: 60_000 });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const wasmRequests = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => message.type() === 'error' && errors.push(`console: ${message.text()}`));
  context.on('weberror', (error) => errors.push(`weberror: ${error.error().message}`));
  context.on('response', (response) => response.url().endsWith('.wasm') && wasmRequests.push(`${response.status()} ${new URL(response.url()).pathname}`));
  const ready = () => page.waitForFunction(() => document.querySelector('#status')?.textContent === 'ready');
  // The built app runs under the strict policy the README recommends, sent with every response
  // (a worker obeys the policy delivered with its own script).
  await context.route('**/*', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': STRICT_CSP } });
  });

  await page.goto(server.url);
  await ready();
  const inlineScriptRan = await page.evaluate(() => {
    document.head.append(Object.assign(document.createElement('script'), { textContent: 'window.inlineScriptRan = true' }));
    return window.inlineScriptRan === true;
  });
  expectEqual(inlineScriptRan, false, 'the strict CSP is in force (an inline script is refused)');
  errors.length = 0; // the refused inline script reports itself
  const name = `consumer-${Date.now()}`;
  const result = await page.evaluate((vaultName) => window.consumer.backupAndRestore(vaultName), name);
  expectEqual(result.backupListed, true, 'the backup is listed');
  expectEqual(result.afterDelete, ['alpha', 'gamma'], 'rows after a delete');
  expectEqual(result.restored, ['alpha', 'beta', 'gamma'], 'rows after restoring the backup');
  expectEqual(result.undoKept, true, 'the replaced state is kept as a backup');
  expectEqual(result.archive.length > 0, true, `the backup downloads (${result.filename}, ${result.archive.length} bytes)`);
  const archivePath = join(work, result.filename);
  writeFileSync(archivePath, Uint8Array.from(result.archive));
  execFileSync(join(app, 'node_modules/.bin/pagevault'), ['verify', archivePath], { stdio: ['ignore', 'ignore', 'inherit'] });
  log('ok  the installed CLI verifies the downloaded file');
  expectEqual(
    await page.evaluate(([vaultName, bytes]) => window.consumer.uploadAndRestore(vaultName, bytes), [`upload-${Date.now()}`, result.archive]),
    ['alpha', 'beta', 'gamma'],
    'rows after uploading the downloaded file into another vault and restoring',
  );
  expectEqual(
    wasmRequests.filter((line) => /^200 \/assets\/.+\.wasm$/.test(line)).length > 0,
    true,
    'the worker fetched the wasm the app build emitted',
  );

  await page.reload();
  await ready();
  expectEqual(await page.evaluate((vaultName) => window.consumer.readBack(vaultName), name), ['alpha', 'beta', 'gamma'], 'rows after a page reload');

  wasmRequests.length = 0;
  await page.reload(); // a fresh page: sql.js loads again, now from the app's own URL
  await ready();
  expectEqual(await page.evaluate(() => window.consumer.ownWorkerAndWasm(`own-${Date.now()}`, '/vendor/sql-wasm.wasm')), [42], 'an app-made worker with wasmUrl');
  expectEqual(wasmRequests, ['200 /vendor/sql-wasm.wasm'], 'wasm requests with wasmUrl');
  expectEqual(await page.evaluate(() => window.consumer.typedError(`closed-${Date.now()}`)), 'CLOSED', 'error code across the package boundary');

  server.stop();
  await context.unroute('**/*');
  server = await serve(app, 'dev');
  log(`vite dev server at ${server.url} (no config: pagevault needs no optimizeDeps entry)`);
  await page.goto(server.url);
  await ready();
  const dev = await page.evaluate((vaultName) => window.consumer.backupAndRestore(vaultName), `dev-${Date.now()}`);
  expectEqual(dev.restored, ['alpha', 'beta', 'gamma'], 'dev server: rows after restoring the backup');

  expectEqual(errors, [], 'console errors');
  log('consumer check passed');
} catch (error) {
  console.error(`consumer check FAILED: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
} finally {
  await context?.close();
  server?.stop();
  rmSync(work, { recursive: true, force: true });
}
