/** The CLI launcher bundled as `npm run build:cli` does, for tests that run it in a child process. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { rolldown } from 'rolldown';

const ROOT = join(__dirname, '..', '..');

/** Bundles bin/cli.ts (inside node_modules, so sql.js resolves) and returns its path and a cleanup. */
export async function bundleCli(tag: string): Promise<{ bundle: string; remove: () => Promise<void> }> {
  const outDir = join(ROOT, 'node_modules', '.cache', 'pagevault-cli-test');
  await mkdir(outDir, { recursive: true });
  const bundle = join(outDir, `cli-${tag}-${process.pid}.mjs`);
  const build = await rolldown({ input: join(ROOT, 'bin/cli.ts'), platform: 'node', external: (id) => id.startsWith('node:') || id === 'sql.js', logLevel: 'silent' });
  await build.write({ file: bundle, format: 'es', codeSplitting: false });
  await build.close();
  return { bundle, remove: () => rm(bundle, { force: true }) };
}
