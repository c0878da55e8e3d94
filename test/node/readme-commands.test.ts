// scripts/check-readme.mjs: the README's tagged commands pass, and a false one fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const checker = resolve(import.meta.dirname, '../../scripts/check-readme.mjs');
const dir = mkdtempSync(join(tmpdir(), 'pv-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(readme: string): number | null {
  const path = join(dir, 'README.md');
  writeFileSync(path, readme);
  return spawnSync(process.execPath, [checker, path], { encoding: 'utf8' }).status;
}

const block = (mode: string, body: string): string => `<!-- readme-check: ${mode} -->\n\`\`\`sh\n${body}\n\`\`\`\n`;

describe('README command check', () => {
  it('accepts commands that exist and run', () => {
    expect(check(block('scripts', 'npm ci && npm run demo   # serve\nnpm test') + block('run', 'true   # fine'))).toBe(0);
  });

  it.each([
    ['scripts', 'npm run no-such-script'],
    ['scripts', 'npx no-such-command --help'],
    ['scripts', 'make demo'],
    ['run', 'sh -c "exit 3"'],
    ['unknown-mode', 'true'],
  ])('rejects a %s block with `%s`', (mode, body) => {
    expect(check(block(mode, body))).toBe(1);
  });

  it('rejects a README with no tagged block', () => {
    expect(check('# nothing to check\n')).toBe(1);
  });
});
