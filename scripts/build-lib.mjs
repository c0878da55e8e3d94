// Builds the published library into dist/:
//   dist/index.js         main-thread entry: the client and errors (imports only `comlink`)
//   dist/worker.js        the worker entry, with sql.js's glue inside (imports comlink, idb, fflate)
//   dist/compress-worker.js  a compression helper the worker starts (imports fflate)
//   dist/sandbox-worker.js   the sandbox the worker starts for hostile input (its own sql.js inside)
//   dist/sql-wasm.wasm    sql.js's WebAssembly, found by worker.js through import.meta.url
//   dist/types/*.d.ts     declarations for `.` and `./worker`
// then prints the gzipped sizes the README quotes.
//
// Why rolldown directly and not Vite's library mode: library mode inlines every asset
// (the 650 KB wasm would become base64 inside the worker) and rewrites
// `new Worker(new URL(...), ...)` into its own worker chunk. The published files must keep that
// expression literal, so the APP's bundler sees it and bundles the worker and wasm itself.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';
import { bundleAsAnAppWould, gzipBytes, kib } from './bundle-report.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dependencies = Object.keys(pkg.dependencies ?? {});

// Dev/test modules and the published variants that replace them (see each file's header).
const SWAPS = new Map([
  [join(root, 'src/spawn-worker.ts'), join(root, 'src/spawn-worker.dist.ts')],
  [join(root, 'worker/engine/wasm-url.ts'), join(root, 'worker/engine/wasm-url.dist.ts')],
  [join(root, 'worker/pool/spawn.ts'), join(root, 'worker/pool/spawn.dist.ts')],
  [join(root, 'worker/engine/sandbox/spawn.ts'), join(root, 'worker/engine/sandbox/spawn.dist.ts')],
]);

/** Resolves the dev/test modules in SWAPS to their published variants. */
const publishedVariants = {
  name: 'pagevault:published-variants',
  async resolveId(source, importer, options) {
    const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
    const swap = resolved && SWAPS.get(resolved.id);
    return swap ? { id: swap } : null;
  },
};

/**
 * Bundles one entry into dist/<name>.js. Dependencies stay imports for the app's bundler, except
 * those in `inline`.
 */
async function buildEntry(name, input, { inline = [], banner } = {}) {
  const external = dependencies.filter((dep) => !inline.includes(dep));
  const bundle = await rolldown({
    input,
    platform: 'browser',
    external: (id) => external.some((dep) => id === dep || id.startsWith(`${dep}/`)),
    plugins: [publishedVariants],
    transform: { target: 'es2022' },
  });
  try {
    await bundle.write({ dir: dist, format: 'es', entryFileNames: `${name}.js`, codeSplitting: false, banner });
  } finally {
    await bundle.close();
  }
}

/** Fails the build unless `file` contains `needle`: the literal bundlers look for must survive. */
function mustContain(file, needle) {
  if (!readFileSync(file, 'utf8').includes(needle)) throw new Error(`${file} lost ${needle}: apps' bundlers would not find the file it names`);
}

