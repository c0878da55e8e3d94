// A client no one here wrote reads the remote layout: Debian's rclone lists and fetches the objects
// a push wrote to the S3 server, copies the repository to a folder, and the CLI restores from that copy.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/pagevault';
import { sha256Hex } from '../../src/format/sha256';
import { s3Store } from '../../src/remote/s3';
import { makeDatabase } from './format-fixtures';
import { pushImage } from '../support/remote-fixture';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from '../support/s3-server';

const RCLONE = process.env['RCLONE_PATH'] ?? '/usr/bin/rclone';
const present = existsSync(RCLONE);
// CI installs rclone (.ci/run): there its absence is a failure, not a skip.
if (!present && process.env['CI'] === undefined) console.warn(`remote-rclone: ${RCLONE} is missing (apt-get install rclone); skipping.`);
const run = promisify(execFile);

let s3: S3Server;
let dir: string;
let image: Uint8Array;
let keys: string[];

/**
 * The environment for rclone: a remote "pv" configured only through variables (no config file is
 * read or written), and no AWS_* variable of this machine (AWS_CA_BUNDLE makes rclone's SDK refuse
 * its own HTTP transport).
 */
function rcloneEnv(): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  return {
    ...inherited,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_PV_TYPE: 's3',
    RCLONE_CONFIG_PV_PROVIDER: 'Other',
    RCLONE_CONFIG_PV_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_PV_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_PV_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_PV_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_PV_REGION: 'us-east-1',
  };
}

async function rclone(...args: string[]): Promise<string> {
  const { stdout } = await run(RCLONE, args, { env: rcloneEnv(), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  if (!present) return;
  s3 = await startS3Server();
  dir = await mkdtemp(join(tmpdir(), 'pagevault-rclone-'));
  image = (await makeDatabase(3000, 4096)).export();
  keys = await pushImage(s3Store({ kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix: 'notes/', credentials: S3_CREDENTIALS }), image, { backupId: 'bk-r', createdAt: 5 });
}, 120_000);
afterAll(async () => {
  if (!present) return;
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!present && process.env['CI'] === undefined)('rclone reads the remote layout', () => {
  it('lists the config, every distinct chunk and the manifest under the prefix', async () => {
    const listed = (await rclone('lsf', '-R', '--files-only', `pv:${S3_BUCKET}/notes/`)).trim().split('\n').sort();
    const chunks = [...new Set(keys)].map((k) => `chunks/${k}`).sort();
    expect(listed).toEqual(['backups/bk-r', ...chunks, 'config'].sort());
  });

  it('cat of a plain chunk object shorter than the chunk, raw-inflated, is the chunk', async () => {
    const manifest = JSON.parse(await rclone('cat', `pv:${S3_BUCKET}/notes/backups/bk-r`)) as { chunks: string[]; chunkSize: number };
    const key = manifest.chunks[1]!;
    const { stdout } = await run(RCLONE, ['cat', `pv:${S3_BUCKET}/notes/chunks/${key}`], { env: rcloneEnv(), encoding: 'buffer', maxBuffer: 1024 * 1024 });
    // REMOTE.md: an object as long as the chunk is raw, a shorter one is raw DEFLATE.
    expect(stdout.length).toBeLessThan(manifest.chunkSize);
    const plain = inflateRawSync(stdout);
    expect(await sha256Hex(new Uint8Array(plain))).toBe(key);
    expect(new Uint8Array(plain)).toEqual(image.subarray(65536, 65536 + plain.length));
  });

  it('rclone copy to a folder, then pagevault remote extract from that folder restores the database', async () => {
    await rclone('copy', `pv:${S3_BUCKET}/notes/`, join(dir, 'copy'));
    let out = '';
    const code = await main(['remote', 'extract', join(dir, 'copy'), 'bk-r', '-o', join(dir, 'restored.sqlite'), '--json'], { stdout: (t) => (out += t), stderr: () => undefined, stderrIsTTY: false, env: {} });
    expect([code, JSON.parse(out)]).toMatchObject([0, { ok: true, backupId: 'bk-r' }]);
    expect(new Uint8Array(await readFile(join(dir, 'restored.sqlite')))).toEqual(image);
  });
});
