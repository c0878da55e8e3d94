import { describe, expect, it } from 'vitest';
import { readArchiveImage, openArchive, inspectArchive } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { createArchiveWriter } from '../../src/format/archive/writer';
import { chunkImage } from '../../src/format/archive/from-image';
import { sha256Hex } from '../../src/format/sha256';
import type { ArchiveKeyCache } from '../../src/format/archive/crypto';
import { archiveOf, codeOf, concat, makeDatabase, META } from './format-fixtures';

const PASS = 'correct horse battery staple';

async function roundTrip(archive: Uint8Array, options: Parameters<typeof openArchive>[1] = {}, base?: Map<string, Uint8Array>): Promise<Uint8Array> {
  const opened = await openArchive(bytesSource(archive), options);
  return readArchiveImage(opened, base ? async (key) => base.get(key) : undefined);
}

async function baseResolver(image: Uint8Array, chunkSize = 65536): Promise<Map<string, Uint8Array>> {
  const { chunks, keys } = await chunkImage(image, chunkSize);
  return new Map(keys.map((k, i) => [k, chunks[i]!]));
}

describe('archive v1 round trip', () => {
  it('a plain archive of a real database gives back the identical image and its header facts', async () => {
    const db = await makeDatabase(2000, 4096);
    const image = db.export();
    const archive = await archiveOf(image);
    expect(archive.length).toBeLessThan(image.length);
    expect(await roundTrip(archive)).toEqual(image);
    const facts = await inspectArchive(bytesSource(archive));
    expect(facts).toMatchObject({ format: 'archive', version: 2, pageSize: 4096, sizeBytes: image.length, sha256: await sha256Hex(image), encrypted: false, method: 'test' });
  });

  it('an encrypted archive opens with its passphrase, says WRONG_PASSPHRASE for another and PASSPHRASE_REQUIRED for none', async () => {
    const image = (await makeDatabase(500, 1024)).export();
    const archive = await archiveOf(image, { passphrase: PASS });
    const keyCache: ArchiveKeyCache = new Map();
    expect(await roundTrip(archive, { passphrase: PASS, keyCache })).toEqual(image);
    expect(await codeOf(openArchive(bytesSource(archive), { passphrase: 'nope' }))).toBe('WRONG_PASSPHRASE');
    expect(await codeOf(openArchive(bytesSource(archive)))).toBe('PASSPHRASE_REQUIRED');
    expect((await inspectArchive(bytesSource(archive))).encrypted).toBe(true);
  });

  it('tampered ciphertext with the right passphrase is INTEGRITY, not WRONG_PASSPHRASE', async () => {
    const image = (await makeDatabase(300, 1024)).export();
    const archive = await archiveOf(image, { passphrase: PASS });
    const opened = await openArchive(bytesSource(archive), { passphrase: PASS });
    const first = opened.entries[0]!;
    const bad = archive.slice();
    bad[first.offset + 5]! ^= 0x01;
    expect(await codeOf(roundTrip(bad, { passphrase: PASS }))).toBe('INTEGRITY');
  });

  it('a passphrase given for a plain archive is ignored', async () => {
    const image = (await makeDatabase(50, 1024)).export();
    expect(await roundTrip(await archiveOf(image), { passphrase: PASS })).toEqual(image);
  });

  it('an incremental archive after changing 0.1% of rows of a 20 MB database is at most 10% of the full one', async () => {
    const db = await makeDatabase(400_000, 4096);
    const baseImage = db.export();
    expect(baseImage.length).toBeGreaterThan(15_000_000);
    let state = 7;
    db.run('BEGIN');
    for (let i = 0; i < 400; i++) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      db.run('UPDATE t SET body = ? WHERE id = ?', [`changed ${i}`, 1 + (state % 400_000)]);
    }
    db.run('COMMIT');
    const newImage = db.export();
    const full = await archiveOf(newImage);
    const incremental = await archiveOf(newImage, { base: baseImage });
    console.info(`20 MB db: image ${newImage.length}, full archive ${full.length}, incremental ${incremental.length} (${((100 * incremental.length) / full.length).toFixed(1)}%)`);
    expect(incremental.length).toBeLessThanOrEqual(full.length * 0.1);
    const opened = await openArchive(bytesSource(incremental));
    const kinds = new Set(opened.entries.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['ref', 'patch']));
    const base = await baseResolver(baseImage);
    const restored = await readArchiveImage(opened, async (k) => base.get(k));
    expect(await sha256Hex(restored)).toBe(await sha256Hex(newImage));
  });

  it('an encrypted incremental archive (grown database) round-trips; without its base it is CHAIN', async () => {
    const db = await makeDatabase(3000, 1024);
    const baseImage = db.export();
    db.run("INSERT INTO t (body) VALUES ('one more'); UPDATE t SET body='x' WHERE id=5");
    for (let i = 0; i < 500; i++) db.run("INSERT INTO t (body) VALUES ('growth growth growth')");
    const newImage = db.export();
    const archive = await archiveOf(newImage, { base: baseImage, passphrase: PASS, chunkSize: 16384 });
    const base = await baseResolver(baseImage, 16384);
    expect(await roundTrip(archive, { passphrase: PASS }, base)).toEqual(newImage);
    expect(await codeOf(roundTrip(archive, { passphrase: PASS }, new Map()))).toBe('CHAIN');
    const other = await baseResolver((await makeDatabase(3000, 1024, 99)).export(), 16384);
    expect(await codeOf(roundTrip(archive, { passphrase: PASS }, other))).toBe('CHAIN');
  });

  it('the writer refuses records out of order, of the wrong size, or a finish before every chunk', async () => {
    const image = (await makeDatabase(100, 1024)).export();
    const { keys, chunks, sha256 } = await chunkImage(image, 1024);
    const w = await createArchiveWriter({ ...META, pageSize: 1024, pageCount: image.length / 1024, sizeBytes: image.length, sha256, sqliteVersion: 0, userVersion: 0, chunkSize: 1024 });
    expect(await codeOf(w.add({ kind: 'full', index: 1, key: keys[1]!, size: 1024, codec: 'raw', data: chunks[1]! }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(w.add({ kind: 'full', index: 0, key: keys[0]!, size: 512, codec: 'raw', data: chunks[0]! }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(w.add({ kind: 'ref', index: 0, key: keys[0]!, size: 1024 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(w.finish())).toBe('INVALID_ARGUMENT');
    expect(await codeOf(createArchiveWriter({ ...META, pageSize: 1024, pageCount: 1, sizeBytes: 1024, sha256, sqliteVersion: 0, userVersion: 0, chunkSize: 1024 }, { kdfIterations: 1000, passphrase: 'x' }))).toBe('INVALID_ARGUMENT');
  });

  it('chunks swapped, duplicated or dropped, the last removed, or bytes appended are rejected', async () => {
    const image = (await makeDatabase(200, 1024)).export();
    const archive = await archiveOf(image, { chunkSize: 4096 });
    const { entries } = await openArchive(bytesSource(archive));
    const [a, b] = [entries[0]!, entries[1]!];
    const recA = archive.slice(a.offset, a.offset + a.storedLength);
    const recB = archive.slice(b.offset, b.offset + b.storedLength);
    const body = (recs: Uint8Array[]): Uint8Array => concat([archive.subarray(0, a.offset), ...recs, archive.subarray(b.offset + b.storedLength)]);
    const variants = [
      body([recB, recA]),
      body([recA, recA]),
      body([recB]),
      concat([archive, new Uint8Array([0])]),
      concat([archive, archive.subarray(archive.length - 24)]),
      archive.subarray(0, entries.at(-1)!.offset),
    ];
    for (const v of variants) expect(['INTEGRITY', 'INVALID_BACKUP']).toContain(await codeOf(roundTrip(v)));
  });
});
