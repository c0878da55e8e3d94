// The main-thread entry must stay small: the client and Comlink only. SQLite (sql.js),
// IndexedDB (idb) and compression (fflate) belong in the worker. Checks the built dist/index.js
// two ways: its own import statements, and the modules an app's bundler would pull in.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleAsAnAppWould } from './bundle-report.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist/index.js');
const ALLOWED = new Set(['comlink']);
const FORBIDDEN = ['sql.js', 'idb', 'fflate'];

const code = readFileSync(entry, 'utf8');
const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\1/g)].map((match) => match[2]);
const problems = specifiers.filter((spec) => !ALLOWED.has(spec)).map((spec) => `dist/index.js imports "${spec}"`);

const { moduleIds } = await bundleAsAnAppWould(entry);
for (const name of FORBIDDEN) {
  const pulled = moduleIds.filter((id) => id.includes(`/node_modules/${name}/`));
  if (pulled.length > 0) problems.push(`an app bundling dist/index.js would include ${name}: ${pulled.join(', ')}`);
}

if (problems.length > 0) {
  console.error(`main entry is not worker-free:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`main entry ok: imports ${[...new Set(specifiers)].join(', ') || 'nothing'}; none of ${FORBIDDEN.join(', ')} in its bundle (${moduleIds.length} modules)`);
