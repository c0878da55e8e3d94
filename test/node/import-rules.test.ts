// The import-rule check (scripts/check-imports.mjs) passes on the real tree and fails on each kind of violation.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const checker = join(repo, 'scripts/check-imports.mjs');
const realRules = join(repo, 'scripts/import-rules.mjs');
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` into a fresh folder, plus rules that are the real ones with `exceptions` replaced. */
function fixture(files: Record<string, string>, exceptions = '[]'): { root: string; rules: string } {
  const root = mkdtempSync(join(tmpdir(), 'pv-imports-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const rules = join(root, 'rules.mjs');
  writeFileSync(rules, `export * from ${JSON.stringify(realRules)};\nexport const exceptions = ${exceptions};\n`);
  return { root, rules };
}

function check(args: string[] = []): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [checker, ...args], { encoding: 'utf8' });
  return { status: run.status, out: run.stdout + run.stderr };
}

const clean = {
  'src/index.ts': "export { a } from './format/a';\n",
  'src/errors.ts': 'export const ErrorCode = { X: "X" } as const;\n',
  'src/format/a.ts': "import { deflateSync } from 'fflate';\nimport { ErrorCode } from '../errors';\nexport const a = [deflateSync, ErrorCode];\n",
  'worker/engine/db.ts': "import initSqlJs from 'sql.js';\nexport const open = initSqlJs;\n",
  'worker/store/kv.ts': "import { openDB } from 'idb';\nexport const kv = openDB;\n",
  'worker/jobs/job.ts': "import { open } from '../engine/db';\nimport { kv } from '../store/kv';\nexport const job = [open, kv];\n",
  'demo/main.ts': "import { a } from '../src/index';\nconsole.log(a);\n",
};

describe('import rules', () => {
  it('pass on the repository as it is', () => {
    expect(check().status).toBe(0);
  });

  it('pass on a small tree that follows them', () => {
    const { root, rules } = fixture(clean);
    const run = check(['--root', root, '--rules', rules]);
    expect(run.out).not.toContain('finding');
    expect(run.status).toBe(0);
  });

  it.each([
    ['src-no-worker', { 'src/client.ts': "import { job } from '../worker/jobs/job';\nexport const c = job;\n" }],
    ['src-no-sqljs', { 'src/client.ts': "import type { Database } from 'sql.js';\nexport type C = Database;\n" }],
    ['sqljs-only-engine', { 'worker/service.ts': "export type S = typeof import('sql.js');\n" }],
    ['idb-only-store', { 'bin/cli.ts': "import { openDB } from 'idb';\nexport const o = openDB;\n" }],
    ['jobs-no-sqljs-idb', { 'worker/jobs/job.ts': "import { openDB } from 'idb';\nexport const job = openDB;\n" }],
    ['format-self-contained', { 'src/format/b.ts': "import { readFile } from 'node:fs/promises';\nexport const b = readFile;\n" }],
    ['format-no-io', { 'src/format/b.ts': "export const b = () => fetch('x');\n" }],
    ['demo-through-index', { 'demo/panel.ts': "export { a } from '../src/format/a';\n" }],
    ['no-cycle', { 'bin/x.ts': "import { y } from './y';\nexport const x = 1;\nexport const z = y;\n", 'bin/y.ts': "import { x } from './x';\nexport const y = x;\n" }],
  ])('fail on a %s violation', (rule, extra) => {
    const { root, rules } = fixture({ ...clean, ...extra });
    const run = check(['--root', root, '--rules', rules]);
    expect(run.status).toBe(1);
    expect(run.out).toContain(` ${rule}: `);
  });

  it('fail on an exception that nothing needs any more', () => {
    const { root, rules } = fixture(clean, "[{ rule: 'no-cycle', from: 'bin/x.ts', to: /y/, why: 'gone' }]");
    const run = check(['--root', root, '--rules', rules]);
    expect(run.status).toBe(1);
    expect(run.out).toContain('stale exception');
  });

  it('let a listed exception excuse exactly its edge', () => {
    const files = { ...clean, 'bin/cli.ts': "import initSqlJs from 'sql.js';\nexport const o = initSqlJs;\n" };
    const { root, rules } = fixture(files, "[{ rule: 'sqljs-only-engine', from: 'bin/cli.ts', to: /^sql\\.js$/, why: 'test' }]");
    expect(check(['--root', root, '--rules', rules]).status).toBe(0);
  });
});
