/**
 * Property tests of the archive reader: valid archives (plain, encrypted, incremental, all format
 * v2, and the golden encrypted v1 file) damaged at
 * random (bit flips, truncations, splices, records swapped, duplicated or dropped, header fields
 * overwritten, bytes appended) are either rejected with a documented code or read back to the
 * identical image; never a raw error, INTERNAL, a hang, or an allocation beyond the limits.
 * (format-faults.test.ts sweeps every single truncation and bit flip; this adds the other kinds.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPagevaultError } from '../../src/errors';
import type { ArchiveKeyCache } from '../../src/format/archive/crypto';
import { openArchive, readArchiveImage, type BaseResolver } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { chunkImage, writeImageArchive } from '../../src/format/archive/from-image';
import { fuzzRuns, mutateAll, mutationsArb, type FileLayout } from '../support/mutations';
import { concat, makeDatabase } from './format-fixtures';

/** What the reader may answer to a damaged file (README "Errors"). */
const DOCUMENTED = ['INVALID_BACKUP', 'UNSUPPORTED_VERSION', 'INTEGRITY', 'WRONG_PASSPHRASE', 'PASSPHRASE_REQUIRED', 'CHAIN', 'NOT_SQLITE', 'LIMIT_EXCEEDED'];
const GOLDEN = join(__dirname, '..', 'golden');
/** No case may hold more than this many bytes of ArrayBuffers beyond the start (the images are ~40 KB). */
const ALLOCATION_BOUND = 64 * 1024 * 1024;
const PASS = 'fuzz passphrase';
const keyCache: ArchiveKeyCache = new Map();

interface Fixture {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly image: Uint8Array;
  readonly layout: FileLayout;
  readonly passphrase?: string;
  readonly resolve?: BaseResolver;
  readonly share: number;
}

const fixtures: Fixture[] = [];
const outcomes = new Map<string, number>();
let cases = 0;
let baselineBuffers = 0;

async function layoutOf(bytes: Uint8Array, passphrase?: string): Promise<FileLayout> {
  const archive = await openArchive(bytesSource(bytes), passphrase === undefined ? {} : { passphrase, keyCache });
  const records = archive.entries.map((e) => ({ offset: e.offset, length: e.storedLength }));
  return { header: { offset: 0, length: records[0]?.offset ?? bytes.length }, records };
}

beforeAll(async () => {
  const db = await makeDatabase(120, 512, 7);
  const image = db.export();
  db.run("UPDATE t SET body = body || ' changed' WHERE id % 17 = 0");
  const next = db.export();
  db.close();
  const meta = { name: 'fuzz', createdAt: 1_700_000_000_000, method: 'pages', tables: [{ name: 't', rows: 120 }] };
  const plain = concat(await writeImageArchive(image, meta, { chunkSize: 4096 }));
  const encrypted = concat(await writeImageArchive(image, meta, { chunkSize: 4096, passphrase: PASS }));
  // An incremental archive of `next` against `image`: page patches and references to the base.
  const base = await chunkImage(image, 4096);
  const baseChunks = new Map(base.keys.map((key, i) => [key, base.chunks[i]!] as const));
  const incremental = concat(await writeImageArchive(next, meta, { chunkSize: 4096, base: image }));
  const resolve: BaseResolver = async (key) => baseChunks.get(key);
  const v1 = new Uint8Array(readFileSync(join(GOLDEN, 'encrypted.pvault')));
  const v1Pass = readFileSync(join(GOLDEN, 'encrypted.passphrase.txt'), 'utf8').replace(/\r?\n$/, '');
  const v1Image = await readArchiveImage(await openArchive(bytesSource(v1), { passphrase: v1Pass, keyCache }));
  fixtures.push(
    { label: 'plain', bytes: plain, image, layout: await layoutOf(plain), share: 0.4 },
    { label: 'encrypted', bytes: encrypted, image, layout: await layoutOf(encrypted, PASS), passphrase: PASS, share: 0.15 },
    { label: 'incremental', bytes: incremental, image: next, layout: await layoutOf(incremental), resolve, share: 0.15 },
    { label: 'v1 encrypted', bytes: v1, image: v1Image, layout: await layoutOf(v1, v1Pass), passphrase: v1Pass, share: 0.05 },
  );
  baselineBuffers = process.memoryUsage().arrayBuffers;
});

afterAll(() => {
  console.log(`fuzz (archive reader): ${cases} cases; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
});

/** Reads a (damaged) archive: 'OK' with the image, or the documented code. Anything else fails. */
async function read(fixture: Fixture, bytes: Uint8Array): Promise<{ code: string; image?: Uint8Array }> {
  try {
    const archive = await openArchive(bytesSource(bytes), fixture.passphrase === undefined ? {} : { passphrase: fixture.passphrase, keyCache });
    return { code: 'OK', image: await readArchiveImage(archive, fixture.resolve) };
  } catch (error) {
    if (!isPagevaultError(error)) throw new Error(`a raw error escaped: ${String(error)}`);
    return { code: error.code };
  }
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('damaged archives, at random', () => {
  it('the fixtures read back intact', async () => {
    for (const f of fixtures) expect(same((await read(f, f.bytes)).image!, f.image), f.label).toBe(true);
  });

  for (const label of ['plain', 'encrypted', 'incremental', 'v1 encrypted']) {
    it(`a ${label} archive with random damage is rejected with a documented code or reads back identical`, async () => {
      const fixture = fixtures.find((f) => f.label === label)!;
      await fc.assert(
        fc.asyncProperty(mutationsArb, async (mutations) => {
          const damaged = mutateAll(fixture.bytes, mutations, fixture.layout);
          const { code, image } = await read(fixture, damaged);
          cases++;
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
          if (code === 'OK') expect(same(image!, fixture.image), 'accepted with different content').toBe(true);
          else expect(DOCUMENTED).toContain(code);
          expect(process.memoryUsage().arrayBuffers - baselineBuffers).toBeLessThan(ALLOCATION_BOUND);
        }),
        { numRuns: fuzzRuns(fixture.share) },
      );
    });
  }
});
