import { describe, expect, it } from 'vitest';
import { requestPersistence, type Vault } from '../../src/index';
import { count, fillRows, open, rawStore, rejectsWith, sleep, uniqueName } from './helpers';

/** Table `events` with `rows` rows, one a day from 2025-12-01, and a table `people`. */
async function eventsAndPeople(vault: Vault, rows: number): Promise<void> {
  await vault.exec(`
    CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY, person INTEGER REFERENCES people (id), created_at TEXT NOT NULL, body TEXT);
    CREATE INDEX events_created ON events (created_at);
    CREATE TRIGGER events_body AFTER UPDATE OF body ON events BEGIN UPDATE events SET created_at = created_at WHERE id = new.id; END;
    INSERT INTO people (name) VALUES ('ada'), ('grace');`);
  await vault.exec(
    `WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ? - 1)
     INSERT INTO events (person, created_at, body) SELECT 1 + x % 2, date('2025-12-01', '+' || x || ' days'), 'event ' || x FROM c`,
    [rows],
  );
}

/** Polls until `check` holds (the schedule runs in the worker, on its own time). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await read();
    if (check(value)) return value;
    await sleep(20);
  }
  throw new Error('condition not reached');
}

describe('verification', () => {
  it('passes for a good backup and fails with a clear reason once a stored chunk is damaged', async () => {
    const name = uniqueName('verify');
    const vault = await open(name);
    await fillRows(vault, 3_000);
    await vault.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p REFERENCES parent (id)); INSERT INTO child VALUES (42);');
    const { backupId } = await vault.backup.create({ method: 'vacuum' });
    await vault.backup.wait(backupId);

    const good = await vault.backup.verify(backupId);
    expect(good).toMatchObject({ ok: true, integrity: 'ok', foreignKeys: 1, sha256Match: true });
    expect(good.tables).toEqual([{ name: 'child', rows: 1 }, { name: 'item', rows: 3_000 }, { name: 'parent', rows: 0 }]);
    expect(good.reason).toBeUndefined();
    expect((await vault.backup.list())[0]!.verifiedAt).toBeGreaterThan(0);

    // Damage one chunk of the backup in IndexedDB, as a failing disk would.
    const db = await rawStore(name);
    const record = await db.get('backups', backupId);
    const key: string = record.manifest.chunks[1];
    const chunk = await db.get('chunks', key);
    const data = new Uint8Array(chunk.data);
    data[data.length >> 1]! ^= 0x10;
    // Written and committed (WebKit under load answered the put before its transaction ended).
    const tx = db.transaction('chunks', 'readwrite', { durability: 'strict' });
    await tx.store.put({ ...chunk, data }, key);
    await tx.done;
    db.close();
    const check = await rawStore(name);
    expect(new Uint8Array((await check.get('chunks', key)).data)).toEqual(data);
    check.close();

    const bad = await vault.backup.verify(backupId);
    expect(bad.ok).toBe(false);
    expect(bad.sha256Match).toBe(false);
    expect(bad.reason).toContain('Chunk 1');
    const listed = (await vault.backup.list()).find((b) => b.backupId === backupId)!;
    expect(listed.verifiedAt).toBeUndefined();
    expect(listed.verifyFailed).toBe(bad.reason);
    const verifyJobs = (await vault.backup.history()).filter((j) => j.kind === 'verify');
    expect(verifyJobs.map((j) => [j.state, j.error?.code])).toEqual([['failed', 'CORRUPT'], ['succeeded', undefined]]);
    await rejectsWith(vault.backup.verify('nope'), 'NOT_FOUND');
    await vault.close();
  });

  it('create({ verify: true }) lists the backup only once verified', async () => {
    const vault = await open(uniqueName('verify-create'));
    await fillRows(vault, 1_000);
    const { backupId } = await vault.backup.create({ verify: true });
    const info = await vault.backup.wait(backupId);
    expect(info.verifiedAt).toBeGreaterThanOrEqual(info.createdAt);
    await rejectsWith(vault.backup.create({ verify: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT');
    await vault.close();
  });
});

describe('partial backups and table restore', () => {
  it('backs up only the filtered rows of a table, as a database of its own', async () => {
    const vault = await open(uniqueName('partial'));
    await eventsAndPeople(vault, 120);
    const expected = (await vault.query<{ n: number }>("SELECT count(*) AS n FROM events WHERE created_at >= '2026-01-01'"))[0]!.n;
    expect(expected).toBe(89);
    const { backupId } = await vault.backup.create({ tables: { events: "created_at >= '2026-01-01'" }, note: 'this year' });
    const info = await vault.backup.wait(backupId);
    expect(info).toMatchObject({ partial: true, note: 'this year', tables: [{ name: 'events', rows: 89 }] });
    expect((await vault.backup.list())[0]!.partial).toBe(true);
    expect((await vault.backup.verify(backupId)).ok).toBe(true);

    const copyName = uniqueName('partial-copy');
    await vault.backup.restore({ backupId, into: copyName });
    const copy = await open(copyName);
    expect(await count(copy, 'events')).toBe(89);
    expect(await copy.query("SELECT min(created_at) AS first FROM events")).toEqual([{ first: '2026-01-01' }]);
    expect(await copy.query("SELECT name FROM sqlite_schema WHERE type != 'table' ORDER BY name")).toEqual([{ name: 'events_body' }, { name: 'events_created' }]);
    await copy.close();

    await rejectsWith(vault.backup.create({ tables: ['events', 'missing'] }), 'INVALID_ARGUMENT');
    await rejectsWith(vault.backup.create({ tables: { events: '1; DELETE FROM people' } }), 'INVALID_ARGUMENT');
    await rejectsWith(vault.backup.create({ tables: { events: 'no_such_column > 1' } }), 'INVALID_ARGUMENT');
    await rejectsWith(vault.backup.create({ tables: [] }), 'INVALID_ARGUMENT');
    expect(await count(vault, 'people')).toBe(2);
    await vault.close();
  });

  it('restores one table in place, keeps the rest, and keeps the whole previous database as a backup', async () => {
    const name = uniqueName('table-restore');
    const vault = await open(name);
    await eventsAndPeople(vault, 50);
    const { backupId } = await vault.backup.create();
    await vault.backup.wait(backupId);
    await vault.exec("DELETE FROM events WHERE id > 10; INSERT INTO people (name) VALUES ('linus');");

    const { previousBackupId } = await vault.backup.restore({ backupId, tables: ['events'] });
    expect(await count(vault, 'events')).toBe(50);
    expect(await count(vault, 'people')).toBe(3); // untouched
    expect(await vault.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    const previous = (await vault.backup.list()).find((b) => b.backupId === previousBackupId)!;
    expect(previous).toMatchObject({ auto: 'before-restore', tables: [{ name: 'events', rows: 10 }, { name: 'people', rows: 3 }] });
    await rejectsWith(vault.backup.restore({ backupId, tables: ['nope'] }), 'INVALID_ARGUMENT');
    await rejectsWith(vault.backup.restore({ backupId, tables: ['events'], into: uniqueName('x') }), 'INVALID_ARGUMENT');
    await vault.close();

    // Saved: a fresh worker sees the restored table.
    const again = await open(name);
    expect(await count(again, 'events')).toBe(50);
    expect(await count(again, 'people')).toBe(3);
    await again.close();
  });
});

describe('retention', () => {
  it('keeps exactly the expected backups of 30 with made-up dates; the dry run reports the same', async () => {
    const name = uniqueName('retention');
    let vault = await open(name);
    await fillRows(vault, 500);
    const { backupId } = await vault.backup.create();
    await vault.backup.wait(backupId);
    await vault.close();

    // One real backup, cloned 30 times with one a day at noon UTC, 2026-01-01 .. 2026-01-30.
    const ids = Array.from({ length: 30 }, (_, i) => `bk-2026-01-${String(i + 1).padStart(2, '0')}`);
    const db = await rawStore(name);
    const real = await db.get('backups', backupId);
    await db.delete('backups', backupId);
    for (const [i, id] of ids.entries()) {
      await db.put('backups', { ...real, info: { ...real.info, backupId: id, createdAt: Date.UTC(2026, 0, i + 1, 12) } }, id);
    }
    db.close();

    vault = await open(name);
    expect((await vault.backup.verify('bk-2026-01-03')).ok).toBe(true); // the newest verified full backup is kept whatever the policy
    await vault.retention.set({ keepLast: 2, keepWeekly: 2 });
    expect(await vault.retention.get()).toEqual({ keepLast: 2, keepWeekly: 2 });
    expect(await vault.backup.getRetention()).toEqual({ keepLast: 2, keepWeekly: 2 }); // the older name, kept as an alias
    await rejectsWith(vault.retention.set({ keepDays: 3 } as never), 'INVALID_ARGUMENT');

    const dry = await vault.retention.apply({ dryRun: true });
    // Last 2: 01-30, 01-29. ISO weeks: 2026-W05 (01-26..02-01) -> 01-30, 2026-W04 (01-19..01-25) -> 01-25.
    const keep = ['bk-2026-01-30', 'bk-2026-01-29', 'bk-2026-01-25', 'bk-2026-01-03'];
    expect(dry.kept.map((d) => d.backupId)).toEqual(keep);
    expect(dry.removed).toHaveLength(26);
    expect((await vault.backup.list()).length).toBe(30); // a dry run deletes nothing

    const applied = await vault.retention.apply();
    expect(applied).toEqual(dry);
    expect((await vault.backup.list()).map((b) => b.backupId)).toEqual(keep);
    expect((await vault.backup.history()).find((j) => j.kind === 'retention')?.state).toBe('succeeded');
    await vault.close();
    // Kept backups still restore (their chunks were not collected).
    vault = await open(name);
    expect((await vault.backup.verify('bk-2026-01-25')).ok).toBe(true);
    await vault.close();
  });
});

describe('schedules', () => {
  it('runs a daily schedule whose time passed while the vault was closed exactly once on open, then applies retention', async () => {
    const name = uniqueName('schedule');
    let vault = await open(name);
    await fillRows(vault, 200);
    const manual = await vault.backup.create();
    await vault.backup.wait(manual.backupId);
    await vault.retention.set({ keepLast: 1 });
    // A local time an hour ago: today's slot has passed, the next one is ~23 hours away.
    const anHourAgo = new Date(Date.now() - 3_600_000);
    const dailyAt = `${String(anHourAgo.getHours()).padStart(2, '0')}:${String(anHourAgo.getMinutes()).padStart(2, '0')}`;
    const set = await vault.schedule.set({ id: 'nightly', dailyAt }, { note: 'nightly', verify: true });
    expect(set).toMatchObject({ id: 'nightly', dailyAt, method: 'pages', note: 'nightly', verify: true });
    expect(set.nextRunAt).toBeGreaterThan(Date.now());
    await rejectsWith(vault.schedule.set({ id: 'fast', every: '30s' }), 'INVALID_ARGUMENT');
    await rejectsWith(vault.schedule.set({ id: 'bad', dailyAt: '25:00' }), 'INVALID_ARGUMENT');
    await rejectsWith(vault.schedule.remove('nope'), 'NOT_FOUND');
    await vault.close();

    // While "closed" for three days: the last run was three days ago, so three slots were missed.
    const db = await rawStore(name);
    const schedules = await db.get('meta', 'schedules');
    await db.put('meta', [{ ...schedules[0], createdAt: Date.now() - 10 * 86_400_000, lastRunAt: Date.now() - 3 * 86_400_000 }], 'schedules');
    db.close();

    const openedAt = Date.now();
    vault = await open(name);
    const [after] = await eventually(() => vault.schedule.list(), (list) => (list[0]?.lastRunAt ?? 0) >= openedAt);
    expect(after!.nextRunAt).toBeGreaterThan(Date.now() + 22 * 3_600_000);
    const runs = (await vault.backup.history()).filter((j) => j.scheduleId === 'nightly');
    expect(runs.map((j) => [j.kind, j.state])).toEqual([['backup', 'succeeded']]);
    // Retention ran after it: keepLast 1 leaves the scheduled (verified) backup only.
    const listed = await vault.backup.list();
    expect(listed.map((b) => [b.backupId, b.scheduleId, b.note])).toEqual([[runs[0]!.backupId, 'nightly', 'nightly']]);
    expect(listed[0]!.verifiedAt).toBeGreaterThan(0);
    await vault.close();

    // Reopening does not run it again.
    vault = await open(name);
    const list = await vault.schedule.list();
    expect(list[0]!.lastRunAt).toBe(after!.lastRunAt);
    expect((await vault.backup.history()).filter((j) => j.scheduleId === 'nightly')).toHaveLength(1);
    await vault.schedule.remove('nightly');
    expect(await vault.schedule.list()).toEqual([]);
    await vault.close();
  });
});

describe('persistence', () => {
  it('requestPersistence() reports the answer, never throws', async () => {
    const result = await requestPersistence();
    expect(typeof result.persisted).toBe('boolean');
  });
});
