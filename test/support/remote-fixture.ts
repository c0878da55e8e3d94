/**
 * Writes a backup into a remote repository the way a push does (chunks first, manifest last),
 * straight through src/remote/repository: for CLI and rclone tests that need a repository without
 * a browser vault.
 */
import { tableCounts } from '../../bin/sqlite-check';
import { DEFAULT_CHUNK_SIZE, chunkImage } from '../../src/format/archive/from-image';
import { compressChunk } from '../../src/format/codec';
import { sendableForm } from '../../src/format/remote-layout';
import { parseSqliteHeader } from '../../src/format/sqlite-header';
import { RemoteRepository } from '../../src/remote/repository';
import type { RemoteStore } from '../../src/remote/store';

export interface FixtureBackup {
  readonly backupId: string;
  readonly createdAt: number;
  readonly note?: string;
}

/** Pushes `image` as backup `meta.backupId`; returns the chunk keys in image order. */
export async function pushImage(store: RemoteStore, image: Uint8Array, meta: FixtureBackup, passphrase?: string): Promise<string[]> {
  const repo = await (await RemoteRepository.open(store, passphrase)).ensureConfig();
  const { sha256, chunks, keys } = await chunkImage(image, DEFAULT_CHUNK_SIZE);
  for (let i = 0; i < chunks.length; i++) {
    const plain = chunks[i]!;
    await repo.putChunk(sendableForm({ key: keys[i]!, size: plain.length, ...compressChunk(plain) }, () => plain));
  }
  const header = parseSqliteHeader(image);
  await repo.putManifest({
    kind: 'backup',
    backupId: meta.backupId,
    vault: 'fixture',
    createdAt: meta.createdAt,
    method: 'page-copy',
    ...(meta.note === undefined ? {} : { note: meta.note }),
    pageSize: header.pageSize,
    pageCount: image.length / header.pageSize,
    sizeBytes: image.length,
    chunkSize: DEFAULT_CHUNK_SIZE,
    sha256,
    tables: await tableCounts(image),
    chunks: [...keys],
  });
  return [...keys];
}
