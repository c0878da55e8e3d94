/**
 * Files the sandbox must refuse at upload because the app could not use what they would restore
 * (issue #13): a schema calling a function this SQLite lacks, and a SQL dump cut off mid-way.
 * Databases are written by Debian's sqlite3 shell, as a user's other programs would.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors';
import { installFaults } from '../support/faulty-idb';
import { call, openService, settle } from '../support/vault-harness';

installFaults();
const folder = mkdtempSync(join(tmpdir(), 'pv-usable-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A database file the sqlite3 shell writes from `script`. */
function shellDatabase(name: string, script: string): Uint8Array<ArrayBuffer> {
  const path = join(folder, `${name}.db`);
  execFileSync('sqlite3', [path, script]);
  return new Uint8Array(readFileSync(path)) as Uint8Array<ArrayBuffer>;
}

describe('uploads the app could not use are refused with their own code', () => {
  const cases = [
    ['a generated column calling REGEXP', "CREATE TABLE t (x TEXT, y AS (x REGEXP 'a') STORED); INSERT INTO t (x) VALUES ('b');"],
    ['a trigger calling REGEXP', "CREATE TABLE t (x TEXT); CREATE TABLE log (n); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.x REGEXP 'a'); END; INSERT INTO log VALUES (1);"],
    ['a CHECK calling REGEXP', "CREATE TABLE t (x TEXT CHECK (x REGEXP '^[a-z]*$')); INSERT INTO t VALUES ('b');"],
  ] as const;
  for (const [label, script] of cases) {
    it(`${label}: UNSUPPORTED_FEATURE naming the function, nothing stored`, async () => {
      const service = await openService(`usable-${label.replace(/\W+/g, '-')}`);
      try {
        const image = shellDatabase(label.replace(/\W+/g, '-'), script);
        const refused = await settle(call(service.backupUpload(new Blob([image]), {})));
        expect(refused).toMatchObject({ ok: false, code: ErrorCode.UNSUPPORTED_FEATURE, details: { feature: 'REGEXP' } });
        expect(await call(service.backupList())).toEqual([]);
      } finally {
        await call(service.close());
      }
    });
  }

  it('a .dump cut off before its COMMIT is refused, never restored as an empty database', async () => {
    const service = await openService('usable-cut-dump');
    try {
      const dump = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE t (x);\nINSERT INTO t VALUES (1);\n";
      const refused = await settle(call(service.backupUpload(new Blob([dump]), {})));
      expect(refused).toMatchObject({ ok: false, code: ErrorCode.INVALID_BACKUP });
      const whole = await settle(call(service.backupUpload(new Blob([`${dump}COMMIT;\n`]), {})));
      expect(whole.ok).toBe(true);
    } finally {
      await call(service.close());
    }
  });
});
