// Adversarial reproduction: on a store that cannot list (http), the open's inventory of chunk
// objects is trusted without a HEAD (worker/remote/push.ts sendManifest): a chunk the server lost
// after this open sent it is never sent again, and every later push writes a manifest naming it.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../worker/service';
import { startHttpObjectServer, type HttpObjectServer } from '../support/http-object-server';
import { addRows, call, openService, settle } from '../support/vault-harness';

let http: HttpObjectServer;
const open: Service[] = [];
beforeAll(async () => {
  http = await startHttpObjectServer();
});
afterAll(async () => {
  for (const service of open) await call(service.close({ force: true })).catch(() => undefined);
  await http.close();
});

const FAST = { retries: 1, backoffMs: 5, timeoutMs: 20_000 } as const;

describe('http remote after the server lost objects', () => {
  it('a push after a chunk object was deleted behind the vault sends it again (the listed backup restores)', async () => {
    const a = await openService('inv-a');
    open.push(a);
    await addRows(a, 2_000, 1);
    await call(a.remoteAdd('web', { kind: 'http', url: http.url, retry: FAST }));
    const first = await call(a.backupCreate({}));
    await call(a.backupWait(first.backupId));
    await call(a.remotePush('web', {}));
    // The server loses every chunk object (a bucket lifecycle rule, an operator, a restore from an older snapshot).
    for (const key of [...http.objects.keys()]) if (key.includes('/chunks/')) http.objects.delete(key);
    await call(a.exec('UPDATE item SET body = upper(body) WHERE id = 1'));
    const second = await call(a.backupCreate({}));
    await call(a.backupWait(second.backupId));
    const push = await call(a.remotePush('web', {}));
    expect(push.backupId).toBe(second.backupId);
    const listed = await call(a.remoteList('web'));
    expect(listed.map((b) => b.backupId)).toContain(second.backupId);

    const b = await openService('inv-b');
    open.push(b);
    await call(b.remoteAdd('web', { kind: 'http', url: http.url, retry: FAST }));
    // Observed: INTEGRITY ("Remote chunk ... is missing"): the remote lists a backup it cannot restore.
    expect(await settle(call(b.backupRestore({ from: 'web', backupId: second.backupId })))).toEqual({ ok: true });
  }, 60_000);
});
