import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { VaultStore } from '../../worker/store/vault-store';
import type { StoredChunk } from '../../src/format/codec';
import type { Manifest } from '../../worker/store/schema';

const chunk = (key: string): StoredChunk => ({ key, codec: 'raw', size: 4, data: new Uint8Array([1, 2, 3, 4]) });
const manifest = (...chunks: string[]): Manifest => ({ pageSize: 4, pageCount: chunks.length, sizeBytes: 4 * chunks.length, chunkSize: 4, chunks });
const head = (m: Manifest) => ({ manifest: m, savedAt: 1 });
const backup = (id: string, m: Manifest) => ({
  manifest: m,
  info: { backupId: id, createdAt: 1, method: 'pages' as const, sizeBytes: m.sizeBytes, storedBytes: 0, pageSize: 4, pageCount: m.pageCount, sha256: '', tables: [] },
});

describe('the chunk store (fake-indexeddb)', () => {
  it('deletes a chunk in the same commit that drops its last reference, and only then', async () => {
    const store = await VaultStore.open(`refs-${Math.random()}`);
    await store.commit({ chunks: [chunk('a'), chunk('b')], heads: new Map([['live', head(manifest('a', 'b'))]]) });
    await store.commit({ backups: new Map([['bk1', backup('bk1', manifest('a', 'b'))]]) });
    await store.commit({ chunks: [chunk('c')], heads: new Map([['live', head(manifest('a', 'c'))]]) });
    expect(store.hasChunk('b')).toBe(true); // still in bk1
    await store.commit({ backups: new Map([['bk1', null]]) });
    expect(store.hasChunk('b')).toBe(false);
    expect(store.hasChunk('a')).toBe(true);
    store.close();
  });

  it('keeps staged chunks until the job commits or releases them', async () => {
    const name = `staging-${Math.random()}`;
    const store = await VaultStore.open(name);
    const staged = await store.stage('job1', ['x', 'y'], [chunk('x')]);
    expect(staged.missing).toEqual(['y']);
    expect(store.hasChunk('x')).toBe(true);
    store.close();
    // A new worker sees the staging record and can release it.
    const again = await VaultStore.open(name);
    expect(again.stagingRecords().map((s) => s.jobId)).toEqual(['job1']);
    await again.commit({ releaseStaging: ['job1'] });
    expect(again.hasChunk('x')).toBe(false);
    again.close();
  });

  it('reloads heads, backups and reference counts from IndexedDB', async () => {
    const name = `reload-${Math.random()}`;
    const store = await VaultStore.open(name);
    await store.commit({ chunks: [chunk('a')], heads: new Map([['live', head(manifest('a'))]]), backups: new Map([['bk', backup('bk', manifest('a'))]]) });
    store.close();
    const again = await VaultStore.open(name);
    expect(again.head()?.manifest.chunks).toEqual(['a']);
    expect(again.listBackups().map((b) => b.info.backupId)).toEqual(['bk']);
    await again.commit({ heads: new Map([['live', null]]) });
    expect(again.hasChunk('a')).toBe(true);
    await again.commit({ backups: new Map([['bk', null]]) });
    expect(again.hasChunk('a')).toBe(false);
    again.close();
  });
});
