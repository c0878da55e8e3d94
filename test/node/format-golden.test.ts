/**
 * Archives made once (v1 in test/golden, v2 in test/golden/v2, by format-golden.make.test.ts) must stay readable forever.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkImage } from '../../src/format/archive/from-image';
import { inspectArchive, openArchive, readArchiveImage } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { sha256Hex } from '../../src/format/sha256';
import { codeOf } from './format-fixtures';

const GOLDEN = join(__dirname, '..', 'golden');
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(join(GOLDEN, name)));
const expected = JSON.parse(readFileSync(join(GOLDEN, 'expected.json'), 'utf8')) as {
  baseImageSha256: string;
  incrementalImageSha256: string;
  files: Record<string, string>;
};

describe('golden v1 archives', () => {
  it('are the committed bytes', async () => {
    for (const [name, sha] of Object.entries(expected.files)) expect(await sha256Hex(file(name)), name).toBe(sha);
  });

  it('plain.pvault reads back to the recorded image and its header facts', async () => {
    const source = bytesSource(file('plain.pvault'));
    expect(await inspectArchive(source)).toMatchObject({ format: 'archive', version: 1, method: 'golden', note: 'plain v1', pageSize: 1024, userVersion: 7, encrypted: false });
    const image = await readArchiveImage(await openArchive(source));
    expect(await sha256Hex(image)).toBe(expected.baseImageSha256);
  });

  it('encrypted.pvault opens with the passphrase in its .txt (trailing newline dropped) and not without', async () => {
    const source = bytesSource(file('encrypted.pvault'));
    const passphrase = readFileSync(join(GOLDEN, 'encrypted.passphrase.txt'), 'utf8').replace(/\r?\n$/, '');
    expect(await codeOf(openArchive(source))).toBe('PASSPHRASE_REQUIRED');
    const image = await readArchiveImage(await openArchive(source, { passphrase }));
    expect(await sha256Hex(image)).toBe(expected.baseImageSha256);
  });

  it('incremental.pvault rebuilds the later image from base.pvault through patch and ref records', async () => {
    const base = await readArchiveImage(await openArchive(bytesSource(file('base.pvault'))));
    const archive = await openArchive(bytesSource(file('incremental.pvault')));
    expect(archive.header.base?.sha256).toBe(expected.baseImageSha256);
    expect(archive.entries.some((e) => e.kind === 'patch')).toBe(true);
    const { chunks, keys } = await chunkImage(base, archive.header.chunkSize);
    const byKey = new Map(keys.map((k, i) => [k, chunks[i]!]));
    const image = await readArchiveImage(archive, async (key) => byKey.get(key));
    expect(await sha256Hex(image)).toBe(expected.incrementalImageSha256);
  });
});

const V2 = join(GOLDEN, 'v2');
const fileV2 = (name: string): Uint8Array => new Uint8Array(readFileSync(join(V2, name)));
const expectedV2 = JSON.parse(readFileSync(join(V2, 'expected.json'), 'utf8')) as typeof expected;
/** The v2 passphrase file holds a non-NFC passphrase; the files were written from its NFC form. */
const passphraseV2 = readFileSync(join(V2, 'encrypted.passphrase.txt'), 'utf8').replace(/\r?\n$/, '');

describe('golden v2 archives', () => {
  it('are the committed bytes', async () => {
    for (const [name, sha] of Object.entries(expectedV2.files)) expect(await sha256Hex(fileV2(name)), name).toBe(sha);
  });

  it('plain.pvault reads back with its header facts', async () => {
    const source = bytesSource(fileV2('plain.pvault'));
    expect(await inspectArchive(source)).toMatchObject({ version: 2, note: 'plain v2', pageSize: 1024, userVersion: 7, encrypted: false });
    expect(await sha256Hex(await readArchiveImage(await openArchive(source)))).toBe(expectedV2.baseImageSha256);
  });

  it('encrypted.pvault shows nothing without the passphrase, everything with it (in either Unicode form)', async () => {
    const source = bytesSource(fileV2('encrypted.pvault'));
    expect(passphraseV2.normalize('NFC')).not.toBe(passphraseV2);
    expect(await inspectArchive(source)).toEqual({ format: 'archive', version: 2, encrypted: true, sizeBytes: source.size, pageSize: 0, pageCount: 0 });
    expect(await inspectArchive(source, { passphrase: passphraseV2 })).toMatchObject({ note: 'encrypted v2', sha256: expectedV2.baseImageSha256 });
    const image = await readArchiveImage(await openArchive(source, { passphrase: passphraseV2, requireEncrypted: true }));
    expect(await sha256Hex(image)).toBe(expectedV2.baseImageSha256);
  });

  it('incremental-encrypted.pvault rebuilds the later image from base.pvault', async () => {
    const base = await readArchiveImage(await openArchive(bytesSource(fileV2('base.pvault'))));
    const archive = await openArchive(bytesSource(fileV2('incremental-encrypted.pvault')), { passphrase: passphraseV2.normalize('NFC') });
    expect(archive.header.base?.sha256).toBe(expectedV2.baseImageSha256);
    const { chunks, keys } = await chunkImage(base, archive.header.chunkSize);
    const byKey = new Map(keys.map((k, i) => [k, chunks[i]!]));
    expect(await sha256Hex(await readArchiveImage(archive, async (key) => byKey.get(key)))).toBe(expectedV2.incrementalImageSha256);
  });
});
