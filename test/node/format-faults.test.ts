/**
 * Damaged archives: truncation at every offset, a bit flip at every position, forged lengths,
 * edited header fields, unknown versions and flags. Zero may be accepted with different content.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isPagevaultError } from '../../src/errors';
import type { ArchiveKeyCache } from '../../src/format/archive/crypto';
import { openArchive, readArchiveImage } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import type { ByteSource } from '../../src/format/archive/source';
import { sha256 } from '../../src/format/sha256';
import { archiveOf, codeOf, sqlJs } from './format-fixtures';

const PASS = 'flip-test passphrase';
const keyCache: ArchiveKeyCache = new Map();
let image: Uint8Array;
let plain: Uint8Array;
let encrypted: Uint8Array;

beforeAll(async () => {
  const SQL = await sqlJs();
  const db = new SQL.Database();
  db.run('PRAGMA page_size=512; VACUUM; CREATE TABLE a (x); INSERT INTO a VALUES (1), (2); CREATE TABLE b (y TEXT); INSERT INTO b VALUES (\'hello\');');
  image = db.export();
  db.close();
  plain = await archiveOf(image, { chunkSize: 512 });
  encrypted = await archiveOf(image, { chunkSize: 512, passphrase: PASS });
});

/** Opens and fully reads; returns 'OK' with the image, or the error code. Non-PagevaultErrors fail the test. */
async function attempt(bytes: Uint8Array, passphrase?: string): Promise<{ code: string; image?: Uint8Array }> {
  try {
    const archive = await openArchive(bytesSource(bytes), passphrase === undefined ? {} : { passphrase, keyCache });
    return { code: 'OK', image: await readArchiveImage(archive) };
  } catch (error) {
    if (!isPagevaultError(error)) throw new Error(`raw error escaped: ${String(error)}`);
    if (error.code === 'INTERNAL') throw new Error(`INTERNAL for bad input: ${error.message}`);
    return { code: error.code };
  }
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

describe('damaged archives', () => {
  it('the small fixture archives span three chunks and read back intact', async () => {
    expect(image.length).toBe(3 * 512);
    expect((await attempt(plain)).image).toEqual(image);
    expect((await attempt(encrypted, PASS)).image).toEqual(image);
  });

  for (const [label, pass] of [['plain', undefined], ['encrypted', PASS]] as const) {
    it(`a ${label} archive truncated at every offset is rejected`, async () => {
      const bytes = label === 'plain' ? plain : encrypted;
      const codes = new Map<string, number>();
      for (let cut = 0; cut < bytes.length; cut++) {
        const { code } = await attempt(bytes.subarray(0, cut), pass);
        expect(code, `truncated at ${cut}`).not.toBe('OK');
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      expect([...codes.keys()].every((c) => ['INTEGRITY', 'INVALID_BACKUP'].includes(c))).toBe(true);
    });

    it(`a ${label} archive with any one of its bits flipped never yields a different image`, async () => {
      const bytes = label === 'plain' ? plain : encrypted;
      const accepted: number[] = [];
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const damaged = bytes.slice();
        damaged[bit >> 3]! ^= 1 << (bit & 7);
        const { code, image: got } = await attempt(damaged, pass);
        if (code === 'OK') {
          accepted.push(bit);
          expect(same(got!, image), `flip of bit ${bit} accepted with different content`).toBe(true);
        }
      }
      // Only bits that cannot change the output may pass: in a plain archive, bits inside a DEFLATE
      // record that the decoder ignores (padding after the final block); the chunk hash still holds.
      // Encrypted records are authenticated whole, so there nothing passes.
      if (label === 'encrypted') expect(accepted).toEqual([]);
      const { entries } = await openArchive(bytesSource(bytes), { passphrase: PASS, keyCache });
      const inDeflate = (bit: number): boolean => entries.some((e) => e.codec === 'deflate' && bit >> 3 >= e.offset && bit >> 3 < e.offset + e.storedLength);
      expect(accepted.filter((bit) => !inDeflate(bit))).toEqual([]);
    });
  }

  it('a header length of 4 GiB and a chunk table claiming 2 GiB records are rejected before allocating', async () => {
    const forged = plain.slice();
    new DataView(forged.buffer).setUint32(12, 0xffffffff);
    let largestRead = 0;
    const spy = (bytes: Uint8Array): ByteSource => ({
      size: bytes.length,
      read: async (offset, length) => {
        largestRead = Math.max(largestRead, length);
        return bytes.subarray(offset, offset + length);
      },
    });
    expect(await codeOf(openArchive(spy(forged)))).toBe('INTEGRITY');
    expect(largestRead).toBeLessThanOrEqual(64);
    // A "file" claiming 8 GiB with a 2 GiB header: refused by limit without reading it.
    const huge: ByteSource = { size: 8 * 2 ** 30, read: async (offset, length) => (offset === 0 ? forgedHeaderLength(plain, 2 ** 31).subarray(0, length) : new Uint8Array(length)) };
    expect(await codeOf(openArchive(huge))).toBe('LIMIT_EXCEEDED');
  });

  it('a future format version and an unknown critical flag are UNSUPPORTED_VERSION; an unknown optional flag is not', async () => {
    const v3 = plain.slice();
    new DataView(v3.buffer).setUint16(8, 3);
    expect((await attempt(v3)).code).toBe('UNSUPPORTED_VERSION');
    const flag = plain.slice();
    new DataView(flag.buffer).setUint16(10, 0x0002);
    expect((await attempt(flag)).code).toBe('UNSUPPORTED_VERSION');
    const optional = plain.slice();
    new DataView(optional.buffer).setUint16(10, 0x0100);
    // The optional bit is ignored by the flag check but is covered by the header digest.
    expect((await attempt(optional)).code).toBe('INTEGRITY');
  });

  it('header fields edited with a recomputed digest are caught by the chunk table or the image hash', async () => {
    for (const edit of [{ pageSize: 1024 }, { pageCount: 4, sizeBytes: 2048 }, { compression: 'zstd' }, { sha256: '0'.repeat(64) }, { chunkSize: 1024 }]) {
      const bytes = await rewriteHeader(plain, edit);
      expect(['INTEGRITY', 'INVALID_BACKUP', 'UNSUPPORTED_VERSION'], JSON.stringify(edit)).toContain((await attempt(bytes)).code);
    }
    // In an encrypted file, any header edit breaks authentication of the table.
    const bytes = await rewriteHeader(encrypted, { name: 'renamed' });
    expect((await attempt(bytes, PASS)).code).toBe('INTEGRITY');
  });
});

function forgedHeaderLength(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice(0, 16);
  new DataView(out.buffer).setUint32(12, length);
  return out;
}

/** Rewrites header JSON fields and recomputes the header digest (a deliberate forgery). */
async function rewriteHeader(bytes: Uint8Array, edit: Record<string, unknown>): Promise<Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const length = view.getUint32(12);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length))) as Record<string, unknown>;
  const json = new TextEncoder().encode(JSON.stringify({ ...header, ...edit }));
  const pre = bytes.slice(0, 16);
  new DataView(pre.buffer).setUint32(12, json.length);
  const headed = new Uint8Array(16 + json.length);
  headed.set(pre);
  headed.set(json, 16);
  const digest = await sha256(headed);
  const rest = bytes.subarray(16 + length + 32);
  const out = new Uint8Array(headed.length + 32 + rest.length);
  out.set(headed);
  out.set(digest, headed.length);
  out.set(rest, headed.length + 32);
  return out;
}
