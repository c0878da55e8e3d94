import 'fake-indexeddb/auto';
/**
 * A TEMP table of the same name shadows a saved table in unqualified SQL (`SELECT count(*) FROM
 * "item"` resolves temp first). Backups read from the live connection (a head backup's counts, the
 * automatic backup a restore keeps, a partial backup's rows) must read the main database: found by
 * review, where a head backup recorded the temp table's count and failed its own verification.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addRows, call, servicesOf, settle } from '../support/vault-harness';

const { start } = servicesOf('temp-shadow', afterEach);

describe('head backup table counts vs a TEMP table of the same name', () => {
  it('records the counts of the saved image (100 rows), and verifies', async () => {
    const { service } = await start('shadow');
    await addRows(service, 100, 1);
    await call(service.exec('CREATE TEMP TABLE item (x)'));
    await call(service.exec('INSERT INTO temp.item VALUES (1)'));
    await call(service.flush());
    const { backupId } = await call(service.backupCreate({ method: 'pages' }));
    const info = await call(service.backupWait(backupId));
    const verified = await call(service.backupVerify(backupId));
    expect({ source: info.source, tables: info.tables, verified: verified.ok }).toEqual({ source: 'head', tables: [{ name: 'item', rows: 100 }], verified: true });
  });

  it('a head backup asked with verify: true succeeds', async () => {
    const { service } = await start('shadow-verify');
    await addRows(service, 100, 1);
    await call(service.flush());
    await call(service.query('CREATE TEMP TABLE item (x)'));
    const { backupId } = await call(service.backupCreate({ method: 'pages', verify: true }));
    const outcome = await settle(call(service.backupWait(backupId)));
    expect(outcome).toMatchObject({ ok: true });
  });

  it('control: the page copy of the same state records 100 rows (so the head path is the regression)', async () => {
    const { service } = await start('shadow-control');
    await addRows(service, 100, 1);
    await call(service.exec('CREATE TEMP TABLE item (x)'));
    await call(service.exec('INSERT INTO temp.item VALUES (1)'));
    await call(service.exec("INSERT INTO main.item (body, seed) VALUES ('x', 2)")); // unsaved: forces the page copy
    const { backupId } = await call(service.backupCreate({ method: 'pages' }));
    const info = await call(service.backupWait(backupId));
    expect({ source: info.source, tables: info.tables }).toEqual({ source: 'page-copy', tables: [{ name: 'item', rows: 101 }] });
  });

  it('the automatic backup a restore keeps records the image counts too (same helper, older path)', async () => {
    const { service } = await start('shadow-restore');
    await addRows(service, 100, 1);
    await call(service.flush());
    const first = await call(service.backupWait((await call(service.backupCreate({ method: 'pages' }))).backupId));
    await addRows(service, 5, 2);
    await call(service.flush());
    await call(service.query('CREATE TEMP TABLE item (x)'));
    const { previousBackupId } = await call(service.backupRestore({ backupId: first.backupId }));
    const auto = (await call(service.backupList())).find((b) => b.backupId === previousBackupId)!;
    const verified = await call(service.backupVerify(previousBackupId!));
    expect({ tables: auto.tables, verified: verified.ok }).toEqual({ tables: [{ name: 'item', rows: 105 }], verified: true });
  });

  it('a partial backup copies the saved table, not a TEMP table of the same name', async () => {
    const { service } = await start('shadow-partial');
    await addRows(service, 100, 1);
    await call(service.query('CREATE TEMP TABLE item (body, seed)'));
    await call(service.query("INSERT INTO temp.item VALUES ('temp', 9)"));
    const { backupId } = await call(service.backupCreate({ tables: ['item'] }));
    const info = await call(service.backupWait(backupId));
    const verified = await call(service.backupVerify(backupId));
    expect({ tables: info.tables, verified: verified.ok }).toEqual({ tables: [{ name: 'item', rows: 100 }], verified: true });
  });
});
