/**
 * Generates the golden archives: v1 in test/golden/, v2 in test/golden/v2/. Runs only with
 * PAGEVAULT_MAKE_GOLDEN=1, and refuses to overwrite: golden files are made once and read forever
 * by format-golden.test.ts (a set that exists is skipped, so a new version adds its own folder).
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
const V2 = join(GOLDEN, 'v2');
// Not NFC on purpose: the v2 reader must normalise it (the file was written from the NFC form).
const PASSPHRASE_V2 = 'golden passphrase v2 caf\u0065\u0301';

/** Writes a golden set: the files, the passphrase file, and expected.json (facts + each file's SHA-256). */
async function writeSet(folder: string, files: Record<string, Uint8Array>, passphrase: string, facts: Record<string, unknown>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    expect(bytes.length).toBeLessThan(64 * 1024);
    await writeFile(join(folder, name), bytes);
  }
  await writeFile(join(folder, 'encrypted.passphrase.txt'), `${passphrase}\n`);
  const expected = { ...facts, files: Object.fromEntries(await Promise.all(Object.entries(files).map(async ([n, b]) => [n, await sha256Hex(b)]))) };
  await writeFile(join(folder, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
}

/** The two images every golden set holds: a base and the same database after a few edits. */
async function goldenImages() {
  const SQL = await sqlJs();
  const db = new SQL.Database();
  db.run('PRAGMA page_size=1024; VACUUM; PRAGMA user_version=7;');
  db.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT); CREATE INDEX notes_title ON notes(title);');
  for (let i = 0; i < 60; i++) db.run('INSERT INTO notes (title, body) VALUES (?, ?)', [`note ${i}`, `body of note ${i} `.repeat(1 + (i % 5))]);
  const baseImage = db.export();
  const baseTables = tablesOf(db);
  db.run("UPDATE notes SET body = 'edited' WHERE id IN (5, 40); INSERT INTO notes (title, body) VALUES ('late', 'added after the base')");
  const nextImage = db.export();
  const nextTables = tablesOf(db);
  db.close();
  return { baseImage, baseTables, nextImage, nextTables };
}

// v1 files can no longer be written (the writer writes v2): this generator ran once, at v1.
describe.skipIf(process.env['PAGEVAULT_MAKE_GOLDEN'] !== '1' || existsSync(join(GOLDEN, 'expected.json')))('golden file generator', () => {
  it('writes plain, encrypted, base and incremental v1 archives and their expected image hashes', async () => {
    await mkdir(GOLDEN, { recursive: true });
    const { baseImage, baseTables, nextImage, nextTables } = await goldenImages();
    const meta = { name: 'golden', createdAt: 1_767_225_600_000, method: 'golden', tables: baseTables };
    const files = {
      'plain.pvault': concat(await writeImageArchive(baseImage, { ...meta, note: 'plain v1' }, { chunkSize: 4096 })),
      'encrypted.pvault': concat(await writeImageArchive(baseImage, { ...meta, note: 'encrypted v1' }, { chunkSize: 4096, passphrase: PASSPHRASE })),
      'base.pvault': concat(await writeImageArchive(baseImage, meta, { chunkSize: 4096 })),
      'incremental.pvault': concat(await writeImageArchive(nextImage, { ...meta, tables: nextTables, note: 'incremental v1' }, { chunkSize: 4096, base: baseImage })),
    };
    await writeSet(GOLDEN, files, PASSPHRASE, {
      formatVersion: 1,
      baseImageSha256: await sha256Hex(baseImage),
      baseImageBytes: baseImage.length,
      incrementalImageSha256: await sha256Hex(nextImage),
      incrementalImageBytes: nextImage.length,
    });
  });
});

describe.skipIf(process.env['PAGEVAULT_MAKE_GOLDEN'] !== '1' || existsSync(join(V2, 'expected.json')))('golden file generator, v2', () => {
  it('writes plain, encrypted (sealed metadata), base and encrypted incremental v2 archives and their expected hashes', async () => {
    await mkdir(V2, { recursive: true });
    const { baseImage, baseTables, nextImage, nextTables } = await goldenImages();
    const meta = { name: 'golden', createdAt: 1_767_225_600_000, method: 'golden', tables: baseTables };
    const files = {
      'plain.pvault': concat(await writeImageArchive(baseImage, { ...meta, note: 'plain v2' }, { chunkSize: 4096 })),
      'encrypted.pvault': concat(await writeImageArchive(baseImage, { ...meta, note: 'encrypted v2' }, { chunkSize: 4096, passphrase: PASSPHRASE_V2.normalize('NFC') })),
      'base.pvault': concat(await writeImageArchive(baseImage, meta, { chunkSize: 4096 })),
      'incremental-encrypted.pvault': concat(
        await writeImageArchive(nextImage, { ...meta, tables: nextTables, note: 'incremental v2' }, { chunkSize: 4096, base: baseImage, passphrase: PASSPHRASE_V2.normalize('NFC') }),
      ),
    };
    await writeSet(V2, files, PASSPHRASE_V2, { formatVersion: 2, baseImageSha256: await sha256Hex(baseImage), incrementalImageSha256: await sha256Hex(nextImage) });
  });
});
