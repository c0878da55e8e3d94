import { join } from 'node:path';
import { runnerImport } from 'vite';
import { defineConfig } from 'vitest/config';
import type { BrowserCommand, BrowserProvider, BrowserProviderOption, TestProject } from 'vitest/node';
import { defineBrowserProvider } from '@vitest/browser';
import { playwright } from '@vitest/browser-playwright';
import type { nodeCommands } from './test/support/node-commands';

// Debian's Chromium (apt-get install chromium); Playwright never downloads a browser here.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', // CI runs as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The browser suite runs in every engine listed here, each as its own project: `browser (chromium)`,
// `browser (firefox)`, `browser (webkit)` (`--project 'browser (firefox)'` runs one). All from Debian:
// Playwright drives Debian's Chromium; Firefox ESR and WebKitGTK have their own providers (see there why).
// PAGEVAULT_ENGINES=chromium,webkit narrows the list; scripts/ensure-engines.mjs installs what is missing.
const ENGINES = ['chromium', 'firefox', 'webkit'] as const;
const selected = (process.env.PAGEVAULT_ENGINES ?? ENGINES.join(','))
  .split(',')
  .map((e) => e.trim())
  .filter((e) => e !== '');
for (const engine of selected) {
  if (!(ENGINES as readonly string[]).includes(engine)) throw new Error(`PAGEVAULT_ENGINES: unknown engine "${engine}" (known: ${ENGINES.join(', ')})`);
}
const providers = {
  chromium: () => playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
  firefox: () => lazyProvider('firefox-process', 'firefox', 'test/support/engines/firefox-provider.ts'),
  webkit: () => lazyProvider('webkitgtk-webdriver', 'webkit', 'test/support/engines/webkit-provider.ts'),
};
const instances = ENGINES.filter((e) => selected.includes(e)).map((browser) => ({ browser, provider: providers[browser]() }));

type NodeCommands = typeof nodeCommands;

// The browser suite's Node-side commands import the CLI and so the whole library. Imported statically,
// they would be bundled into this config, and every `npm run demo` and vitest run would print Vite's
// warning about each extensionless import on that path. Loaded on first use through Vite's module
// runner instead, they stay off the config's import graph (the `import type` above is erased).
let commandsLoaded: Promise<NodeCommands> | undefined;
function nodeCommand<K extends keyof NodeCommands>(name: K): NodeCommands[K] {
  const lazy: BrowserCommand<unknown[]> = async (context, ...args) => {
    commandsLoaded ??= runnerImport<{ nodeCommands: NodeCommands }>(join(import.meta.dirname, 'test/support/node-commands.ts')).then(
      (loaded) => loaded.module.nodeCommands,
    );
    const command = (await commandsLoaded)[name] as BrowserCommand<unknown[]>;
    return command(context, ...args);
  };
  return lazy as NodeCommands[K];
}

// Our own providers load like the commands below, on first use (the same reason: they stay off the
// config's import graph); each module exports `createProvider(project)`.
function lazyProvider(name: string, browser: string, file: string): BrowserProviderOption {
  return defineBrowserProvider({
    name,
    supportedBrowser: [browser],
    providerFactory(project: TestProject): BrowserProvider {
      let loaded: Promise<BrowserProvider> | undefined;
      let ready: BrowserProvider | undefined;
      const load = () =>
        (loaded ??= runnerImport<{ createProvider(project: TestProject): BrowserProvider }>(join(import.meta.dirname, file)).then(
          (m) => (ready = m.module.createProvider(project)),
        ));
      return {
        name,
        supportsParallelism: false,
        openPage: async (sessionId, url, options) => (await load()).openPage(sessionId, url, options),
        getCommandsContext: (sessionId) => ready?.getCommandsContext(sessionId) ?? {},
        close: async () => {
          if (loaded !== undefined) await (await loaded).close();
        },
      };
    },
  });
}

export default defineConfig({
  worker: { format: 'es' },
  build: { target: 'es2022' },
  // Worker-only dependencies, pre-bundled so Vite does not re-optimize (and reload) mid-run.
  optimizeDeps: { include: ['sql.js', 'idb', 'comlink', 'fflate', 'hash-wasm'] },
  test: {
    // Both cores: the node project's files (the simulation's shards above all) run two at a time.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/node/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // A real S3 protocol server (s3rver) on 127.0.0.1 for test/browser/remote.test.ts.
          globalSetup: ['test/support/s3-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            // No project-wide provider: each engine's instance names its own.
            instances,
            // Node-side helpers the browser suite calls: the CLI and Debian's sqlite3 on files made in Chromium.
            commands: { pagevaultCli: nodeCommand('pagevaultCli'), sqlite3: nodeCommand('sqlite3'), sqlite3Make: nodeCommand('sqlite3Make') },
          },
        },
      },
    ],
  },
});
