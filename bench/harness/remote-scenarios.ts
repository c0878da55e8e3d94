/**
 * Remote replication figures (issue 16), run after the pass's other steps on the same vault,
 * against the S3 server the driver starts (bench/driver/remote.mjs; s3rver on 127.0.0.1, SigV4
 * checked): a cold push of the warm backup (scenario 2), pushes of the backups scenario 5 made after appending
 * 1% rows and updating 0.1%, and a restore from the remote into a fresh vault (a new device: every
 * chunk comes from the server). Beside them, the plain way: one PUT and one GET of the whole
 * archive to the same server.
 */
import { AwsClient } from 'aws4fetch';
import { openVault } from '../../src/index';
import type { S3RemoteOptions } from '../../src/protocol';
import { currentPass } from './scenarios';

/** Where the driver's S3 server is and which backups to push. */
export interface RemoteBenchOptions {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A fresh repository per pass. */
  readonly prefix: string;
  /** Scenario 5's backups after appending 1% rows and updating 0.1%: the incremental pushes. */
  readonly appendBackupId?: string;
  readonly updateBackupId?: string;
}

const REMOTE = 'bench-remote';

async function timed<T>(body: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await body();
  return { value, ms: performance.now() - started };
}

function s3Options(options: RemoteBenchOptions): S3RemoteOptions {
  return {
    kind: 's3',
    endpoint: options.endpoint,
    bucket: options.bucket,
    prefix: options.prefix,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
  };
}

/** The pushes, each timed (the plain way: `remoteWholeArchive`; a new device: `remoteNewDevice`). */
export async function remoteReplication(options: RemoteBenchOptions) {
  const { vault, warmBackupId } = currentPass();
  if (warmBackupId === undefined) throw new Error('bench: warmPagesBackup() first');
  await vault.remote.add(REMOTE, s3Options(options));
  const push = async (backupId: string) => {
    const { value, ms } = await timed(() => vault.remote.push(REMOTE, { backupId }));
    return { ms, ...value };
  };
  const cold = await push(warmBackupId);
  const append = options.appendBackupId === undefined ? undefined : await push(options.appendBackupId);
  const update = options.updateBackupId === undefined ? undefined : await push(options.updateBackupId);

  await vault.remote.remove(REMOTE);
  return { cold, append, update };
}

/**
 * The plain way, beside the pushes: the warm backup's archive (which the driver kept) in one signed
 * PUT, then one GET. On a page of its own: at 500 MB, in the vault's renderer, it crashed it.
 */
export async function remoteWholeArchive(options: RemoteBenchOptions) {
  const file = await fetch('/__bench/file?name=archive-warm');
  if (!file.ok) throw new Error(`bench: the driver has no archive-warm (${file.status})`);
  const body = new Uint8Array(await file.arrayBuffer());
  const client = new AwsClient({ accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, service: 's3', region: 'us-east-1', retries: 0 });
  const url = `${options.endpoint}/${options.bucket}/${options.prefix}whole-archive.pvault`;
  const put = await timed(async () => {
    const response = await client.fetch(url, { method: 'PUT', body });
    if (!response.ok) throw new Error(`bench: whole-archive PUT answered ${response.status}`);
  });
  const get = await timed(async () => {
    const response = await client.fetch(url);
    if (!response.ok) throw new Error(`bench: whole-archive GET answered ${response.status}`);
    return (await response.arrayBuffer()).byteLength;
  });
  return { bytes: body.length, putMs: put.ms, getMs: get.ms, gotBytes: get.value };
}

/**
 * A new device: an empty vault adds the remote and restores `backupId` from it (every chunk comes
 * from the server). The driver runs this on a page of its own, so the pass's vault and this one do
 * not share a renderer (at 500 MB the two outgrew one).
 */
export async function remoteNewDevice(options: RemoteBenchOptions & { readonly name: string; readonly backupId: string }) {
  const fresh = await openVault({ name: `${options.name}-device2` });
  try {
    await fresh.remote.add(REMOTE, s3Options(options));
    const { ms } = await timed(() => fresh.backup.restore({ backupId: options.backupId, from: REMOTE }));
    const rows = await fresh.query<{ n: number }>('SELECT count(*) AS n FROM doc');
    return { ms, docsAfter: rows[0]?.n ?? 0 };
  } finally {
    await fresh.close();
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(`pagevault:${fresh.name}`);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
}
