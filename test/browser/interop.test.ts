import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { contentDigest, fillRows, open, uniqueName } from './helpers';
import type { Vault } from '../../src/index';

async function toBase64(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sample(label: string): Promise<Vault> {
  const vault = await open(uniqueName(label));
  await fillRows(vault, 4_000);
  await vault.exec("CREATE TABLE extra (k TEXT PRIMARY KEY, v REAL) WITHOUT ROWID; INSERT INTO extra VALUES ('a', 0.5), ('b''s', -2.0);");
  return vault;
}

const SUMMARY = "SELECT count(*) AS rows, total(n) AS total, sum(length(body)) AS chars FROM item";

describe('files made in Chromium and outside it are the same format', () => {
  it('an archive downloaded in Chromium verifies and extracts with the CLI to the exact image', async () => {
    const vault = await sample('to-cli');
    const info = await vault.backup.wait((await vault.backup.create({ note: 'for the cli' })).backupId);
    const archive = await toBase64((await vault.backup.download(info.backupId)).blob);
    const verify = await commands.pagevaultCli(['verify', '{dir}/b.pvault', '--json'], { 'b.pvault': archive });
    expect(verify.code).toBe(0);
    const inspect = await commands.pagevaultCli(['inspect', '{dir}/b.pvault', '--json'], { 'b.pvault': archive });
    expect(JSON.parse(inspect.stdout)).toMatchObject({ format: 'archive', version: 2, note: 'for the cli', sha256: info.sha256, tables: info.tables, encrypted: false });
    const extract = await commands.pagevaultCli(['extract', '{dir}/b.pvault', '-o', '{dir}/out.sqlite'], { 'b.pvault': archive });
    expect(extract.code).toBe(0);
    expect(await sha256Hex(fromBase64(extract.files['out.sqlite']!))).toBe(info.sha256);
    await vault.close();
  });

  it('an encrypted archive from Chromium extracts with the CLI given the passphrase file', async () => {
    const vault = await sample('to-cli-encrypted');
    const info = await vault.backup.wait((await vault.backup.create()).backupId);
    const archive = await toBase64((await vault.backup.download(info.backupId, { passphrase: 'open sesame' })).blob);
    const files = { 'e.pvault': archive, 'pass.txt': btoa('open sesame\n') };
    const wrong = await commands.pagevaultCli(['verify', '{dir}/e.pvault', '--json'], files);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout).error.code).toBe('PASSPHRASE_REQUIRED');
    const extract = await commands.pagevaultCli(['extract', '{dir}/e.pvault', '-o', '{dir}/out.sqlite', '--passphrase-file', '{dir}/pass.txt'], files);
    expect(extract.code).toBe(0);
    expect(await sha256Hex(fromBase64(extract.files['out.sqlite']!))).toBe(info.sha256);
    await vault.close();
  });

  it('an archive created by the CLI uploads and restores in Chromium', async () => {
    const vault = await sample('from-cli');
    const expected = await contentDigest(vault);
    const info = await vault.backup.wait((await vault.backup.create()).backupId);
    const sqlite = await toBase64((await vault.backup.download(info.backupId, { format: 'sqlite' })).blob);
    const created = await commands.pagevaultCli(['create', '{dir}/db.sqlite', '-o', '{dir}/cli.pvault', '--note', 'made by the cli'], { 'db.sqlite': sqlite });
    expect(created.code).toBe(0);
    const target = await open(uniqueName('from-cli-target'));
    const file = new Blob([fromBase64(created.files['cli.pvault']!) as BlobPart]);
    expect(await target.backup.inspect(file)).toMatchObject({ format: 'archive', note: 'made by the cli', sha256: info.sha256 });
    const { backupId } = await target.backup.upload(file);
    await target.backup.restore({ backupId });
    expect(await contentDigest(target)).toBe(expected);
    await target.close();
    await vault.close();
  });

  it('sqlite and sqlite.gz downloads open in sqlite3, and the sql dump replays there to the same content', async () => {
    const vault = await sample('sqlite3');
    const [summary] = await vault.query(SUMMARY);
    const extra = await vault.query('SELECT k, v FROM extra ORDER BY k');
    const info = await vault.backup.wait((await vault.backup.create()).backupId);
    for (const format of ['sqlite', 'sqlite.gz', 'sql'] as const) {
      const file = await toBase64((await vault.backup.download(info.backupId, { format })).blob);
      const checked = JSON.parse(await commands.sqlite3(format, file, 'PRAGMA integrity_check')) as unknown[];
      expect(checked).toEqual([{ integrity_check: 'ok' }]);
      expect(JSON.parse(await commands.sqlite3(format, file, SUMMARY))).toEqual([summary]);
      expect(JSON.parse(await commands.sqlite3(format, file, 'SELECT k, v FROM extra ORDER BY k'))).toEqual(extra);
    }
    await vault.close();
  });
});
