#!/usr/bin/env node
// Checks the architecture's import rules (scripts/import-rules.mjs) and "no import cycles" over the tree.
// Usage: node scripts/check-imports.mjs [--root DIR] [--rules FILE]
// Exit 0 when every rule holds (or is excused by a listed exception) and every exception is still used;
// exit 1 with one line per finding otherwise.
// Why not dependency-cruiser: version 18 needs Node 22 (this project supports 20.19), and it parses
// TypeScript through the `typescript` package's JS API, which typescript@7 (the native compiler) no longer
// ships. The parser here is oxc, through rolldown (already a dev dependency): it reads TS as written.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseSync } from 'rolldown/utils';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(option('--root', join(here, '..')));
const config = await import(pathToFileURL(resolve(option('--rules', join(here, 'import-rules.mjs')))).href);

const toPosix = (p) => p.split(sep).join('/');
const SOURCE = /\.(ts|mts|js|mjs)$/;

/** Every source file under the configured roots, as root-relative posix paths. */
function listFiles() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(toPosix(relative(root, full)));
    }
  };
  for (const r of config.roots) if (existsSync(join(root, r))) walk(join(root, r));
  return out.sort();
}

/** Resolves a specifier as the bundler would: a repository file, `node:x`, or a package name. */
function resolveSpecifier(fromFile, spec) {
  const bare = spec.replace(/[?#].*$/, '');
  if (bare.startsWith('.')) {
    const base = toPosix(join(dirname(fromFile), bare));
    const candidates = [base, `${base}.ts`, `${base}.mts`, base.replace(/\.js$/, '.ts'), `${base}/index.ts`, `${base}.js`, `${base}.mjs`];
    return candidates.find((c) => existsSync(join(root, c)) && statSync(join(root, c)).isFile()) ?? base;
  }
  if (bare.startsWith('node:') || builtinModules.includes(bare.split('/')[0])) return `node:${bare.replace(/^node:/, '')}`;
  const parts = bare.split('/');
  return bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Walks an ESTree-shaped AST, calling `visit` on every node. */
function walk(node, visit, parent) {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit, parent);
    return;
  }
  if (typeof node.type === 'string') visit(node, parent);
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'range' || key === 'loc') continue;
    const value = node[key];
    if (value && typeof value === 'object') walk(value, visit, node);
  }
}

/** Is this identifier a reference (not a property name, a key or a declared binding's member)? */
function isReference(node, parent) {
  if (!parent) return true;
  if ((parent.type === 'MemberExpression' || parent.type === 'TSQualifiedName') && parent.property === node && !parent.computed) return false;
  if (parent.type === 'TSQualifiedName' && parent.right === node) return false;
  if ((parent.type === 'Property' || parent.type === 'PropertyDefinition' || parent.type === 'MethodDefinition' || parent.type === 'TSPropertySignature' || parent.type === 'TSMethodSignature') && parent.key === node && !parent.computed) return false;
  return true;
}

const lineOf = (text, offset) => text.slice(0, offset).split('\n').length;

/** Imports of one file: { to, line } for static, dynamic, re-export and `import('x')` type edges; plus I/O globals used. */
function scan(file) {
  const text = readFileSync(join(root, file), 'utf8');
  const result = parseSync(file, text, { lang: file.endsWith('.ts') || file.endsWith('.mts') ? 'ts' : 'js', sourceType: 'module' });
  if (result.errors.length > 0) throw new Error(`${file}: cannot parse: ${result.errors[0].message}`);
  const edges = [];
  const add = (spec, offset) => edges.push({ to: resolveSpecifier(file, spec), line: lineOf(text, offset) });
  for (const imp of result.module.staticImports) add(imp.moduleRequest.value, imp.start);
  for (const exp of result.module.staticExports) for (const e of exp.entries) if (e.moduleRequest) add(e.moduleRequest.value, exp.start);
  const ioUsed = [];
  const io = new Set(config.ioGlobals);
  walk(result.program, (node, parent) => {
    if (node.type === 'ImportExpression' && node.source?.type === 'Literal' && typeof node.source.value === 'string') add(node.source.value, node.start);
    if (node.type === 'TSImportType') {
      const lit = node.source ?? node.argument?.literal ?? node.argument;
      if (lit && typeof lit.value === 'string') add(lit.value, node.start);
    }
    if (node.type === 'Identifier' && io.has(node.name) && isReference(node, parent)) ioUsed.push({ name: node.name, line: lineOf(text, node.start) });
  });
  return { edges, ioUsed };
}

const files = listFiles();
const graph = new Map(files.map((f) => [f, scan(f)]));
const findings = [];
const used = new Set();
const excused = (rule, from, to) => {
  const i = config.exceptions.findIndex((x) => x.rule === rule && x.from === from && x.to.test(to));
  if (i >= 0) used.add(i);
  return i >= 0;
};

for (const [from, { edges, ioUsed }] of graph) {
  for (const { to, line } of edges) {
    for (const r of config.rules) {
      if (!r.from.test(from) || r.notFrom?.test(from) || !r.to.test(to) || r.notTo?.test(to)) continue;
      if (!excused(r.name, from, to)) findings.push(`${from}:${line}  ${r.name}: imports ${to} (${r.why})`);
    }
  }
  if (config.noIoFrom.test(from)) {
    for (const { name, line } of ioUsed) if (!excused('format-no-io', from, name)) findings.push(`${from}:${line}  format-no-io: uses ${name} (src/format/ does no I/O)`);
  }
}

// Cycles: strongly connected components (Tarjan) of the file graph inside `noCycleIn`, minus excepted edges.
const cycleFiles = files.filter((f) => config.noCycleIn.test(f));
const next = new Map(
  cycleFiles.map((f) => [f, [...new Set(graph.get(f).edges.map((e) => e.to))].filter((t) => graph.has(t) && config.noCycleIn.test(t) && !excused('no-cycle', f, t))]),
);
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
const strong = (v) => {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of next.get(v)) {
    if (!index.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v).includes(v)) components.push(component.sort());
  }
};
for (const f of cycleFiles) if (!index.has(f)) strong(f);
for (const c of components) findings.push(`${c[0]}  no-cycle: import cycle among ${c.join(', ')}`);

config.exceptions.forEach((x, i) => {
  if (!used.has(i)) findings.push(`scripts/import-rules.mjs  stale exception (${x.rule}: ${x.from} -> ${x.to}): nothing needs it any more, delete it`);
});

if (findings.length > 0) {
  console.error(`import rules: ${findings.length} finding(s) in ${files.length} files`);
  for (const f of findings) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`import rules: ${files.length} files, ${config.rules.length + 2} rules, no cycles, ${config.exceptions.length} temporary exception(s)`);
