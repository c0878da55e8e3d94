import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { compressChunk, decompressChunk } from '../../src/format/codec';
import { crc32 } from '../../src/format/crc32';
import { detectKind } from '../../src/format/detect';
import { createGzipWriter, gunzipFirstMember } from '../../src/format/gzip';
import { Sha256, sha256Hex, toHex } from '../../src/format/sha256';
import { isSqliteMagic, parseSqliteHeader } from '../../src/format/sqlite-header';
import { ARCHIVE_MAGIC } from '../../src/format/archive/layout';
import { archiveOf, codeOf, concat, makeDatabase } from './format-fixtures';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('sha256', () => {
  it('matches the FIPS 180-2 vectors, one-shot and incremental', async () => {
    const vectors: [string, string][] = [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ];
    for (const [input, hex] of vectors) {
      expect(await sha256Hex(utf8(input))).toBe(hex);
      expect(toHex(new Sha256().update(utf8(input)).digest())).toBe(hex);
    }
    const million = new Sha256();
    for (let i = 0; i < 1000; i++) million.update(utf8('a'.repeat(1000)));
    expect(toHex(million.digest())).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('agrees with node:crypto on random data fed in random pieces', () => {
    for (let round = 0; round < 50; round++) {
      const data = randomBytes(Math.floor(Math.random() * 5000));
      const h = new Sha256();
      for (let at = 0; at < data.length; ) {
        const n = Math.floor(Math.random() * 130);
        h.update(data.subarray(at, at + n));
        at += n;
      }
      expect(toHex(h.digest())).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});

describe('chunk codec', () => {
  it('compresses text, keeps random bytes raw, and round-trips both', () => {
    const text = utf8('pagevault '.repeat(1000));
    const packed = compressChunk(text);
    expect(packed.codec).toBe('deflate');
    expect(decompressChunk(packed.codec, packed.data, text.length)).toEqual(text);
    const noise = new Uint8Array(randomBytes(4096));
    expect(compressChunk(noise)).toEqual({ codec: 'raw', data: noise });
    expect(compressChunk(text, 9).data.length).toBeLessThanOrEqual(packed.data.length);
    expect(() => compressChunk(text, 12)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });

  it('a decompression bomb is cut off at the declared size and reported as INTEGRITY', async () => {
    const bomb = deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(100_000);
    const before = process.memoryUsage().arrayBuffers;
    expect(await codeOf(() => decompressChunk('deflate', bomb, 65536))).toBe('INTEGRITY');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('damaged, truncated or short output is INTEGRITY', async () => {
    const text = utf8('abc'.repeat(5000));
    const { data } = compressChunk(text);
    expect(await codeOf(() => decompressChunk('deflate', data.subarray(0, data.length - 3), text.length))).toBe('INTEGRITY');
    expect(await codeOf(() => decompressChunk('deflate', data, text.length + 1))).toBe('INTEGRITY');
    expect(await codeOf(() => decompressChunk('deflate', new Uint8Array([0xff, 0xff, 0xff]), 10))).toBe('INTEGRITY');
    expect(await codeOf(() => decompressChunk('raw', text, 10))).toBe('INTEGRITY');
  });
});

describe('sqlite header', () => {
  it('reads page size, page count, user_version and the library version of a real database', async () => {
    const db = await makeDatabase(100, 2048);
    db.run('PRAGMA user_version = 42');
    const image = db.export();
    const h = parseSqliteHeader(image);
    expect(h).toMatchObject({ pageSize: 2048, pageCount: image.length / 2048, userVersion: 42, textEncoding: 'utf-8', wal: false });
    expect(h.sqliteVersion).toBeGreaterThan(3_040_000);
    expect(isSqliteMagic(image)).toBe(true);
  });

  it('a bad magic or page size is NOT_SQLITE; page size 1 means 65536', async () => {
    const image = (await makeDatabase(1, 1024)).export().slice(0, 100);
    expect(await codeOf(() => parseSqliteHeader(utf8('SQLite format 2\0'.padEnd(100))))).toBe('NOT_SQLITE');
    const odd = image.slice();
    new DataView(odd.buffer).setUint16(16, 1000);
    expect(await codeOf(() => parseSqliteHeader(odd))).toBe('NOT_SQLITE');
    const big = image.slice();
    new DataView(big.buffer).setUint16(16, 1);
    expect(parseSqliteHeader(big).pageSize).toBe(65536);
    expect(await codeOf(() => parseSqliteHeader(image.subarray(0, 50)))).toBe('NOT_SQLITE');
  });
});

describe('detectKind', () => {
  it('recognises archives, SQLite, gzip and SQL dumps (after comments) by their bytes', async () => {
    const image = (await makeDatabase(5, 1024)).export();
    expect(detectKind((await archiveOf(image)).subarray(0, 4096))).toBe('archive');
    expect(detectKind(image.subarray(0, 4096))).toBe('sqlite');
    expect(detectKind(gzipSync(image))).toBe('gzip');
    expect(detectKind(utf8('-- dump\n/* made by sqlite3 */\n  PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;'))).toBe('sql');
    expect(detectKind(utf8('\uFEFFcreate table t(x);'))).toBe('sql');
    expect(ARCHIVE_MAGIC.length).toBe(8);
  });

  it('names PNG, ZIP, JSON, UTF-16 text, an empty file and random bytes as NOT_SQLITE', () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), 'a PNG image'],
      [new Uint8Array([0x50, 0x4b, 0x03, 0x04, 20, 0]), 'a ZIP archive'],
      [utf8('{"tables": []}'), 'JSON'],
      [new Uint8Array([0xff, 0xfe, 0x43, 0, 0x52, 0]), 'UTF-16 text'],
      [new Uint8Array([0x43, 0, 0x52, 0, 0x45, 0]), 'UTF-16 text'],
      [new Uint8Array(0), 'empty file'],
      [utf8('hello world, not sql'), 'text that is not SQL'],
    ];
    for (const [bytes, looksLike] of cases) {
      expect(() => detectKind(bytes)).toThrowError(expect.objectContaining({ code: 'NOT_SQLITE', details: { looksLike } }) as Error);
    }
    for (let i = 0; i < 20; i++) {
      const noise = new Uint8Array(randomBytes(512));
      noise[0] = 0x80 | (noise[0]! & 0x0f); // never a known magic
      expect(() => detectKind(noise)).toThrowError(expect.objectContaining({ code: 'NOT_SQLITE' }) as Error);
    }
  });
});

describe('gzip', () => {
  it('the streaming writer produces a file node:zlib and our reader both accept', async () => {
    const image = (await makeDatabase(300, 1024)).export();
    const gz = createGzipWriter({ level: 6 });
    const parts = [...gz.push(image.subarray(0, 5000)), ...gz.push(image.subarray(5000)), ...gz.finish()];
    const file = concat(parts);
    const { gunzipSync } = await import('node:zlib');
    expect(new Uint8Array(gunzipSync(file))).toEqual(image);
    expect(gunzipFirstMember(file, image.length)).toEqual(image);
    expect(gunzipFirstMember(new Uint8Array(gzipSync(image)), image.length)).toEqual(image);
  });

  it('a forged ISIZE or CRC is INTEGRITY; a second member is INVALID_BACKUP; output over the cap is LIMIT_EXCEEDED', async () => {
    const data = utf8('some database bytes '.repeat(500));
    const file = new Uint8Array(gzipSync(data));
    const forgedSize = file.slice();
    new DataView(forgedSize.buffer).setUint32(forgedSize.length - 4, 5, true);
    expect(await codeOf(() => gunzipFirstMember(forgedSize, 1 << 20))).toBe('INTEGRITY');
    const forgedCrc = file.slice();
    forgedCrc[forgedCrc.length - 8]! ^= 0xff;
    expect(await codeOf(() => gunzipFirstMember(forgedCrc, 1 << 20))).toBe('INTEGRITY');
    expect(await codeOf(() => gunzipFirstMember(concat([file, file]), 1 << 20))).toBe('INVALID_BACKUP');
    expect(await codeOf(() => gunzipFirstMember(concat([file, new Uint8Array(16)]), 1 << 20))).not.toBe('OK');
    expect(await codeOf(() => gunzipFirstMember(file, data.length - 1))).toBe('LIMIT_EXCEEDED');
    expect(await codeOf(() => gunzipFirstMember(file.subarray(0, file.length - 12), 1 << 20))).not.toBe('OK');
    const bomb = new Uint8Array(gzipSync(new Uint8Array(64 * 1024 * 1024)));
    expect(await codeOf(() => gunzipFirstMember(bomb, 1 << 20))).toBe('LIMIT_EXCEEDED');
    expect(crc32(utf8('123456789'))).toBe(0xcbf43926);
  });
});
