/**
 * How the reader tells a wrong passphrase from tampering, and which passphrase forms open old
 * files. Regression tests for attacks B, H and I of the issue-15 review.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveArchiveKeys, open, seal } from '../../src/format/archive/crypto';
import { writeImageArchive } from '../../src/format/archive/from-image';
import { inspectArchive, openArchive, readArchiveImage } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { trailerChecksum } from '../../src/format/archive/writer';
import { fromHex, sha256 } from '../../src/format/sha256';
import { codeOf, concat, makeDatabase } from './format-fixtures';

const VICTIM = 'victim passphrase';
const GOLDEN = join(__dirname, '..', 'golden');

/** Rewrites the clear header JSON of a file (same length) and fixes every unkeyed checksum (digest, trailer). */
async function rewriteClearHeader(file: Uint8Array, edit: (json: Record<string, unknown>) => void): Promise<Uint8Array> {
  const n = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(12);
  const json = JSON.parse(new TextDecoder().decode(file.subarray(16, 16 + n))) as Record<string, unknown>;
  edit(json);
  const newJson = new TextEncoder().encode(JSON.stringify(json));
  expect(newJson.length).toBe(n);
  const out = file.slice();
  out.set(newJson, 16);
  const digest = await sha256(out.subarray(0, 16 + n));
  out.set(digest, 16 + n);
  const footer = out.length - 24;
  const view = new DataView(out.buffer);
  const trailerOffset = Number(view.getBigUint64(footer));
  const trailerLength = view.getUint32(footer + 8);
  const table = out.subarray(trailerOffset, trailerOffset + trailerLength - 32);
  out.set(await trailerChecksum(digest, table, out.subarray(footer, footer + 16)), trailerOffset + trailerLength - 32);
  return out;
}

const flipFirstHexDigit = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

async function smallEncrypted(): Promise<{ image: Uint8Array; file: Uint8Array }> {
  const db = await makeDatabase(100, 1024);
  const image = db.export();
  db.close();
  return { image, file: concat(await writeImageArchive(image, { name: 'v', createdAt: 1, method: 'x', tables: [] }, { passphrase: VICTIM })) };
}

describe('B. tampering with the clear key facts is not reported as a wrong passphrase', () => {
  it('an altered keyCheck (checksums fixed) is INTEGRITY with the right passphrase, WRONG_PASSPHRASE with a wrong one', async () => {
    const { image, file } = await smallEncrypted();
    const tampered = await rewriteClearHeader(file, (json) => {
      const e = json['encryption'] as Record<string, string>;
      e['keyCheck'] = flipFirstHexDigit(e['keyCheck']!);
    });
    expect(await codeOf(openArchive(bytesSource(tampered), { passphrase: VICTIM }))).toBe('INTEGRITY');
    expect(await codeOf(inspectArchive(bytesSource(tampered), { passphrase: VICTIM }))).toBe('INTEGRITY');
    expect(await codeOf(openArchive(bytesSource(tampered), { passphrase: 'someone else' }))).toBe('WRONG_PASSPHRASE');
    const nonce = await rewriteClearHeader(file, (json) => {
      const e = json['encryption'] as Record<string, string>;
      e['noncePrefix'] = flipFirstHexDigit(e['noncePrefix']!);
    });
    expect(await codeOf(openArchive(bytesSource(nonce), { passphrase: VICTIM }))).toBe('INTEGRITY');
    expect(await readArchiveImage(await openArchive(bytesSource(file), { passphrase: VICTIM }))).toEqual(image);
  }, 60_000);
});

