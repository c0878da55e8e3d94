/**
 * Format v2: an encrypted archive seals its metadata (only the key's facts stay clear), a plain
 * file is refused where an encrypted one is required, passphrases are NFC-normalised, and the key
 * costs one 256-bit PBKDF2 run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeImageArchive } from '../../src/format/archive/from-image';
import { inspectArchive, openArchive, readArchiveImage } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { fromHex, sha256Hex } from '../../src/format/sha256';
import { codeOf, concat, makeDatabase, tablesOf } from './format-fixtures';

const PASS = 'sealed passphrase';
const SECRET_META = { name: 'payroll-vault', createdAt: 1_700_000_000_000, method: 'pages', note: 'quarterly salaries note' };

/** True when `needle` (text, or raw bytes) occurs anywhere in `hay`. */
function contains(hay: Uint8Array, needle: string | Uint8Array): boolean {
  const n = typeof needle === 'string' ? new TextEncoder().encode(needle) : needle;
  outer: for (let i = 0; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

async function fixture() {
  const db = await makeDatabase(400, 1024);
  db.run('CREATE TABLE employee_salaries (who TEXT, amount INTEGER)');
  const base = db.export();
  const baseTables = tablesOf(db);
  db.run("INSERT INTO employee_salaries VALUES ('x', 1)");
  const next = db.export();
  const tables = tablesOf(db);
  db.close();
  return { base, next, tables, baseTables };
}

afterEach(() => vi.restoreAllMocks());

describe('encrypted archives (format v2) seal their metadata', () => {
  it('the bytes of an encrypted full and incremental archive hold no table name, note, name or image hash in the clear', async () => {
    const { base, next, tables, baseTables } = await fixture();
    const full = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { passphrase: PASS, chunkSize: 4096 }));
    const inc = concat(await writeImageArchive(next, { ...SECRET_META, tables }, { passphrase: PASS, chunkSize: 4096, base }));
    const secrets = [SECRET_META.name, SECRET_META.note, 'employee_salaries', '"tables"', '"note"', '"sha256"', '"pageSize"'];
    for (const [label, bytes] of [['full', full], ['incremental', inc]] as const) {
      for (const s of secrets) expect(contains(bytes, s), `${label} shows ${s}`).toBe(false);
      for (const image of [base, next]) {
        const hex = await sha256Hex(image);
        expect(contains(bytes, hex), `${label} shows an image hash in hex`).toBe(false);
        expect(contains(bytes, fromHex(hex)!), `${label} shows an image hash raw`).toBe(false);
      }
    }
    // The plain control: the same checker finds them in a plain archive.
    const plain = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { chunkSize: 4096 }));
    expect(contains(plain, 'employee_salaries') && contains(plain, SECRET_META.note) && contains(plain, await sha256Hex(base))).toBe(true);
  });

  it('inspect without the passphrase says only that it is encrypted and how large; with it, everything', async () => {
    const { base, baseTables } = await fixture();
    const bytes = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { passphrase: PASS, chunkSize: 4096 }));
    const blind = await inspectArchive(bytesSource(bytes));
    expect(blind).toEqual({ format: 'archive', version: 2, encrypted: true, sizeBytes: bytes.length, pageSize: 0, pageCount: 0 });
    const { header, ...facts } = await inspectArchive(bytesSource(bytes), { passphrase: PASS });
    expect(header?.name).toBe(SECRET_META.name);
    expect(facts).toMatchObject({ version: 2, encrypted: true, note: SECRET_META.note, sizeBytes: base.length, sha256: await sha256Hex(base), tables: baseTables });
    expect(await codeOf(inspectArchive(bytesSource(bytes), { passphrase: 'wrong' }))).toBe('WRONG_PASSPHRASE');
  });

  it('a flipped bit in the sealed metadata is INTEGRITY with the right passphrase', async () => {
    const { base, baseTables } = await fixture();
    const bytes = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { passphrase: PASS }));
    const at = new TextDecoder().decode(bytes.subarray(0, 4096)).indexOf('"sealed":"') + 20;
    const bad = bytes.slice();
    bad[at] = bad[at] === 0x61 ? 0x62 : 0x61; // another hex digit: the JSON stays valid
    // The header digest no longer matches; recompute it so only the seal can notice.
    const headerLength = new DataView(bad.buffer).getUint32(12);
    bad.set(new Uint8Array(await crypto.subtle.digest('SHA-256', bad.subarray(0, 16 + headerLength))), 16 + headerLength);
    expect(await codeOf(openArchive(bytesSource(bad), { passphrase: PASS }))).toBe('INTEGRITY');
  });
});

describe('downgrades are visible', () => {
  it('requireEncrypted refuses a plain archive with NOT_ENCRYPTED, even with a passphrase; an encrypted one opens', async () => {
    const { base, baseTables } = await fixture();
    const plain = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }));
    const sealed = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { passphrase: PASS }));
    expect(await codeOf(openArchive(bytesSource(plain), { passphrase: PASS, requireEncrypted: true }))).toBe('NOT_ENCRYPTED');
    const opened = await openArchive(bytesSource(sealed), { passphrase: PASS, requireEncrypted: true });
    expect(opened.encrypted).toBe(true);
    expect((await openArchive(bytesSource(plain), { passphrase: PASS })).encrypted).toBe(false);
  });
});

describe('the key', () => {
  it('a passphrase typed in another Unicode composition opens the file (NFC before the KDF)', async () => {
    const { base, baseTables } = await fixture();
    const composed = 'caf\u00e9 cr\u00e8me';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    const bytes = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { passphrase: decomposed }));
    expect(await sha256Hex(await readArchiveImage(await openArchive(bytesSource(bytes), { passphrase: composed })))).toBe(await sha256Hex(base));
  });

  it('opening costs one PBKDF2 run of exactly 256 bits', async () => {
    const { base, baseTables } = await fixture();
    const bytes = concat(await writeImageArchive(base, { ...SECRET_META, tables: baseTables }, { passphrase: PASS }));
    const spy = vi.spyOn(globalThis.crypto.subtle, 'deriveBits');
    await openArchive(bytesSource(bytes), { passphrase: PASS });
    const pbkdf2 = spy.mock.calls.filter(([algorithm]) => (algorithm as { name: string }).name === 'PBKDF2');
    expect(pbkdf2.map((call) => call[2])).toEqual([256]);
  });

  it('the v1 golden encrypted file still opens (512-bit v1 derivation kept for reading)', async () => {
    const golden = join(__dirname, '..', 'golden');
    const passphrase = readFileSync(join(golden, 'encrypted.passphrase.txt'), 'utf8').replace(/\r?\n$/, '');
    const archive = await openArchive(bytesSource(new Uint8Array(readFileSync(join(golden, 'encrypted.pvault')))), { passphrase, requireEncrypted: true });
    expect(archive.version).toBe(1);
    expect(archive.encrypted).toBe(true);
  });
});
