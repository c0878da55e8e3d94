// The http remote kind (no listing: the index object), continuous replication, scheduled pushes,
// and a vault whose storage was cleared restoring from its remote in one call.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteOptions, S3RemoteOptions } from '../../src/protocol';
import { RemoteRepository } from '../../src/remote/repository';
import { s3Store } from '../../src/remote/s3';
import type { Clock } from '../../worker/jobs/clock';
import { createService, type Service } from '../../worker/service';
import { VaultStore } from '../../worker/store/vault-store';
import { startHttpObjectServer, type HttpObjectServer } from '../support/http-object-server';
import { startS3Server, type S3Server } from '../support/s3-server';
import { FAST_RETRY, s3RemoteAt, until } from '../support/s3-suite';
import { addRows, call, liveSummary, openService, settle } from '../support/vault-harness';

let s3: S3Server;
let http: HttpObjectServer;
const open: Service[] = [];
beforeAll(async () => {
  s3 = await startS3Server();
  http = await startHttpObjectServer('t0ken');
});
afterAll(async () => {
  for (const service of open) await call(service.close({ force: true })).catch(() => undefined);
  await s3.close();
  await http.close();
});

// Short backoff; a timeout long enough for a loaded machine.
const FAST = FAST_RETRY;
const s3At = (prefix: string, over: Partial<RemoteOptions> = {}): RemoteOptions => s3RemoteAt(s3, prefix, over);

async function vaultWith(name: string, rows: number, service?: Service): Promise<Service> {
  const s = service ?? (await openService(name));
  open.push(s);
  if (rows > 0) await addRows(s, rows, 1);
  return s;
}

async function backup(service: Service): Promise<string> {
  const { backupId } = await call(service.backupCreate({}));
  await call(service.backupWait(backupId));
  return backupId;
}

describe('http remote (no listing)', () => {
  it('pushes, lists through the index, drops, and restores; a missing token is REMOTE_DENIED', async () => {
    const a = await vaultWith('rr-http', 2000);
    expect(await settle(call(a.remoteAdd('web', { kind: 'http', url: http.url, retry: FAST })))).toMatchObject({ ok: false, code: 'REMOTE_DENIED' });
    await call(a.remoteAdd('web', { kind: 'http', url: http.url, headers: { authorization: 'Bearer t0ken' }, retry: FAST }));
    const first = await backup(a);
    await call(a.remotePush('web', {}));
    await addRows(a, 100, 2);
    const second = await backup(a);
    const warm = await call(a.remotePush('web', {}));
    expect(warm.objectsSkipped).toBeGreaterThan(0);
    expect([...http.objects.keys()].some((k) => k.endsWith('/index'))).toBe(true);
    expect((await call(a.remoteList('web'))).map((b) => b.backupId)).toEqual([second, first]);
    await call(a.remoteDrop('web', first));
    expect((await call(a.remoteList('web'))).map((b) => b.backupId)).toEqual([second]);
    const b = await vaultWith('rr-http-b', 0);
    await call(b.remoteAdd('web', { kind: 'http', url: http.url, retry: FAST, getHeaders: () => ({ authorization: 'Bearer t0ken' }) }));
    await call(b.remoteRestoreLatest('web', {}));
    expect(await liveSummary(b)).toBe(await liveSummary(a));
  });
});

describe('continuous replication', () => {
  it('pushes the head shortly after a save; a new device restores it without any backup', async () => {
    const a = await vaultWith('rr-cont', 1500);
    await call(a.remoteAdd('live', s3At('cont/', { continuousMs: 100 })));
    await call(a.flush());
    await until(async () => (await s3.listKeys('cont/heads/')).length === 1, 10_000);
    await addRows(a, 10, 7);
    await call(a.flush());
    const savedAt = (await call(a.info())).savedAt;
    const repo = await RemoteRepository.open(s3Store(s3At('cont/') as S3RemoteOptions));
    await until(async () => (await repo.readHead('rr-cont'))?.manifest.createdAt === savedAt, 10_000);
    const b = await vaultWith('rr-cont-b', 0);
    await call(b.remoteAdd('live', s3At('cont/')));
    await call(b.remoteRestoreLatest('live', {}));
    expect(await liveSummary(b)).toBe(await liveSummary(a));
    expect(await call(a.backupList())).toEqual([]);
  });
});

describe('scheduled pushes', () => {
  it('a schedule with pushTo pushes each scheduled backup', async () => {
    let now = Date.now();
    const clock: Clock = {
      now: () => now,
      setTimer: (callback, delayMs) => setTimeout(() => {
        now += delayMs; // time jumps to the timer's deadline at once
        callback();
      }, 20),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const service = createService({ clock });
    await call(service.open({ name: 'rr-sched', autosaveMs: 3_600_000 }));
    await vaultWith('rr-sched', 500, service);
    await call(service.remoteAdd('offsite', s3At('sched/')));
    await call(service.scheduleSet({ id: 'hourly', every: '1h' }, { pushTo: 'offsite' }));
    await until(async () => (await call(service.backupHistory())).some((j) => j.kind === 'push' && j.state === 'succeeded'), 10_000);
    const pushed = await call(service.remoteList('offsite'));
    expect(pushed.length).toBeGreaterThan(0);
    expect((await call(service.backupList())).map((b) => b.backupId)).toContain(pushed.at(-1)!.backupId);
    await call(service.scheduleRemove('hourly'));
  });
});

describe('a vault whose storage was cleared', () => {
  it('STORAGE_LOST at open; opened with acceptLoss, one call restores it from the remote', async () => {
    const a = await vaultWith('rr-lost', 1200);
    await call(a.remoteAdd('offsite', s3At('lost/')));
    await backup(a);
    await call(a.remotePush('offsite', {}));
    const summary = await liveSummary(a);
    await call(a.close({}));
    await VaultStore.destroy('rr-lost'); // the browser cleared the site's data
    const again = createService();
    expect(await settle(call(again.open({ name: 'rr-lost' }, () => true)))).toMatchObject({ ok: false, code: 'STORAGE_LOST' });
    const fresh = await vaultWith('rr-lost', 0, await openService('rr-lost'));
    await call(fresh.remoteAdd('offsite', s3At('lost/')));
    expect(await call(fresh.remoteRestoreLatest('offsite', { ifEmpty: true }))).toMatchObject({ restored: true });
    expect(await liveSummary(fresh)).toBe(summary);
    // Called again at the next start, it leaves a vault with data alone.
    await addRows(fresh, 5, 9);
    expect(await call(fresh.remoteRestoreLatest('offsite', { ifEmpty: true }))).toEqual({ restored: false });
    expect(await liveSummary(fresh)).toContain('9:5');
  });
});
