import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/pagevault';
import { sha256Hex } from '../../src/format/sha256';
import { makeDatabase } from './format-fixtures';

let dir: string;
const path = (name: string): string => join(dir, name);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string; json: () => Record<string, unknown> }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), stderrIsTTY: false });
  return { code, out, err, json: () => JSON.parse(out) as Record<string, unknown> };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagevault-cli-'));
  const db = await makeDatabase(3000, 4096);
  await writeFile(path('app.sqlite'), db.export());
  db.run("UPDATE t SET body = 'changed' WHERE id IN (3, 1500, 2999)");
  await writeFile(path('app2.sqlite'), db.export());
  await writeFile(path('pass.txt'), 'hunter2 hunter2\n');
  await writeFile(path('wrong.txt'), 'not it');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pagevault CLI', () => {
  it('create then inspect --json reports the header facts with method cli and the table row counts', async () => {
    const created = await cli('create', path('app.sqlite'), '-o', path('full.pvault'), '--note', 'nightly', '--json');
    expect(created.code).toBe(0);
    const inspected = await cli('inspect', path('full.pvault'), '--json');
    expect(inspected.code).toBe(0);
    const facts = inspected.json();
    expect(facts).toMatchObject({ format: 'archive', version: 2, method: 'cli', note: 'nightly', pageSize: 4096, encrypted: false, base: null });
    expect(facts['sha256']).toBe(await sha256Hex(await readFile(path('app.sqlite'))));
    expect(facts['tables']).toEqual([{ name: 'empty_one', rows: 0 }, { name: 't', rows: 3000 }]);
    for (const key of ['createdAt', 'pageCount', 'sizeBytes', 'sqliteVersion', 'userVersion']) expect(facts).toHaveProperty(key);
  });

  it('verify accepts a good archive, .sqlite and .sqlite.gz, and exits 1 with a code for a damaged one', async () => {
    await cli('create', path('app.sqlite'), '-o', path('v.pvault'));
    expect((await cli('verify', path('v.pvault'))).code).toBe(0);
    expect((await cli('verify', path('app.sqlite'), '--json')).json()).toMatchObject({ ok: true, format: 'sqlite', integrity: 'ok' });
    await writeFile(path('app.sqlite.gz'), gzipSync(await readFile(path('app.sqlite'))));
    expect((await cli('inspect', path('app.sqlite.gz'), '--json')).json()).toMatchObject({ format: 'sqlite.gz', pageSize: 4096 });
    expect((await cli('verify', path('app.sqlite.gz'))).code).toBe(0);
    const bytes = await readFile(path('v.pvault'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    await writeFile(path('bad.pvault'), bytes);
    const bad = await cli('verify', path('bad.pvault'), '--json');
    expect(bad.code).toBe(1);
    expect(['INTEGRITY', 'INVALID_BACKUP']).toContain((bad.json()['error'] as { code: string }).code);
    expect(bad.err).toMatch(/^error [A-Z_]+: /);
  });

  it('an encrypted archive needs its passphrase file: missing, wrong and right give three outcomes', async () => {
    expect((await cli('create', path('app.sqlite'), '-o', path('enc.pvault'), '--passphrase-file', path('pass.txt'))).code).toBe(0);
    expect((await cli('inspect', path('enc.pvault'), '--json')).json()).toMatchObject({ encrypted: true });
    const none = await cli('verify', path('enc.pvault'), '--json');
    expect(none.json()).toMatchObject({ error: { code: 'PASSPHRASE_REQUIRED' } });
    const wrong = await cli('verify', path('enc.pvault'), '--passphrase-file', path('wrong.txt'), '--json');
    expect(wrong.json()).toMatchObject({ error: { code: 'WRONG_PASSPHRASE' } });
    expect(wrong.code).toBe(1);
    expect((await cli('verify', path('enc.pvault'), '--passphrase-file', path('pass.txt'))).code).toBe(0);
  });

  it('an incremental archive made with --since extracts only with its base, to a byte-identical file sqlite3 can read', async () => {
    await cli('create', path('app.sqlite'), '-o', path('base.pvault'));
    const inc = await cli('create', path('app2.sqlite'), '-o', path('inc.pvault'), '--since', path('base.pvault'), '--json');
    expect(inc.json()).toMatchObject({ ok: true, incremental: true });
    expect((await stat(path('inc.pvault'))).size).toBeLessThan((await stat(path('base.pvault'))).size / 4);
    const missing = await cli('extract', path('inc.pvault'), '-o', path('out.sqlite'), '--json');
    expect(missing.json()).toMatchObject({ error: { code: 'CHAIN' } });
    expect((await cli('extract', path('inc.pvault'), '-o', path('out.sqlite'), '--base', path('base.pvault'))).code).toBe(0);
    expect(await readFile(path('out.sqlite'))).toEqual(await readFile(path('app2.sqlite')));
    const refused = await cli('extract', path('inc.pvault'), '-o', path('out.sqlite'), '--base', path('base.pvault'));
    expect(refused.code).toBe(2);
    expect((await cli('extract', path('inc.pvault'), '-o', path('out.sqlite'), '--base', path('base.pvault'), '--force')).code).toBe(0);
    expect(execFileSync('/usr/bin/sqlite3', [path('out.sqlite'), "SELECT count(*) FROM t WHERE body = 'changed'"]).toString().trim()).toBe('3');
  });

  it('usage errors exit 2; files that are not databases exit 1 with NOT_SQLITE', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('frobnicate', 'x')).code).toBe(2);
    expect((await cli('inspect', path('app.sqlite'), '--bogus')).code).toBe(2);
    expect((await cli('extract', path('full.pvault'))).code).toBe(2);
    const missing = await cli('inspect', path('nope.pvault'), '--json');
    expect(missing.json()).toMatchObject({ error: { code: 'FILE_NOT_FOUND' } });
    expect(missing.code).toBe(2);
    await writeFile(path('empty.sqlite'), new Uint8Array(0));
    await writeFile(path('pic.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    for (const f of ['empty.sqlite', 'pic.png']) {
      const r = await cli('verify', path(f), '--json');
      expect(r.code).toBe(1);
      expect(r.json()).toMatchObject({ error: { code: 'NOT_SQLITE' } });
    }
  });

  it('a SQLite file with a damaged b-tree fails verify with CORRUPT', async () => {
    const image = await readFile(path('app.sqlite'));
    const page = 4096;
    // Scribble over the cell pointer area of a leaf page of table t (page 3 onwards).
    image.fill(0xff, 5 * page + 8, 5 * page + 64);
    await writeFile(path('corrupt.sqlite'), image);
    const r = await cli('verify', path('corrupt.sqlite'), '--json');
    expect(r.code).toBe(1);
    expect(r.json()).toMatchObject({ error: { code: 'CORRUPT' } });
  });
});
