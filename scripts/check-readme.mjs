#!/usr/bin/env node
// Checks that the README's commands work (run in CI). A fenced block preceded by an HTML comment
// `<!-- readme-check: MODE -->` is checked; the comment is invisible on the rendered page.
//   scripts    each command names something that exists (`npm ci` a lock file, `npm test` / `npm run X`
//              a script, `npx X` an installed command); nothing is run (these are long or serve forever).
//   run        each line is run with sh in the repository root and must exit 0.
//   cli-usage  each `pagevault SUB ... --flag` line names a subcommand and flags the CLI's --help lists
//              (needs dist/cli.js: a `run` block builds it first).
// Usage: node scripts/check-readme.mjs [README.md]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = resolve(process.argv[2] ?? join(root, 'README.md'));
const readme = readFileSync(readmePath, 'utf8');
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {};

/** Tagged blocks in document order: { mode, line (1-based, of the first command), commands }. */
function taggedBlocks(text) {
  const blocks = [];
  const re = /<!--\s*readme-check:\s*([\w-]+)\s*-->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const line = text.slice(0, m.index).split('\n').length + 2;
    const commands = m[2]
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l && !l.startsWith('#'));
    blocks.push({ mode: m[1], line, commands });
  }
  return blocks;
}

/** Why a command of a `scripts` block does not exist, or undefined when it does. */
function missing(command) {
  for (const part of command.split('&&').map((p) => p.trim())) {
    const words = part.split(/\s+/).filter((w) => !w.startsWith('-') || w === '--');
    if (part === 'npm ci') {
      if (!existsSync(join(root, 'package-lock.json'))) return 'npm ci needs package-lock.json';
    } else if (words[0] === 'npm' && words[1] === 'test') {
      if (!scripts.test) return 'no "test" script';
    } else if (words[0] === 'npm' && words[1] === 'run') {
      if (!scripts[words[2]]) return `no "${words[2]}" script`;
    } else if (words[0] === 'npx') {
      if (!existsSync(join(root, 'node_modules/.bin', words[1]))) return `npx ${words[1]}: not installed`;
    } else return `cannot check "${part}" without running it (tag the block "run" or reword it)`;
  }
  return undefined;
}

const failures = [];
const blocks = taggedBlocks(readme);
if (blocks.length === 0) failures.push('no <!-- readme-check: ... --> blocks found');
let usage;
for (const { mode, line, commands } of blocks) {
  for (const command of commands) {
    const where = `README.md:${line} \`${command}\``;
    if (mode === 'scripts') {
      const why = missing(command);
      if (why) failures.push(`${where}: ${why}`);
    } else if (mode === 'run') {
      try {
        execFileSync('sh', ['-c', command], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
      } catch (error) {
        failures.push(`${where}: exited ${error.status ?? error.signal}: ${String(error.stderr ?? '').trim().slice(0, 300)}`);
      }
    } else if (mode === 'cli-usage') {
      usage ??= execFileSync(process.execPath, [join(root, 'dist/cli.js'), '--help'], { cwd: root, encoding: 'utf8' });
      const [bin, first, ...rest] = command.split(/\s+/);
      // `pagevault remote list|verify|extract`: the subcommand is two words, each with its own usage line.
      const sub = first === 'remote' ? `${first} ${rest.shift()}` : first;
      if (bin !== 'pagevault') failures.push(`${where}: not a pagevault command`);
      else if (!new RegExp(`^\\s*pagevault ${sub}\\b`, 'm').test(usage)) failures.push(`${where}: the CLI has no "${sub}" command`);
      else {
        const line = usage.split('\n').find((l) => new RegExp(`^\\s*pagevault ${sub}\\b`).test(l));
        for (const flag of rest.join(' ').match(/(?<![\w-])--?[a-z][\w-]*/g) ?? []) {
          if (!line.includes(flag)) failures.push(`${where}: "${sub}" takes no ${flag}`);
        }
      }
    } else failures.push(`README.md:${line}: unknown readme-check mode "${mode}"`);
  }
}

if (failures.length > 0) {
  console.error(`README commands: ${failures.length} problem(s)`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`README commands: ${blocks.reduce((n, b) => n + b.commands.length, 0)} checked in ${blocks.length} blocks`);
