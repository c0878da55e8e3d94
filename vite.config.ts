import { join } from 'node:path';
import { runnerImport } from 'vite';
import { defineConfig } from 'vitest/config';
import type { BrowserCommand } from 'vitest/node';
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

export default defineConfig({
  worker: { format: 'es' },
  build: { target: 'es2022' },
  // Worker-only dependencies, pre-bundled so Vite does not re-optimize (and reload) mid-run.
  optimizeDeps: { include: ['sql.js', 'idb', 'comlink', 'fflate'] },
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
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
            // Node-side helpers the browser suite calls: the CLI and Debian's sqlite3 on files made in Chromium.
            commands: { pagevaultCli: nodeCommand('pagevaultCli'), sqlite3: nodeCommand('sqlite3'), sqlite3Make: nodeCommand('sqlite3Make') },
          },
        },
      },
    ],
  },
});
