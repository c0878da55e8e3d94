/**
 * The CLI as a careful Unix tool: output modes, links, leftovers under signals, codes for the
 * user's file mistakes, downgrade refusals, sealed inspect, and what `create` refuses to copy.
 * The signal and permission cases run the built CLI in a child process.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/pagevault';
import { fsError } from '../../bin/fs-errors';
import { bundleCli } from './cli-bundle';
import { makeDatabase } from './format-fixtures';

const SQLITE3 = '/usr/bin/sqlite3';
let dir: string;
let bundle: string;
let removeBundle: () => Promise<void>;
const path = (name: string): string => join(dir, name);
const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;
const leftovers = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.tmp'));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string; json: () => Record<string, unknown> }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), stderrIsTTY: false });
  return { code, out, err, json: () => JSON.parse(out) as Record<string, unknown> };
}
const errorCode = (r: { json: () => Record<string, unknown> }): string => (r.json()['error'] as { code: string }).code;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagevault-cli-files-'));
  const db = await makeDatabase(2000, 4096);
  db.run('CREATE TABLE secret_ledger (x)');
  await writeFile(path('app.sqlite'), db.export());
  db.close();
  await writeFile(path('pass.txt'), 'caf\u00e9 passphrase\n');
  await writeFile(path('pass-nfd.txt'), 'caf\u00e9 passphrase'.normalize('NFD'));
  expect((await cli('create', path('app.sqlite'), '-o', path('plain.pvault'))).code).toBe(0);
  expect((await cli('create', path('app.sqlite'), '-o', path('enc.pvault'), '--passphrase-file', path('pass.txt'), '--note', 'the ledger'))).toMatchObject({ code: 0 });
  ({ bundle, remove: removeBundle } = await bundleCli('files'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeBundle();
});

describe('output files', () => {
  it('a new output is 0600 whatever the umask; --force over an existing file keeps that file mode', async () => {
    expect((await cli('extract', path('plain.pvault'), '-o', path('new.sqlite'))).code).toBe(0);
    expect(await mode(path('new.sqlite'))).toBe(0o600);
    expect((await cli('create', path('app.sqlite'), '-o', path('new.pvault'))).code).toBe(0);
    expect(await mode(path('new.pvault'))).toBe(0o600);
    await writeFile(path('kept.sqlite'), 'old');
    await chmod(path('kept.sqlite'), 0o640);
    expect((await cli('extract', path('enc.pvault'), '-o', path('kept.sqlite'), '--passphrase-file', path('pass.txt'), '--force')).code).toBe(0);
    expect(await mode(path('kept.sqlite'))).toBe(0o640);
    expect(await readFile(path('kept.sqlite'))).toEqual(await readFile(path('app.sqlite')));
    expect(await leftovers()).toEqual([]);
  });

  it('a dangling symlink counts as existing: refused without --force (link untouched), replaced itself with --force', async () => {
    await symlink(path('nowhere.sqlite'), path('link.sqlite'));
    const refused = await cli('extract', path('plain.pvault'), '-o', path('link.sqlite'), '--json');
    expect(refused.code).toBe(2);
    expect(errorCode(refused)).toBe('OUTPUT_EXISTS');
    expect((await lstat(path('link.sqlite'))).isSymbolicLink()).toBe(true);
    expect(existsSync(path('nowhere.sqlite'))).toBe(false);
    expect((await cli('extract', path('plain.pvault'), '-o', path('link.sqlite'), '--force')).code).toBe(0);
    expect((await lstat(path('link.sqlite'))).isFile()).toBe(true);
    expect(existsSync(path('nowhere.sqlite'))).toBe(false);
  });

  it('a file that fails its checks leaves neither the output nor a temporary file', async () => {
    const bytes = await readFile(path('plain.pvault'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    await writeFile(path('bad.pvault'), bytes);
    const r = await cli('extract', path('bad.pvault'), '-o', path('bad-out.sqlite'), '--json');
    expect(r.code).toBe(1);
    expect(existsSync(path('bad-out.sqlite'))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('%s during a running extract leaves no temporary file and no output', async (signal) => {
    if (!existsSync(path('big.pvault'))) {
      const big = path('big.sqlite');
      execFileSync(SQLITE3, [big, 'PRAGMA page_size=4096; CREATE TABLE b(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 120000) INSERT INTO b SELECT randomblob(400) FROM c;']);
      expect((await cli('create', big, '-o', path('big.pvault'), '--passphrase-file', path('pass.txt'))).code).toBe(0);
    }
    const child = spawn(process.execPath, [bundle, 'extract', path('big.pvault'), '-o', path('big-out.sqlite'), '--passphrase-file', path('pass.txt')], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let sawTemp = false;
    for (let i = 0; i < 3000 && !sawTemp; i++) {
      sawTemp = (await leftovers()).some((n) => n.startsWith('.big-out.sqlite.'));
      if (!sawTemp) await new Promise((r) => setTimeout(r, 5));
    }
    expect(sawTemp, 'the extract never started writing').toBe(true);
    child.kill(signal);
    expect(await exited).toEqual({ code: null, signal });
    expect(await leftovers()).toEqual([]);
    expect(existsSync(path('big-out.sqlite'))).toBe(false);
  }, 60_000);
});

describe('user mistakes have their own codes', () => {
  it('a folder, a missing file and a missing output folder exit 2 with IS_A_DIRECTORY / FILE_NOT_FOUND, never INTERNAL', async () => {
    const cases: [string[], string][] = [
      [['inspect', dir], 'IS_A_DIRECTORY'],
      [['verify', dir], 'IS_A_DIRECTORY'],
      [['extract', path('plain.pvault'), '-o', dir, '--force'], 'IS_A_DIRECTORY'],
      [['inspect', path('missing.pvault')], 'FILE_NOT_FOUND'],
      [['extract', path('plain.pvault'), '-o', path('no/such/folder/out.sqlite')], 'FILE_NOT_FOUND'],
      [['verify', path('enc.pvault'), '--passphrase-file', path('missing.txt')], 'FILE_NOT_FOUND'],
    ];
    for (const [argv, code] of cases) {
      const r = await cli(...argv, '--json');
      expect(errorCode(r), argv.join(' ')).toBe(code);
      expect(r.code, argv.join(' ')).toBe(2);
    }
  });

  it('EACCES and EPERM map to PERMISSION_DENIED, ENOSPC to QUOTA_EXCEEDED, anything else to STORAGE', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(fsError(errno('EACCES'), 'open', 'x').code).toBe('PERMISSION_DENIED');
    expect(fsError(errno('EPERM'), 'open', 'x').code).toBe('PERMISSION_DENIED');
    expect(fsError(errno('ENOSPC'), 'write', 'x').code).toBe('QUOTA_EXCEEDED');
    expect(fsError(errno('EIO'), 'read', 'x').code).toBe('STORAGE');
  });

  it.skipIf(!existsSync('/usr/sbin/runuser') || process.getuid?.() !== 0)('an unreadable file exits 2 with PERMISSION_DENIED (run as nobody)', async (ctx) => {
    // nobody must be able to run the bundled CLI at all: a checkout inside a private folder (mktemp -d
    // is 0700) hides it, and then this case cannot be shown here.
    const reachable = (() => {
      try {
        execFileSync('/usr/sbin/runuser', ['-u', 'nobody', '--', 'test', '-r', bundle], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    if (!reachable) ctx.skip();
    await chmod(dir, 0o755);
    await writeFile(path('private.pvault'), await readFile(path('plain.pvault')));
    await chmod(path('private.pvault'), 0o600);
    let out = '';
    let code = 0;
    try {
      out = execFileSync('/usr/sbin/runuser', ['-u', 'nobody', '--', process.execPath, bundle, 'inspect', path('private.pvault'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (error) {
      const e = error as { status: number; stdout: string };
      code = e.status;
      out = e.stdout;
    }
    expect(code).toBe(2);
    expect(JSON.parse(out)).toMatchObject({ error: { code: 'PERMISSION_DENIED' } });
  });
});

describe('encryption is visible', () => {
  it('verify reports encrypted; --require-encrypted refuses a plain archive and a plain .sqlite with NOT_ENCRYPTED even with a passphrase', async () => {
    expect((await cli('verify', path('enc.pvault'), '--passphrase-file', path('pass.txt'), '--require-encrypted', '--json')).json()).toMatchObject({ ok: true, encrypted: true });
    expect((await cli('verify', path('plain.pvault'), '--passphrase-file', path('pass.txt'), '--json')).json()).toMatchObject({ ok: true, encrypted: false });
    for (const file of ['plain.pvault', 'app.sqlite']) {
      const r = await cli('verify', path(file), '--passphrase-file', path('pass.txt'), '--require-encrypted', '--json');
      expect(errorCode(r), file).toBe('NOT_ENCRYPTED');
      expect(r.code).toBe(1);
    }
  });

  it('inspect of an encrypted archive without the passphrase shows only encrypted and size; with it (any Unicode composition) the tables and note', async () => {
    const blind = (await cli('inspect', path('enc.pvault'), '--json')).json();
    expect(blind).toMatchObject({ format: 'archive', version: 2, encrypted: true, sizeBytes: (await stat(path('enc.pvault'))).size, tables: null, note: null, sha256: null });
    const human = (await cli('inspect', path('enc.pvault'))).out;
    expect(human).not.toMatch(/secret_ledger|ledger/);
    const full = (await cli('inspect', path('enc.pvault'), '--passphrase-file', path('pass-nfd.txt'), '--json')).json();
    expect(full).toMatchObject({ encrypted: true, note: 'the ledger' });
    expect(full['tables']).toContainEqual({ name: 'secret_ledger', rows: 0 });
    await writeFile(path('wrong.txt'), 'not the passphrase\n');
    expect(errorCode(await cli('inspect', path('enc.pvault'), '--passphrase-file', path('wrong.txt'), '--json'))).toBe('WRONG_PASSPHRASE');
  });
});

describe('create copies only what SQLite would see', () => {
  it('a database with a non-empty -wal is refused with WAL_PRESENT and nothing is written', async () => {
    const live = path('live.db');
    // Snapshot the files while the shell still holds the database open with its WAL un-checkpointed.
    execFileSync(SQLITE3, [
      live,
      'PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE r(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 1000) INSERT INTO r SELECT i FROM c;',
      `.shell cp ${live} ${path('snap.db')} && cp ${live}-wal ${path('snap.db')}-wal`,
    ]);
    expect((await stat(path('snap.db-wal'))).size).toBeGreaterThan(0);
    const r = await cli('create', path('snap.db'), '-o', path('snap.pvault'), '--json');
    expect(errorCode(r)).toBe('WAL_PRESENT');
    expect(r.code).toBe(1);
    expect(r.err).toContain('.backup');
    expect(existsSync(path('snap.pvault'))).toBe(false);
    // The command the message names makes a copy that create accepts, with every row.
    execFileSync(SQLITE3, [path('snap.db'), `.backup ${path('snap-copy.db')}`]);
    expect((await cli('create', path('snap-copy.db'), '-o', path('snap.pvault'))).code).toBe(0);
    expect((await cli('inspect', path('snap.pvault'), '--json')).json()['tables']).toEqual([{ name: 'r', rows: 1000 }]);
  });

  it('a hot -journal is refused with HOT_JOURNAL; a zeroed (committed) one is not', async () => {
    await writeFile(path('hot.db'), await readFile(path('app.sqlite')));
    const journal = new Uint8Array(512);
    journal.set([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);
    await writeFile(path('hot.db-journal'), journal);
    expect(errorCode(await cli('create', path('hot.db'), '-o', path('hot.pvault'), '--json'))).toBe('HOT_JOURNAL');
    expect(existsSync(path('hot.pvault'))).toBe(false);
    await writeFile(path('hot.db-journal'), new Uint8Array(512));
    expect((await cli('create', path('hot.db'), '-o', path('hot.pvault'))).code).toBe(0);
  });

  it('a damaged database is refused with CORRUPT and no backup is written', async () => {
    const image = await readFile(path('app.sqlite'));
    image.fill(0xff, 5 * 4096 + 8, 5 * 4096 + 64);
    await writeFile(path('damaged.sqlite'), image);
    const r = await cli('create', path('damaged.sqlite'), '-o', path('damaged.pvault'), '--json');
    expect(errorCode(r)).toBe('CORRUPT');
    expect(existsSync(path('damaged.pvault'))).toBe(false);
    expect(await leftovers()).toEqual([]);
  });
});
