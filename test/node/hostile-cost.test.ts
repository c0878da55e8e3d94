/**
 * What refusing 1 MB of hostile input costs: a `.sqlite.gz` bomb (a real SQLite header, then
 * ~1 GiB of zeros), a chunk that inflates past its declared size, 1 MB of SQL a dump does not
 * hold, a 1 MB filter. Each must be refused with its code; the CPU time is logged (the issue's
 * bound is 100 ms) and checked only against a generous sanity bound, not a tight timing.
 */
import { createGzip } from 'node:zlib';
import { deflateSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompressUntrustedChunk } from '../../src/format/codec';
import type { Service } from '../../worker/service';
import { installFaults } from '../support/faulty-idb';
import { call, openService, settle } from '../support/vault-harness';
import { makeDatabase } from './format-fixtures';

const SANITY_MS = 2_000;

async function gzipped(head: Uint8Array, zeroMiB: number): Promise<Uint8Array> {
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise((resolve) => gzip.on('end', resolve));
  gzip.write(head);
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < zeroMiB; i++) gzip.write(zeros);
  gzip.end();
  await ended;
  return new Uint8Array(Buffer.concat(parts));
}

/** CPU ms (user + system) spent by `body`. */
async function cpuMs(body: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await body();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

installFaults();
let service: Service;
const costs: Record<string, number> = {};

beforeAll(async () => {
  service = await openService(`hostile-cost-${Math.random().toString(36).slice(2)}`);
  await call(service.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)'));
});
afterAll(async () => {
  await call(service.close());
  console.log(`refusal CPU ms per 1 MB of hostile input: ${JSON.stringify(costs)}`);
});

describe('refusing 1 MB of hostile input', () => {
  it('a .sqlite.gz bomb stops once it passes the size its SQLite header declares (LIMIT_EXCEEDED)', async () => {
    const db = await makeDatabase(10, 4096, 1);
    const image = db.export();
    db.close();
    const bomb = await gzipped(image, 1024);
    expect(bomb.length).toBeGreaterThan(900_000);
    let code = '';
    costs['sqlite.gz bomb'] = await cpuMs(async () => {
      const outcome = await settle(call(service.backupUpload(new Blob([bomb as BlobPart]), {})));
      code = outcome.ok ? 'OK' : outcome.code;
    });
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(costs['sqlite.gz bomb']).toBeLessThan(SANITY_MS);
  }, 60_000);

  it('an archive chunk that inflates past its declared size stops early (INTEGRITY)', async () => {
    const record = deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    // An ordinary archive chunk first, as an upload would decode before its bomb (warms the JIT).
    const ordinary = new TextEncoder().encode(Array.from({ length: 4000 }, (_, i) => `${i} ${Math.sin(i)}`).join(',')).slice(0, 65_536);
    expect(decompressUntrustedChunk('deflate', deflateSync(ordinary, { level: 1 }), ordinary.length)).toEqual(ordinary);
    let code = '';
    costs['64 KiB record inflating to 64 MiB'] = await cpuMs(async () => {
      try {
        decompressUntrustedChunk('deflate', record, 65_536);
      } catch (error) {
        code = (error as { code: string }).code;
      }
    });
    expect(code).toBe('INTEGRITY');
    const huge = new Uint8Array(1 << 20);
    costs['1 MiB record declaring 64 KiB'] = await cpuMs(async () => {
      expect(() => decompressUntrustedChunk('deflate', huge, 65_536)).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    });
  });

  it('1 MB of SQL a dump does not hold is refused at its first statement (NOT_SQLITE)', async () => {
    const text = "/* c */ ATTACH 'x' AS y;\n".repeat(Math.ceil((1 << 20) / 25));
    let code = '';
    costs['1 MB of ATTACH'] = await cpuMs(async () => {
      const outcome = await settle(call(service.backupUpload(new Blob([text]), {})));
      code = outcome.ok ? 'OK' : outcome.code;
    });
    expect(code).toBe('NOT_SQLITE');
    expect(costs['1 MB of ATTACH']).toBeLessThan(SANITY_MS);
  });

  it('a 1 MB filter is refused before SQLite sees it (INVALID_ARGUMENT)', async () => {
    const filter = `${"kind = 'a' OR ".repeat(Math.ceil((1 << 20) / 14))}1`;
    let code = '';
    costs['1 MB filter'] = await cpuMs(async () => {
      const outcome = await settle(call(service.backupCreate({ tables: { events: filter } })));
      code = outcome.ok ? 'OK' : outcome.code;
    });
    expect(code).toBe('INVALID_ARGUMENT');
    expect(costs['1 MB filter']).toBeLessThan(SANITY_MS);
  });
});
