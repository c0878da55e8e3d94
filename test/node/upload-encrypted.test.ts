/**
 * Through the worker's service: upload reports `encrypted` and, with `requireEncrypted`, refuses a
 * plain file (archive, SQLite file) even when a passphrase is given; inspect of an encrypted v2
 * archive tells its facts only with the passphrase.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImageArchive } from '../../src/format/archive/from-image';
import { sha256Hex } from '../../src/format/sha256';
import type { Service } from '../../worker/service';
import { call, openService, settle } from '../support/vault-harness';
import { concat, makeDatabase, tablesOf } from './format-fixtures';

const PASS = 'upload passphrase';
let service: Service;
let image: Uint8Array;
let plain: Blob;
let sealed: Blob;
let tables: { name: string; rows: number }[];

beforeAll(async () => {
  const db = await makeDatabase(80, 1024);
  image = db.export();
  tables = tablesOf(db);
  db.close();
  const meta = { name: 'up', createdAt: 1_700_000_000_000, method: 'pages', note: 'secret note', tables };
  plain = new Blob([concat(await writeImageArchive(image, meta)) as Uint8Array<ArrayBuffer>]);
  sealed = new Blob([concat(await writeImageArchive(image, meta, { passphrase: PASS })) as Uint8Array<ArrayBuffer>]);
  service = await openService(`upload-encrypted-${Math.random().toString(36).slice(2)}`);
});
afterAll(async () => {
  await call(service.close());
});

describe('upload and inspect of encrypted files', () => {
  it('upload reports encrypted true/false; requireEncrypted refuses a plain archive and a plain SQLite file with NOT_ENCRYPTED', async () => {
    expect(await call(service.backupUpload(sealed, { passphrase: PASS, requireEncrypted: true }))).toMatchObject({ encrypted: true });
    expect(await call(service.backupUpload(plain, { passphrase: PASS }))).toMatchObject({ encrypted: false });
    const before = (await call(service.backupList())).length;
    expect(await settle(call(service.backupUpload(plain, { passphrase: PASS, requireEncrypted: true })))).toMatchObject({ ok: false, code: 'NOT_ENCRYPTED' });
    expect(await settle(call(service.backupUpload(new Blob([image as Uint8Array<ArrayBuffer>]), { requireEncrypted: true })))).toMatchObject({ ok: false, code: 'NOT_ENCRYPTED' });
    expect((await call(service.backupList())).length).toBe(before);
  });

  it('inspect of an encrypted archive: without the passphrase only encrypted and size; with it the tables, note and hash; a wrong one is WRONG_PASSPHRASE', async () => {
    const blind = await call(service.backupInspect(sealed, {}));
    expect(blind).toEqual({ format: 'archive', version: 2, encrypted: true, sizeBytes: sealed.size, pageSize: 0, pageCount: 0 });
    const facts = await call(service.backupInspect(sealed, { passphrase: PASS }));
    expect(facts).toMatchObject({ encrypted: true, note: 'secret note', tables, sha256: await sha256Hex(image) });
    expect(await settle(call(service.backupInspect(sealed, { passphrase: 'nope' })))).toMatchObject({ ok: false, code: 'WRONG_PASSPHRASE' });
  });
});