describe('H. v1 files written before NFC normalisation', () => {
  /** Re-keys the golden v1 encrypted file under `next` (v1 KDF, passphrase as given): what a v1 writer on a Mac made. */
  async function rekeyV1(file: Uint8Array, old: string, next: string): Promise<Uint8Array> {
    const out = file.slice();
    const view = new DataView(out.buffer);
    const n = view.getUint32(12);
    const header = JSON.parse(new TextDecoder().decode(out.subarray(16, 16 + n))) as { chunkCount: number; encryption: Record<string, string | number> };
    const enc = header.encryption;
    const salt = fromHex(enc['salt'] as string)!;
    const nonce = fromHex(enc['noncePrefix'] as string)!;
    const oldKeys = await deriveArchiveKeys(old, salt, enc['iterations'] as number, 1, true);
    const newKeys = await deriveArchiveKeys(next, salt, enc['iterations'] as number, 1, true);
    const oldDigest = out.slice(16 + n, 16 + n + 32);
    out.set(new TextEncoder().encode(new TextDecoder().decode(out.subarray(16, 16 + n)).replace(enc['keyCheck'] as string, newKeys.keyCheck)), 16);
    const digest = await sha256(out.subarray(0, 16 + n));
    out.set(digest, 16 + n);
    const footer = out.length - 24;
    const trailerOffset = Number(view.getBigUint64(footer));
    const trailerLength = view.getUint32(footer + 8);
    const tableBinding = (d: Uint8Array) => ({ headerDigest: d, index: 0xffffffff, last: true, kind: 0, codec: 0 });
    const table = await open(oldKeys, nonce, tableBinding(oldDigest), out.subarray(trailerOffset, trailerOffset + trailerLength - 32));
    const tv = new DataView(table.buffer);
    for (let i = 0; i < header.chunkCount; i++) {
      const e = i * 64;
      const kind = table[e + 4]!;
      if (kind === 2) continue;
      const at = Number(tv.getBigUint64(e + 8));
      const len = tv.getUint32(e + 16);
      const b = (d: Uint8Array) => ({ headerDigest: d, index: i, last: i === header.chunkCount - 1, kind, codec: table[e + 5]! });
      const plain = await open(oldKeys, nonce, b(oldDigest), out.subarray(at, at + len));
      out.set(await seal(newKeys, nonce, b(digest), plain), at);
    }
    const sealedTable = await seal(newKeys, nonce, tableBinding(digest), table);
    out.set(sealedTable, trailerOffset);
    out.set(await trailerChecksum(digest, sealedTable, out.subarray(footer, footer + 16)), trailerOffset + sealedTable.length);
    return out;
  }

  it('a v1 file made with an NFD passphrase opens whether it is typed in NFD or in NFC', async () => {
    const golden = new Uint8Array(readFileSync(join(GOLDEN, 'encrypted.pvault')));
    const oldPass = readFileSync(join(GOLDEN, 'encrypted.passphrase.txt'), 'utf8').replace(/\r?\n$/, '');
    const nfd = 'cafe\u0301 cre\u0300me';
    const file = await rekeyV1(golden, oldPass, nfd);
    const expected = await readArchiveImage(await openArchive(bytesSource(golden), { passphrase: oldPass }));
    for (const typed of [nfd, nfd.normalize('NFC')]) {
      expect(await readArchiveImage(await openArchive(bytesSource(file), { passphrase: typed }))).toEqual(expected);
    }
    expect(await codeOf(openArchive(bytesSource(file), { passphrase: 'cafe creme' }))).toBe('WRONG_PASSPHRASE');
  }, 60_000);
});

describe('I. inspect checks a passphrase given for a v1 encrypted file', () => {
  it('a wrong one is WRONG_PASSPHRASE; the right one and none give the clear facts', async () => {
    const source = bytesSource(new Uint8Array(readFileSync(join(GOLDEN, 'encrypted.pvault'))));
    const right = readFileSync(join(GOLDEN, 'encrypted.passphrase.txt'), 'utf8').replace(/\r?\n$/, '');
    expect(await codeOf(inspectArchive(source, { passphrase: 'definitely wrong' }))).toBe('WRONG_PASSPHRASE');
    expect(await inspectArchive(source, { passphrase: right })).toMatchObject({ version: 1, encrypted: true, note: 'encrypted v1' });
    expect(await inspectArchive(source)).toMatchObject({ version: 1, encrypted: true, note: 'encrypted v1' });
  }, 60_000);
});
