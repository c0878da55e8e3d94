/**
 * Encrypted v2 archives are padded (ARCHIVE.md, "Padding"): the lengths visible without the
 * passphrase (clear header, body, chunk table) tell a size class, not which database is inside.
 * Regression tests for attack A of the issue-15 review.
 */
import { describe, expect, it } from 'vitest';
import { writeImageArchive } from '../../src/format/archive/from-image';
import { MAX_PADDING_RECORD_BYTES, padme, paddedTableEntries, paddingLength, paddingRecordLengths } from '../../src/format/archive/padding';
import { openArchive, readArchiveImage } from '../../src/format/archive/reader';
import type { OpenedArchive } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { trailerChecksum } from '../../src/format/archive/writer';
import { codeOf, concat, makeDatabase, tablesOf } from './format-fixtures';

const VICTIM = 'victim passphrase';
const ATTACKER = 'attacker passphrase';

/** What anyone sees without the passphrase: clear header length, body length, footer count, file size. */
function clearFacts(file: Uint8Array): { headerLength: number; bodyLength: number; tableEntries: number; size: number; trailerOffset: number } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getUint32(12);
  const footer = file.length - 24;
  const trailerOffset = Number(view.getBigUint64(footer));
  return { headerLength, bodyLength: trailerOffset - (16 + headerLength + 32), tableEntries: view.getUint32(footer + 12), size: file.length, trailerOffset };
}

/** A small encrypted archive, opened. */
async function smallPadded(): Promise<{ file: Uint8Array; archive: OpenedArchive }> {
  const db = await makeDatabase(300, 1024);
  const image = db.export();
  db.close();
  const file = concat(await writeImageArchive(image, { name: 'v', createdAt: 1, method: 'x', tables: [] }, { passphrase: VICTIM }));
  return { file, archive: await openArchive(bytesSource(file), { passphrase: VICTIM }) };
}

/** Where the chunk records end (the padding starts). */
function recordsEndOf(archive: OpenedArchive): number {
  const last = archive.entries.at(-1)!;
  return last.offset + last.storedLength;
}

describe('padding rules', () => {
  it('PADME rounds up by less than 12% and keeps only the top bits of a length', () => {
    for (let length = 2; length < 1 << 26; length = Math.ceil(length * 1.37) + 1) {
      const padded = padme(length);
      expect(padded).toBeGreaterThanOrEqual(length);
      expect(padded / length).toBeLessThan(1.12);
      expect(padme(padded)).toBe(padded);
    }
    expect(padme(1_000_000)).toBe(1_015_808);
  });

  it('padding is at least one tag, cut into records of at most 1 MiB that are each at least one tag', () => {
    for (const records of [0, 1, 500, 70_000, 9_000_000, 300_000_000]) {
      const total = paddingLength(records);
      expect(total).toBeGreaterThanOrEqual(16);
      const lengths = paddingRecordLengths(total);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(total);
      for (const l of lengths) expect(l >= 16 && l <= MAX_PADDING_RECORD_BYTES).toBe(true);
    }
    expect([1, 16, 17, 200_000].map(paddedTableEntries)).toEqual([16, 16, 32, 262_144]);
  });
});

