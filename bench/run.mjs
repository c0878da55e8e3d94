// `npm run bench`: pagevault's scenarios beside their baselines, in a worker in headless Debian
// Chromium (and the format/native ones in Node), printed as a table and written to
// bench/results/latest.json.
//
//   npm run bench                 20 MB save pass + 100 MB full pass, 3 runs of the cheap steps
//   npm run bench -- --quick      10 MB full pass, one run (a couple of minutes)
//   npm run bench -- --full       adds the 500 MB pass (backup, download, restore, memory)
//   options: --size <MB> (one full pass of that size), --runs <n>, --seed <n>, --out <file>
//
// Plain .mjs on purpose: Node 20 cannot run .ts; the page and workers are served by Vite, and the
// format layer (src/format) is loaded in Node through Vite's SSR loader.
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { nativeGzip, nativeSqlite, formatInNode } from './driver/native.mjs';
import { faultsSince, findRenderers, firstTouchCost, minorFaults, readPeak, residentBytes, resetPeaks } from './driver/process-memory.mjs';
import { formatTable, passRows, saveRows } from './driver/report.mjs';
import { remoteRows, startRemote } from './driver/remote.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    size: { type: 'string' },
    runs: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: join(ROOT, 'bench/results/latest.json') },
  },
});

const runs = Number(args.runs ?? (args.quick ? 1 : 3));
const seed = Number(args.seed);
/** Each pass: `full` runs every scenario; `save` only the one-row-change saves (issue 2's 20 MB figure). */
const plan = args.size
  ? [{ kind: 'full', mb: Number(args.size) }]
  : args.quick
    ? [{ kind: 'full', mb: 10 }]
    : [{ kind: 'save', mb: 20 }, { kind: 'full', mb: 100 }, ...(args.full ? [{ kind: 'full', mb: 500 }] : [])];

// The repo's config is ours to load, not to lint: keep Vite's configLoader advice out of the table.
process.env.VITE_CONFIG_NATIVE_IGNORE_WARNING ??= 'true';
const workDir = mkdtempSync(join(tmpdir(), 'pagevault-bench-'));
const log = (message) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Vite middleware: the page POSTs files (images, archives) here; they land in workDir. */
function fileSink() {
  return {
    name: 'pagevault-bench-file-sink',
    configureServer(server) {
      server.middlewares.use('/__bench/file', (req, res) => {
        const name = new URL(req.url ?? '', 'http://x').searchParams.get('name') ?? '';
        // GET gives a page a file the driver kept (the archive for the whole-archive PUT).
        if (req.method === 'GET' && /^[\w.-]+$/.test(name) && existsSync(join(workDir, name))) {
          res.end(readFileSync(join(workDir, name)));
          return;
        }
        if (req.method !== 'POST' || !/^[\w.-]+$/.test(name)) {
          res.statusCode = 400;
          res.end();
          return;
        }
        const parts = [];
        req.on('data', (part) => parts.push(part));
        req.on('end', () => {
          writeFileSync(join(workDir, name), Buffer.concat(parts));
          res.statusCode = 204;
          res.end();
        });
      });
    },
  };
}

