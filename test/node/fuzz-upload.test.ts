/**
 * Property tests of upload (detection by bytes, then full validation) through the real worker
 * service: SQLite files, gzip'd SQLite files and archives, damaged at random, are either refused
 * with a documented code, or stored as a backup whose bytes are exactly what the file holds
 * (for a gzip stream or an archive: the original database, which their checksums and hashes
 * guarantee; for a raw SQLite file, which has none: the uploaded bytes, and they pass
 * integrity_check). Never a raw error, INTERNAL, or a hang; nothing left behind by a refusal.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImageArchive } from '../../src/format/archive/from-image';
import { openArchive } from '../../src/format/archive/reader';
import { bytesSource } from '../../src/format/archive/source';
import { createGzipWriter } from '../../src/format/gzip';
import type { Service } from '../../worker/service';
import { installFaults } from '../support/faulty-idb';
import { fuzzRuns, mutateAll, mutationsArb, type FileLayout, type Span } from '../support/mutations';
import { call, openService, orphanChunks, readDisk, settle } from '../support/vault-harness';
import { concat, makeDatabase } from './format-fixtures';

/** What upload may answer to a damaged file (its TSDoc and the README). */
const DOCUMENTED = ['NOT_SQLITE', 'INVALID_BACKUP', 'UNSUPPORTED_VERSION', 'INTEGRITY', 'CHAIN', 'CORRUPT', 'LIMIT_EXCEEDED', 'SQLITE', 'UNSUPPORTED_FEATURE'];

installFaults(); // fake-indexeddb, and faults.kill() to end the service
const name = `fuzz-upload-${Math.random().toString(36).slice(2)}`;
let service: Service;
let image: Uint8Array;
const outcomes = new Map<string, number>();
let cases = 0;

interface Fixture {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly layout: FileLayout;
  /** What an accepted upload must hold: the original image, or (raw SQLite) the uploaded bytes. */
  readonly expected: (uploaded: Uint8Array) => Uint8Array;
  readonly share: number;
}
const fixtures: Fixture[] = [];

/** An upload of a raw file keeps its bytes, except that a WAL-mode header (versions 2/2) is stored as rollback journal (1/1). */
function walToRollback(uploaded: Uint8Array): Uint8Array {
  if (uploaded[18] !== 2 || uploaded[19] !== 2) return uploaded;
  const out = uploaded.slice();
  out[18] = 1;
  out[19] = 1;
  return out;
}

const pages = (total: number, size: number, from = 0): Span[] => Array.from({ length: Math.floor((total - from) / size) }, (_, i) => ({ offset: from + i * size, length: size }));

beforeAll(async () => {
  const db = await makeDatabase(60, 512, 3);
  image = db.export();
  db.close();
  const gzip = createGzipWriter({ level: 6, filename: 'fuzz.sqlite', mtime: 1_700_000_000_000 });
  const gz = concat([...gzip.push(image), ...gzip.finish()]);
  const archive = concat(await writeImageArchive(image, { name: 'fuzz', createdAt: 1, method: 'pages', tables: [] }, { chunkSize: 1024 }));
  const entries = (await openArchive(bytesSource(archive))).entries;
  fixtures.push(
    { label: 'SQLite file', bytes: image, layout: { header: { offset: 0, length: 100 }, records: pages(image.length, 512) }, expected: walToRollback, share: 0.1 },
    { label: 'gzip stream', bytes: gz, layout: { header: { offset: 0, length: 24 }, records: pages(gz.length, 256, 24) }, expected: () => image, share: 0.08 },
    {
      label: 'archive',
      bytes: archive,
      layout: { header: { offset: 0, length: entries[0]!.offset }, records: entries.map((e) => ({ offset: e.offset, length: e.storedLength })) },
      expected: () => image,
      share: 0.08,
    },
  );
  service = await openService(name);
});

afterAll(() => {
  console.log(`fuzz (upload): ${cases} cases; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
});

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('damaged uploads, at random', () => {
  for (const label of ['SQLite file', 'gzip stream', 'archive']) {
    it(`a ${label} with random damage is refused with a documented code or stored exactly`, async () => {
      const fixture = fixtures.find((f) => f.label === label)!;
      expect(same(fixture.expected(fixture.bytes), image)).toBe(true);
      await fc.assert(
        fc.asyncProperty(mutationsArb, async (mutations) => {
          const damaged = mutateAll(fixture.bytes, mutations, fixture.layout);
          const uploaded = await settle(call(service.backupUpload(new Blob([damaged as BlobPart]), { sqlTimeoutMs: 2_000 })));
          cases++;
          const code = uploaded.ok ? 'OK' : uploaded.code;
          const key = `${label}: ${code}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          if (!uploaded.ok) {
            expect(DOCUMENTED, uploaded.message).toContain(uploaded.code);
            return;
          }
          const [backup] = await call(service.backupList());
          const { blob } = await call(service.backupDownload(backup!.backupId, { format: 'sqlite' }));
          expect(same(new Uint8Array(await blob.arrayBuffer()), fixture.expected(damaged)), 'stored bytes differ from the file').toBe(true);
          await call(service.backupDrop(backup!.backupId));
        }),
        { numRuns: fuzzRuns(fixture.share) },
      );
      // Refusals and drops left nothing: no staging, no chunk without an owner.
      const disk = await readDisk(name);
      expect(disk.staging).toEqual([]);
      expect(orphanChunks(disk)).toEqual([]);
    });
  }
});
