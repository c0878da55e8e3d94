import { describe, expect, it } from 'vitest';
import { contentDigest, count, fillMegabytes, fillRows, open, rejectsWith, uniqueName } from './helpers';
import type { Vault } from '../../src/index';

async function sampleVault(label: string): Promise<Vault> {
  const vault = await open(uniqueName(label));
  await fillRows(vault, 3_000);
  await vault.exec(`CREATE TABLE kinds (i INTEGER, r REAL, t TEXT, b BLOB, n);
    INSERT INTO kinds VALUES (1, 1.5, 'it''s', X'00ff', NULL), (-7, 1.0, 'ünïcode', zeroblob(4), 3);
    CREATE INDEX kinds_t ON kinds (t); PRAGMA user_version = 12;`);
  return vault;
}

/** Uploads `blob` into `target`, restores it, and returns the content digest. */
async function roundTrip(target: Vault, blob: Blob, passphrase?: string): Promise<string> {
  const { backupId } = await target.backup.upload(blob, passphrase === undefined ? {} : { passphrase });
  const listed = (await target.backup.list()).find((b) => b.backupId === backupId)!;
  expect(listed.method).toBe('upload');
  await target.backup.restore({ backupId });
  return contentDigest(target);
}

describe('portable backup files', () => {
  it('downloads every format, and each uploads back and restores to the same content', async () => {
    const source = await sampleVault('formats');
    const expected = await contentDigest(source);
    const { backupId } = await source.backup.create();
    await source.backup.wait(backupId);
    for (const format of ['archive', 'sqlite', 'sqlite.gz', 'sql'] as const) {
      const { blob, filename } = await source.backup.download(backupId, { format });
      expect(filename.endsWith(format === 'archive' ? '.pvault' : `.${format}`)).toBe(true);
      const target = await open(uniqueName(`target-${format}`));
      expect(await roundTrip(target, blob)).toBe(expected);
      expect((await target.query('PRAGMA user_version'))[0]).toEqual({ user_version: 12 });
      const history = await target.backup.history();
      expect(history.some((h) => h.kind === 'upload' && h.state === 'succeeded')).toBe(true);
      await target.close();
    }
    await source.close();
  });

  it('encrypts an archive: wrong passphrase, no passphrase, then the right one', async () => {
    const source = await sampleVault('encrypted');
    const expected = await contentDigest(source);
    const { backupId } = await source.backup.create();
    await source.backup.wait(backupId);
    const { blob } = await source.backup.download(backupId, { passphrase: 'correct horse' });
    const facts = await source.backup.inspect(blob);
    // Sealed: without the passphrase only that it is encrypted and how large.
    expect(facts).toEqual({ format: 'archive', version: 2, encrypted: true, sizeBytes: blob.size, pageSize: 0, pageCount: 0 });
    expect(await source.backup.inspect(blob, { passphrase: 'correct horse' })).toMatchObject({ encrypted: true, tables: (await source.backup.list())[0]!.tables });
    const target = await open(uniqueName('encrypted-target'));
    await rejectsWith(target.backup.upload(blob), 'PASSPHRASE_REQUIRED');
    await rejectsWith(target.backup.upload(blob, { passphrase: 'wrong' }), 'WRONG_PASSPHRASE');
    // A plain archive where an encrypted one is required: refused even with the passphrase.
    const plain = (await source.backup.download(backupId)).blob;
    await rejectsWith(target.backup.upload(plain, { passphrase: 'correct horse', requireEncrypted: true }), 'NOT_ENCRYPTED');
    expect(await target.backup.list()).toEqual([]);
    expect(await target.backup.upload(blob, { passphrase: 'correct horse', requireEncrypted: true })).toMatchObject({ encrypted: true });
    expect(await roundTrip(target, blob, 'correct horse')).toBe(expected);
    await target.close();
    await source.close();
  });

  it('makes small incremental archives on a 20 MB database that restore exactly with their base', async () => {
    const source = await open(uniqueName('incremental'));
    await fillMegabytes(source, 20);
    const base = await source.backup.wait((await source.backup.create()).backupId);
    const full = (await source.backup.download(base.backupId)).blob;
    const rows = await count(source);
    // 1% new rows appended.
    await source.exec(`INSERT INTO item (body, n) SELECT body, n + 1000000 FROM item WHERE id <= ?`, [Math.ceil(rows / 100)]);
    const appended = await source.backup.wait((await source.backup.create()).backupId);
    const appendedFile = (await source.backup.download(appended.backupId, { since: base.backupId })).blob;
    const appendedDigest = await contentDigest(source);
    // 0.1% of rows updated at scattered positions.
    await source.exec(`UPDATE item SET n = -n WHERE id IN (SELECT id FROM item ORDER BY random() LIMIT ?)`, [Math.ceil(rows / 1000)]);
    const updated = await source.backup.wait((await source.backup.create()).backupId);
    const updatedFile = (await source.backup.download(updated.backupId, { since: appended.backupId })).blob;
    const updatedDigest = await contentDigest(source);
    expect(appendedFile.size).toBeLessThanOrEqual(full.size * 0.03);
    expect(updatedFile.size).toBeLessThanOrEqual(full.size * 0.1);

    const target = await open(uniqueName('incremental-target'));
    await rejectsWith(target.backup.upload(appendedFile), 'CHAIN');
    await target.backup.upload(full);
    const { backupId: a } = await target.backup.upload(appendedFile);
    await target.backup.restore({ backupId: a });
    expect(await contentDigest(target)).toBe(appendedDigest);
    const { backupId: u } = await target.backup.upload(updatedFile);
    await target.backup.restore({ backupId: u });
    expect(await contentDigest(target)).toBe(updatedDigest);
    await target.close();
    await source.close();
  });

  it('inspects a stored backup and a file without restoring', async () => {
    const source = await sampleVault('inspect');
    const info = await source.backup.wait((await source.backup.create({ note: 'look' })).backupId);
    const stored = await source.backup.inspect(info.backupId);
    expect(stored).toMatchObject({ format: 'stored', note: 'look', pageSize: info.pageSize, pageCount: info.pageCount, sha256: info.sha256, userVersion: 12, encrypted: false });
    const file = await source.backup.inspect((await source.backup.download(info.backupId)).blob);
    expect(file).toMatchObject({ format: 'archive', version: 2, note: 'look', method: 'pages', sha256: info.sha256, userVersion: 12, tables: info.tables, encrypted: false });
    const raw = await source.backup.inspect((await source.backup.download(info.backupId, { format: 'sqlite' })).blob);
    expect(raw).toMatchObject({ format: 'sqlite', pageCount: info.pageCount, tables: info.tables });
    await source.close();
  });

  it('rejects bad files with their codes and leaves the vault untouched', async () => {
    const vault = await sampleVault('bad-files');
    const before = await contentDigest(vault);
    const good = (await vault.backup.download((await vault.backup.wait((await vault.backup.create()).backupId)).backupId)).blob;
    const goodBytes = new Uint8Array(await good.arrayBuffer());
    const flipped = goodBytes.slice();
    flipped[flipped.length >> 1]! ^= 1;
    const cases: [Blob, string][] = [
      [new Blob([]), 'NOT_SQLITE'],
      [new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])]), 'NOT_SQLITE'],
      [new Blob(['{"json": true}']), 'NOT_SQLITE'],
      [new Blob([goodBytes.subarray(0, goodBytes.length - 100)]), 'INTEGRITY'],
      [new Blob([flipped]), 'INTEGRITY'],
      [new Blob(["CREATE TABLE t (a); ATTACH 'other.db' AS o;"]), 'NOT_SQLITE'],
    ];
    const listed = (await vault.backup.list()).length;
    for (const [blob, code] of cases) await rejectsWith(vault.backup.upload(blob), code);
    expect((await vault.backup.list()).length).toBe(listed);
    expect(await contentDigest(vault)).toBe(before);
    await vault.close();
  });
});
