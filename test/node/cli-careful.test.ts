/**
 * The CLI under races, signals and odd files: regression tests for attacks C, D, E, F, G/K, I and
 * J of the issue-15 review. The race and signal cases run the bundled CLI in a child process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/pagevault';
import { HANDLED_SIGNALS } from '../../bin/output-file';
import { bundleCli } from './cli-bundle';
import { makeDatabase } from './format-fixtures';

const ROOT = join(__dirname, '..', '..');
let dir: string;
let bundle: string;
let removeBundle: () => Promise<void>;
const p = (name: string): string => join(dir, name);

async function cli(...argv: string[]): Promise<{ code: number; error: string }> {
  let out = '';
  const code = await main([...argv, '--json'], { stdout: (t) => (out += t), stderr: () => undefined, stderrIsTTY: false });
  return { code, error: (JSON.parse(out) as { error?: { code: string } }).error?.code ?? 'OK' };
}

/** Starts the bundled CLI; resolves with its exit code or signal. */
function run(args: string[]): { done: Promise<{ code: number | null; signal: string | null }>; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [bundle, ...args], { stdio: 'ignore' });
  return { done: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))), kill: (s) => child.kill(s) };
}
const temps = async (name?: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.tmp') && (name === undefined || n.startsWith(`.${name}.`)));
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('timed out');
}
const extract = (out: string, ...more: string[]): string[] => ['extract', p('big.pvault'), '-o', p(out), '--passphrase-file', p('pass.txt'), ...more];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagevault-cli-careful-'));
  execFileSync('/usr/bin/sqlite3', [p('big.sqlite'), 'PRAGMA page_size=4096; CREATE TABLE b(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 60000) INSERT INTO b SELECT randomblob(400) FROM c;']);
  const db = await makeDatabase(500, 1024);
  await writeFile(p('app.sqlite'), db.export());
  db.close();
  await writeFile(p('pass.txt'), 'pw\n');
  expect((await cli('create', p('big.sqlite'), '-o', p('big.pvault'), '--passphrase-file', p('pass.txt'))).code).toBe(0);
  expect((await cli('create', p('app.sqlite'), '-o', p('enc.pvault'), '--passphrase-file', p('pass.txt'))).code).toBe(0);
  ({ bundle, remove: removeBundle } = await bundleCli('careful'));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeBundle();
});

describe('C. without --force, nothing that appears at the target meanwhile is replaced', () => {
  it('a file written at the target while extract runs is kept: OUTPUT_EXISTS, exit 2, no temporary file left', async () => {
    const job = run(extract('race.sqlite'));
    await until(async () => (await temps('race.sqlite')).length > 0);
    await writeFile(p('race.sqlite'), 'precious, written by another program');
    expect((await job.done).code).toBe(2);
    expect(await readFile(p('race.sqlite'), 'utf8')).toBe('precious, written by another program');
    expect(await temps('race.sqlite')).toEqual([]);
  }, 60_000);

  it('of two concurrent extracts to one target, one writes it and the other exits 2', async () => {
    const a = run(extract('both.sqlite'));
    const b = run(extract('both.sqlite'));
    expect([(await a.done).code, (await b.done).code].sort()).toEqual([0, 2]);
    expect(Buffer.compare(await readFile(p('both.sqlite')), await readFile(p('big.sqlite')))).toBe(0); // not toEqual: 27 MB
    expect(await temps('both.sqlite')).toEqual([]);
  }, 60_000);
});

describe('D. every catchable terminating signal removes the temporary file', () => {
  it('the handled signals include the common ones beyond SIGINT, SIGTERM and SIGHUP', () => {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF']) expect(HANDLED_SIGNALS).toContain(s);
  });

  for (const signal of ['SIGQUIT', 'SIGUSR2', 'SIGALRM'] as const) {
    it(`${signal} during a running extract: the process dies of it, leaving no temporary file and no output`, async () => {
      const name = `sig-${signal}.sqlite`;
      const job = run(extract(name));
      await until(async () => {
        const [t] = await temps(name);
        return t !== undefined && (await stat(p(t)).catch(() => ({ size: 0 }))).size > 200_000;
      });
      job.kill(signal);
      expect((await job.done).signal).toBe(signal);
      expect(await temps(name)).toEqual([]);
      expect(existsSync(p(name))).toBe(false);
    }, 60_000);
  }
});

describe('E and J. --force replaces only a regular file or a link, and never keeps special mode bits', () => {
  it('--force over a setuid/setgid file gives the output its permission bits without the special ones', async () => {
    await writeFile(p('suid.sqlite'), 'x');
    await chmod(p('suid.sqlite'), 0o6755);
    expect((await cli('extract', p('enc.pvault'), '-o', p('suid.sqlite'), '--passphrase-file', p('pass.txt'), '--force')).code).toBe(0);
    expect((await stat(p('suid.sqlite'))).mode & 0o7777).toBe(0o755);
  }, 60_000);

  it('a FIFO (and, as root, a character device) given as -o with --force is refused and left as it was', async () => {
    execFileSync('mkfifo', [p('out.fifo')]);
    const targets = ['out.fifo'];
    if (process.getuid?.() === 0) {
      execFileSync('mknod', [p('devnull'), 'c', '1', '3']);
      targets.push('devnull');
    }
    for (const t of targets) {
      expect(await cli('extract', p('enc.pvault'), '-o', p(t), '--passphrase-file', p('pass.txt'), '--force')).toEqual({ code: 2, error: 'INVALID_ARGUMENT' });
      const s = await lstat(p(t));
      expect(s.isFIFO() || s.isCharacterDevice()).toBe(true);
    }
    expect(await temps()).toEqual([]);
  }, 60_000);
});