describe('A. the size of an encrypted file does not single out its content', () => {
  it('an attacker with candidate databases of the same page count cannot pick the one inside by any visible length', async () => {
    const db = await makeDatabase(3000, 4096);
    const candidates: Uint8Array[] = [];
    for (let k = 1; k <= 12; k++) {
      db.run(`UPDATE t SET body = substr(printf('%s', hex(randomblob(64))), 1, length(body)) WHERE id = ${k * 97}`);
      candidates.push(db.export());
    }
    const secretIndex = 7;
    const tables = tablesOf(db);
    db.close();
    const victimFile = concat(await writeImageArchive(candidates[secretIndex]!, { name: 'payroll', createdAt: Date.now(), method: 'cli', tables, note: 'private' }, { passphrase: VICTIM }));
    const target = clearFacts(victimFile);
    const matches: number[] = [];
    for (let i = 0; i < candidates.length; i++) {
      const mine = clearFacts(concat(await writeImageArchive(candidates[i]!, { name: 'x', createdAt: 0, method: 'x', tables: [] }, { passphrase: ATTACKER })));
      if (mine.bodyLength === target.bodyLength && mine.size === target.size && mine.tableEntries === target.tableEntries) matches.push(i);
    }
    expect(matches).toContain(secretIndex);
    expect(matches.length).toBeGreaterThan(1);

    // The padding costs less than 12% of the records, and the file still reads back.
    const archive = await openArchive(bytesSource(victimFile), { passphrase: VICTIM });
    const last = archive.entries.at(-1)!;
    const records = last.offset + last.storedLength - (16 + target.headerLength + 32);
    expect(target.bodyLength / records).toBeLessThan(1.12);
    expect(await readArchiveImage(archive)).toEqual(candidates[secretIndex]);
  }, 120_000);

  it('the clear header has one length for a short or long note and for row counts of any number of digits', async () => {
    const db = await makeDatabase(200, 1024);
    const image = db.export();
    const tables = tablesOf(db);
    db.close();
    const meta = { name: 'vault', createdAt: 1_700_000_000_000, method: 'cli', tables };
    const lengths = await Promise.all(
      [
        { ...meta, note: 'n' },
        { ...meta, note: 'n'.repeat(301) },
        { ...meta, tables: [...tables, { name: 'employee_salaries', rows: 12345 }] },
        { ...meta, tables: [...tables, { name: 'employee_salaries', rows: 9 }] },
      ].map(async (m) => clearFacts(concat(await writeImageArchive(image, m, { passphrase: VICTIM }))).headerLength),
    );
    expect(new Set(lengths).size).toBe(1);
  }, 60_000);

  it('the padding is authenticated: a changed padding byte is INTEGRITY, and the chunk count is not in the clear', async () => {
    const { file, archive } = await smallPadded();
    expect(clearFacts(file).tableEntries).toBe(paddedTableEntries(archive.header.chunkCount));
    expect(archive.header.chunkCount).toBeLessThan(16);
    const recordsEnd = recordsEndOf(archive);
    expect(clearFacts(file).trailerOffset - recordsEnd).toBeGreaterThanOrEqual(16);
    const damaged = file.slice();
    damaged[recordsEnd + 3]! ^= 1;
    expect(await codeOf(async () => readArchiveImage(await openArchive(bytesSource(damaged), { passphrase: VICTIM })))).toBe('INTEGRITY');
  }, 60_000);

  it('padding made longer or cut off (footer and unkeyed checksum fixed) is refused: INVALID_BACKUP, or INTEGRITY when cut short', async () => {
    const { file, archive } = await smallPadded();
    const recordsEnd = recordsEndOf(archive);
    const { trailerOffset, headerLength } = clearFacts(file);
    const digest = file.subarray(16 + headerLength, 16 + headerLength + 32);
    /** The file with its padding region replaced by `padding`, footer and trailer checksum recomputed. */
    const withPadding = async (padding: Uint8Array): Promise<Uint8Array> => {
      const trailer = file.subarray(trailerOffset, file.length - 24 - 32);
      const footer = file.slice(file.length - 24);
      new DataView(footer.buffer).setBigUint64(0, BigInt(recordsEnd + padding.length));
      const checksum = await trailerChecksum(digest, trailer, footer.subarray(0, 16));
      return concat([file.subarray(0, recordsEnd), padding, trailer, checksum, footer]);
    };
    const open = async (f: Uint8Array) => codeOf(async () => readArchiveImage(await openArchive(bytesSource(f), { passphrase: VICTIM })));
    const padding = file.subarray(recordsEnd, trailerOffset);
    expect(await open(await withPadding(padding))).toBe('OK');
    expect(await open(await withPadding(concat([padding, new Uint8Array(64)])))).toBe('INVALID_BACKUP');
    expect(await open(await withPadding(new Uint8Array(0)))).toBe('INVALID_BACKUP');
    expect(await open(await withPadding(padding.subarray(0, padding.length - 1)))).toBe('INTEGRITY');
  }, 60_000);

  it('a plain archive is not padded (nothing to hide): its body is exactly its records', async () => {
    const db = await makeDatabase(300, 1024);
    const image = db.export();
    db.close();
    const file = concat(await writeImageArchive(image, { name: 'v', createdAt: 1, method: 'x', tables: [] }));
    const archive = await openArchive(bytesSource(file));
    const last = archive.entries.at(-1)!;
    expect(last.offset + last.storedLength).toBe(clearFacts(file).trailerOffset);
    expect(clearFacts(file).tableEntries).toBe(archive.header.chunkCount);
  }, 60_000);
});
