// Builds the Node CLI (bin/cli.ts, the launcher of bin/pagevault.ts's `main`) into dist/cli.js:
// one ESM file for plain Node 20 with a shebang, dependencies left as imports (they are the
// package's own: sql.js finds its wasm itself under Node).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'bin/cli.ts');
const output = join(root, 'dist/cli.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dependencies = Object.keys(pkg.dependencies ?? {});
const builtins = new Set(builtinModules);

if (!existsSync(source)) {
  console.warn(`build-cli: ${source} does not exist yet; dist/cli.js not built.`);
  process.exit(0);
}

const bundle = await rolldown({
  input: source,
  platform: 'node',
  external: (id) => id.startsWith('node:') || builtins.has(id) || dependencies.some((dep) => id === dep || id.startsWith(`${dep}/`)),
  transform: { target: 'node20' },
});
try {
  await bundle.write({ file: output, format: 'es', codeSplitting: false });
} finally {
  await bundle.close();
}
const SHEBANG = '#!/usr/bin/env node\n';
const code = readFileSync(output, 'utf8');
if (!code.startsWith(SHEBANG)) writeFileSync(output, SHEBANG + code); // bin/cli.ts's own line survives bundling; if not, add it
chmodSync(output, 0o755);