describe('F. passphrase files are strict UTF-8, a byte order mark is dropped', () => {
  it('a file that is not UTF-8 is INVALID_ARGUMENT (exit 2) and nothing is written', async () => {
    await writeFile(p('k1'), Buffer.from([0x6b, 0x65, 0x79, 0xff, 0xfe, 0x80]));
    expect(await cli('create', p('app.sqlite'), '-o', p('k1.pvault'), '--passphrase-file', p('k1'))).toEqual({ code: 2, error: 'INVALID_ARGUMENT' });
    expect(existsSync(p('k1.pvault'))).toBe(false);
  });

  it('a passphrase file saved with a UTF-8 BOM opens a file made with the same passphrase', async () => {
    await writeFile(p('bom.txt'), '\uFEFFpw\n');
    expect(await cli('verify', p('enc.pvault'), '--passphrase-file', p('bom.txt'))).toEqual({ code: 0, error: 'OK' });
  }, 60_000);
});

describe('G/K. user mistakes get their own codes (exit 2), checked before the work', () => {
  it('a folder named DB-journal beside the database: IS_A_DIRECTORY', async () => {
    await mkdir(p('app.sqlite-journal'));
    try {
      expect(await cli('create', p('app.sqlite'), '-o', p('j.pvault'))).toEqual({ code: 2, error: 'IS_A_DIRECTORY' });
    } finally {
      await rm(p('app.sqlite-journal'), { recursive: true });
    }
  });

  it('a legal 250-character output name is written; a 300-character or looping FILE is a user mistake', async () => {
    expect((await cli('create', p('app.sqlite'), '-o', p('a'.repeat(250)))).code).toBe(0);
    expect((await stat(p('a'.repeat(250)))).isFile()).toBe(true);
    expect(await cli('inspect', p('b'.repeat(300)))).toEqual({ code: 2, error: 'INVALID_ARGUMENT' });
    await symlink(p('loop2'), p('loop1'));
    await symlink(p('loop1'), p('loop2'));
    expect(await cli('inspect', p('loop1'))).toEqual({ code: 2, error: 'FILE_NOT_FOUND' });
  });

  it('a FIFO as FILE is refused at once instead of waiting for a writer', async () => {
    execFileSync('mkfifo', [p('in.fifo')]);
    expect(await cli('verify', p('in.fifo'))).toEqual({ code: 2, error: 'INVALID_ARGUMENT' });
  });

  it('-o "" and -o nodir/ fail before anything is read (here before the missing passphrase is noticed)', async () => {
    expect(await cli('extract', p('enc.pvault'), '-o', '')).toEqual({ code: 2, error: 'INVALID_ARGUMENT' });
    expect(await cli('extract', p('enc.pvault'), '-o', p('nodir/'))).toEqual({ code: 2, error: 'IS_A_DIRECTORY' });
    expect(await cli('create', p('app.sqlite'), '-o', p('nodir/'))).toEqual({ code: 2, error: 'IS_A_DIRECTORY' });
    expect(await temps()).toEqual([]);
  });

  it('a missing --base, a folder as --base and a base the passphrase does not open answer with their own codes, not CHAIN', async () => {
    const db = await makeDatabase(500, 1024);
    db.run('CREATE TABLE more (x)');
    await writeFile(p('app2.sqlite'), db.export());
    db.close();
    expect((await cli('create', p('app2.sqlite'), '--since', p('app.sqlite'), '-o', p('inc.pvault'))).code).toBe(0);
    expect(await cli('verify', p('inc.pvault'), '--base', p('no-such-base.sqlite'))).toEqual({ code: 2, error: 'FILE_NOT_FOUND' });
    expect(await cli('verify', p('inc.pvault'), '--base', dir)).toEqual({ code: 2, error: 'IS_A_DIRECTORY' });
    await writeFile(p('other.txt'), 'other\n');
    expect((await cli('create', p('app.sqlite'), '-o', p('enc-other.pvault'), '--passphrase-file', p('other.txt'))).code).toBe(0);
    expect(await cli('verify', p('inc.pvault'), '--base', p('enc-other.pvault'), '--passphrase-file', p('pass.txt'))).toEqual({ code: 1, error: 'WRONG_PASSPHRASE' });
    expect(await cli('verify', p('inc.pvault'), '--base', p('app.sqlite'))).toEqual({ code: 0, error: 'OK' });
    expect(await cli('verify', p('inc.pvault'), '--base', p('enc.pvault'))).toEqual({ code: 1, error: 'PASSPHRASE_REQUIRED' });
  }, 60_000);
});

describe('I. inspect checks a passphrase given for a v1 encrypted file', () => {
  it('a wrong passphrase file is WRONG_PASSPHRASE (exit 1) for v1 as for v2', async () => {
    await writeFile(p('wrong.txt'), 'definitely wrong\n');
    for (const file of [join(ROOT, 'test', 'golden', 'encrypted.pvault'), join(ROOT, 'test', 'golden', 'v2', 'encrypted.pvault')]) {
      expect(await cli('inspect', file, '--passphrase-file', p('wrong.txt'))).toEqual({ code: 1, error: 'WRONG_PASSPHRASE' });
    }
  }, 60_000);
});