function machine() {
  const chromiumVersion = (() => {
    try {
      return execSync(`${process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'} --version 2>/dev/null`, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const commit = (() => {
    try {
      return execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  return { cpu: cpus()[0]?.model ?? 'unknown', ...firstTouchCost(), cores: cpus().length, memoryBytes: totalmem(), node: process.version, chromium: chromiumVersion, commit, loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
}

const server = await createServer({
  root: ROOT,
  configFile: join(ROOT, 'vite.config.ts'),
  logLevel: 'warn',
  plugins: [fileSink()],
  // No file watching and no HMR: engineers editing the repo (or vite.config.ts) mid-run must not
  // restart the server or reload the bench page.
  server: { host: '127.0.0.1', port: 0, watch: null, hmr: false },
});
await server.listen();
const origin = server.resolvedUrls.local[0].replace(/\/$/, '');
const { CHROMIUM_ARGS } = await server.ssrLoadModule('/vite.config.ts');
const format = await server.ssrLoadModule('/src/format/index.ts');
const marker = `--pagevault-bench=${process.pid}`;
const s3 = await startRemote();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, marker] });
const results = { mode: args.quick ? 'quick' : args.full ? 'full' : 'default', runs, seed, date: new Date().toISOString(), machine: machine(), passes: [] };
let exitCode = 0;

try {
  let page;
  // One context for every page load: a page loaded again after a crash must see the same IndexedDB.
  const context = await browser.newContext();
  /** Loads the bench page (again, after its renderer crashed). */
  const openPage = async () => {
    const opened = await context.newPage();
    opened.on('pageerror', (error) => log(`page error: ${error.message}`));
    opened.on('console', (message) => message.type() === 'error' && log(`console: ${message.text()}`));
    await opened.goto(`${origin}/bench/harness/index.html`);
    await opened.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
    return opened;
  };
  const loadPage = async () => {
    page = await openPage();
  };
  await loadPage();
  /** What the pass needs to reopen its vault after a crash. */
  let resumeWith;

  /** Runs page function `fn` on a page of its own (another renderer than the vault's), then closes it. */
  const onOwnPage = async (fn, arg) => {
    const own = await openPage();
    try {
      return await own.evaluate(([name, a]) => window.pagevaultBench[name](a), [fn, arg]);
    } finally {
      await own.close().catch(() => undefined);
    }
  };

  /**
   * The baselines of vault `name`, on a page of their own (another renderer than the vault's), one
   * call each: a baseline that crashes the renderer is recorded as that baseline's failure and the
   * next one runs on a new page (which loads the image again).
   */
  const baselines = async (name) => {
    const out = { failures: {} };
    const which = ['exportMs', 'pieces', 'naive', 'naiveRestore', 'clear'];
    let on;
    for (const key of which) {
      try {
        if (!on) {
          on = await openPage();
          const loaded = await on.evaluate((a) => window.pagevaultBench.baselineOpen(a), { name });
          out.loaded ??= loaded;
        }
        out[key] = await on.evaluate((a) => window.pagevaultBench.baseline(a), { which: key, runs });
      } catch (error) {
        out.failures[key] = error instanceof Error ? error.message.split('\n')[0] : String(error);
        log(`baseline ${key} failed: ${out.failures[key]}`);
        await on?.close().catch(() => undefined);
        on = undefined;
      }
    }
    await on?.evaluate(() => window.pagevaultBench.baselineClose()).catch(() => undefined);
    await on?.close().catch(() => undefined);
    return out;
  };

  /**
   * Calls one step on the page (`fn`: its name there, or a function of the driver's) and records
   * the renderer's minor page faults during it; with `memory`, also its peak resident set. A step that throws (a browser refusing a 500 MB value,
   * an out-of-memory renderer) is recorded in `pass.failures` and the pass goes on: undefined.
   * After a crash the page is loaded again and the pass's vault reopened from what it saved.
   */
  const step = async (pass, key, fn, arg, memory = false) => {
    log(`${pass.mb} MB: ${key}...`);
    const pids = findRenderers(marker);
    const start = memory ? resetPeaks(pids) : undefined;
    const faultsBefore = minorFaults(pids);
    let crashed = false;
    try {
      return typeof fn === 'function' ? await fn() : await page.evaluate(([name, a]) => window.pagevaultBench[name](a), [fn, arg]);
    } catch (error) {
      pass.failures ??= {};
      pass.failures[key] = error instanceof Error ? error.message.split('\n')[0] : String(error);
      log(`${pass.mb} MB: ${key} failed: ${pass.failures[key]}`);
      // A driver function's own page (baselines, the new device) takes only itself down.
      crashed = page.isClosed() || (typeof fn !== 'function' && /crash/i.test(pass.failures[key]));
      return undefined;
    } finally {
      // A crashed renderer's counters are gone with it: no figure rather than a wrong one.
      if (!crashed) {
        pass.faults ??= {};
        pass.faults[key] = faultsSince(faultsBefore, minorFaults(findRenderers(marker)));
        if (memory) {
          pass.memory ??= {};
          pass.memory[key] = readPeak(pids, start);
        }
      }
      if (crashed && resumeWith) {
        log(`${pass.mb} MB: the renderer crashed; loading the page again and reopening the vault`);
        await page.close().catch(() => undefined);
        await loadPage();
        await page.evaluate((a) => window.pagevaultBench.resume(a), resumeWith).catch((error) => log(`${pass.mb} MB: resume failed: ${error}`));
      }
    }
  };

  for (const item of plan) {
    const pass = { kind: item.kind, mb: item.mb, targetBytes: item.mb * MB };
    results.passes.push(pass);
    const name = `bench-${item.mb}mb-${Date.now().toString(36)}`;
    pass.idleRendererBytes = residentBytes(findRenderers(marker));
    pass.generate = await step(pass, 'generate', 'prepare', { name, targetBytes: pass.targetBytes, seed });
    if (!pass.generate) continue;
    pass.sizeBytes = pass.generate.sizeBytes;
    resumeWith = { name, seed, docs: pass.generate.docs };
    log(`${item.mb} MB: generated ${(pass.sizeBytes / MB).toFixed(1)} MB in ${Math.round(pass.generate.durationMs)} ms`);
    if (item.kind === 'full') pass.cold = await step(pass, 'cold', 'coldBackupDownload', undefined, true);
    pass.firstSave = await step(pass, 'flush', 'flush');
    pass.baselines = await step(pass, 'baselines', () => baselines(name));
    pass.save = await step(pass, 'save', 'saveOneRow', { runs });
    if (item.kind === 'full') {
      pass.warm = await step(pass, 'warm', 'warmPagesBackup', undefined, true);
      if (pass.warm) resumeWith = { ...resumeWith, warmBackupId: (await page.evaluate(() => window.pagevaultBench.state())).warmBackupId };
      pass.download = await step(pass, 'download', 'warmDownload', undefined, true);
      pass.incremental = await step(pass, 'incremental', 'incremental', undefined, true);
      pass.restore = await step(pass, 'restore', 'restore', undefined, true);
      pass.verify = await step(pass, 'verify', 'verify', undefined, true);
      pass.upload = await step(pass, 'upload', 'upload', undefined, true);
      if (pass.warm) pass.remote = await step(pass, 'remote', 'remoteReplication', s3.options(pass, name), true);
      if (pass.remote) {
        pass.remote.wholeArchive = await step(pass, 'remoteWholeArchive', () => onOwnPage('remoteWholeArchive', s3.options(pass, name)));
        const device = { ...s3.options(pass, name), name, backupId: resumeWith.warmBackupId };
        pass.remoteRestore = await step(pass, 'remoteRestore', () => onOwnPage('remoteNewDevice', device));
      }
      const imagePath = join(workDir, 'image');
      const warmArchive = join(workDir, 'archive-warm');
      if (existsSync(warmArchive)) {
        // Node's baselines run on the warm backup's image, read from its archive here (a page
        // posting a 500 MB image crashed its renderer).
        log(`${item.mb} MB: image from the warm archive, in Node...`);
        writeFileSync(imagePath, await format.readArchiveImage(await format.openArchive(format.bytesSource(new Uint8Array(readFileSync(warmArchive))))));
      }
      if (existsSync(imagePath)) {
        log(`${item.mb} MB: native gzip, sqlite3 and format in Node...`);
        const image = readFileSync(imagePath);
        pass.native = { gzip: nativeGzip(image, runs), sqlite: nativeSqlite(imagePath, workDir) };
        pass.format = await formatInNode(format, image, join(workDir, 'archive-warm'));
      }
    }
    await page.evaluate(() => window.pagevaultBench.finish()).catch((error) => log(`${item.mb} MB: finish failed: ${error}`));
    resumeWith = undefined;
    for (const file of ['image', 'archive-cold', 'archive-warm']) rmSync(join(workDir, file), { force: true });
    pass.rows = item.kind === 'full' ? [...passRows(pass), ...remoteRows(pass)] : saveRows(pass);
    console.log(`\n${formatTable(pass.rows)}\n`);
  }
} catch (error) {
  exitCode = 1;
  console.error(error);
} finally {
  await browser.close();
  await s3.close();
  await server.close();
  rmSync(workDir, { recursive: true, force: true });
}

if (exitCode === 0) {
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${args.out}`);
}
process.exit(exitCode);
