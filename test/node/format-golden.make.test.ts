/**
 * Generates the golden v1 archives in test/golden/. Runs only with PAGEVAULT_MAKE_GOLDEN=1, and
 * refuses to overwrite: golden files are made once and read forever by format-golden.test.ts.
 *   PAGEVAULT_MAKE_GOLDEN=1 npx vitest run --project node test/node/format-golden.make
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeImageArchive } from '../../src/format/archive/from-image';
import { sha256Hex } from '../../src/format/sha256';
import { concat, sqlJs, tablesOf } from './format-fixtures';

const GOLDEN = join(__dirname, '..', 'golden');
const PASSPHRASE = 'golden passphrase v1';

describe.skipIf(process.env['PAGEVAULT_MAKE_GOLDEN'] !== '1')('golden file generator', () => {
  it('writes plain, encrypted, base and incremental v1 archives and their expected image hashes', async () => {
    expect(existsSync(join(GOLDEN, 'expected.json')), 'golden files exist; never regenerate them').toBe(false);
    await mkdir(GOLDEN, { recursive: true });
    const SQL = await sqlJs();
    const db = new SQL.Database();
    db.run('PRAGMA page_size=1024; VACUUM; PRAGMA user_version=7;');
    db.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT); CREATE INDEX notes_title ON notes(title);');
    for (let i = 0; i < 60; i++) db.run('INSERT INTO notes (title, body) VALUES (?, ?)', [`note ${i}`, `body of note ${i} `.repeat(1 + (i % 5))]);
    const baseImage = db.export();
    const baseTables = tablesOf(db);
    db.run("UPDATE notes SET body = 'edited' WHERE id IN (5, 40); INSERT INTO notes (title, body) VALUES ('late', 'added after the base')");
    const nextImage = db.export();
    const meta = { name: 'golden', createdAt: 1_767_225_600_000, method: 'golden', tables: baseTables };
    const files = {
      'plain.pvault': concat(await writeImageArchive(baseImage, { ...meta, note: 'plain v1' }, { chunkSize: 4096 })),
      'encrypted.pvault': concat(await writeImageArchive(baseImage, { ...meta, note: 'encrypted v1' }, { chunkSize: 4096, passphrase: PASSPHRASE })),
      'base.pvault': concat(await writeImageArchive(baseImage, meta, { chunkSize: 4096 })),
      'incremental.pvault': concat(await writeImageArchive(nextImage, { ...meta, tables: tablesOf(db), note: 'incremental v1' }, { chunkSize: 4096, base: baseImage })),
    };
    for (const [name, bytes] of Object.entries(files)) {
      expect(bytes.length).toBeLessThan(64 * 1024);
      await writeFile(join(GOLDEN, name), bytes);
    }
    await writeFile(join(GOLDEN, 'encrypted.passphrase.txt'), `${PASSPHRASE}\n`);
    const expected = {
      formatVersion: 1,
      baseImageSha256: await sha256Hex(baseImage),
      baseImageBytes: baseImage.length,
      incrementalImageSha256: await sha256Hex(nextImage),
      incrementalImageBytes: nextImage.length,
      files: Object.fromEntries(await Promise.all(Object.entries(files).map(async ([n, b]) => [n, await sha256Hex(b)]))),
    };
    await writeFile(join(GOLDEN, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
  });
});