/** TypeScript emits `from './client'`; Node's ESM resolution (and attw) needs `./client.js`. */
function addJsExtensions(dir) {
  for (const entry of readdirSync(dir)) {
    const file = join(dir, entry);
    if (statSync(file).isDirectory()) {
      addJsExtensions(file);
      continue;
    }
    if (!file.endsWith('.d.ts')) continue;
    const text = readFileSync(file, 'utf8').replace(/(from\s+|import\s*\()(['"])(\.{1,2}\/[^'"]*?)\2/g, (match, head, quote, spec) => {
      if (/\.(js|mjs|cjs|json)$/.test(spec)) return match;
      const target = existsSync(join(dirname(file), `${spec}.d.ts`)) ? `${spec}.js` : `${spec}/index.js`;
      return `${head}${quote}${target}${quote}`;
    });
    writeFileSync(file, text);
  }
}

for (const output of ['index.js', 'worker.js', 'compress-worker.js', 'sandbox-worker.js', 'sql-wasm.wasm', 'types']) rmSync(join(dist, output), { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await buildEntry('index', join(root, 'src/index.ts'));
await buildEntry('compress-worker', join(root, 'worker/pool/compress-worker.ts'));
// sql.js's browser glue (46 KB, CommonJS) goes INSIDE worker.js: it then always matches the
// sql-wasm.wasm copied below, and an app's dev server needs no `optimizeDeps` entry for a
// CommonJS module it only meets inside a worker (Vite pre-bundles what it finds from the page).
const sqlJsVersion = JSON.parse(readFileSync(join(root, 'node_modules/sql.js/package.json'), 'utf8')).version;
await buildEntry('worker', join(root, 'worker/index.ts'), {
  inline: ['sql.js'],
  banner: `/*! Includes sql.js ${sqlJsVersion}, MIT License, https://github.com/sql-js/sql.js */`,
});
// The sandbox has its own sql.js instance (a separate wasm heap), so it carries its own glue; it
// loads the same sql-wasm.wasm, whose URL the worker sends with each call.
await buildEntry('sandbox-worker', join(root, 'worker/engine/sandbox/sandbox-worker.ts'), {
  inline: ['sql.js'],
  banner: `/*! Includes sql.js ${sqlJsVersion}, MIT License, https://github.com/sql-js/sql.js */`,
});
mustContain(join(dist, 'index.js'), `new Worker(new URL("./worker.js", import.meta.url)`);
mustContain(join(dist, 'worker.js'), `new URL("./sql-wasm.wasm", import.meta.url)`);
mustContain(join(dist, 'worker.js'), `new Worker(new URL("./compress-worker.js", import.meta.url)`);
mustContain(join(dist, 'worker.js'), `new Worker(new URL("./sandbox-worker.js", import.meta.url)`);
// The wasm from the same sql.js whose glue worker.js includes.
copyFileSync(join(root, 'node_modules/sql.js/dist/sql-wasm-browser.wasm'), join(dist, 'sql-wasm.wasm'));

execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'scripts/tsconfig.types.json')], { stdio: 'inherit' });
addJsExtensions(join(dist, 'types'));
writeFileSync(
  join(dist, 'types/worker.d.ts'),
  [
    '/**',
    ' * The pagevault worker: serves one database to `openVault()` through Comlink. It exports nothing;',
    ' * construct it yourself when your app must (strict CSP, custom URLs) and pass it as',
    " * `openVault({ name, worker })`, e.g. with Vite: `import VaultWorker from 'pagevault/worker?worker'`.",
    ' */',
    'export {};',
    '',
  ].join('\n'),
);

const main = await bundleAsAnAppWould(join(dist, 'index.js'));
const worker = await bundleAsAnAppWould(join(dist, 'worker.js'));
const compressor = await bundleAsAnAppWould(join(dist, 'compress-worker.js'));
const sandbox = await bundleAsAnAppWould(join(dist, 'sandbox-worker.js'));
const wasm = readFileSync(join(dist, 'sql-wasm.wasm'));
const own = (file) => gzipBytes(readFileSync(join(dist, file)));
console.log('pagevault sizes (gzip -9; "in an app" = minified with its dependencies):');
console.log(`  main thread  dist/index.js   ${kib(own('index.js'))} as shipped, ${kib(main.gzipBytes)} in an app (with comlink)`);
console.log(`  worker       dist/worker.js  ${kib(own('worker.js'))} as shipped, ${kib(worker.gzipBytes)} in an app (with idb, fflate, comlink)`);
console.log(`  compressor   dist/compress-worker.js  ${kib(own('compress-worker.js'))} as shipped, ${kib(compressor.gzipBytes)} in an app (with fflate)`);
console.log(`  sandbox      dist/sandbox-worker.js  ${kib(own('sandbox-worker.js'))} as shipped, ${kib(sandbox.gzipBytes)} in an app (with sql.js glue)`);
console.log(`  wasm         sql-wasm.wasm   ${kib(wasm.length)}, ${kib(gzipBytes(wasm))} gzipped`);
