// Remote replication in the bench (issue 16): the S3 server the page pushes to, and the rows.
// The server is @20minutes/s3rver on 127.0.0.1 (SigV4 checked, CORS for every origin), in a child
// process (bench/driver/s3rver-child.mjs says why).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BUCKET = 'pagevault-bench';
// s3rver's built-in account.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const MB = 1024 * 1024;
const ms = (value) => (value === undefined ? 'n/a' : `${value >= 100 ? Math.round(value) : value.toFixed(1)} ms`);
const fmtBytes = (bytes) => (bytes >= MB ? `${(bytes / MB).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KiB`);
const pct = (value) => `${(value * 100).toFixed(2)}%`;
const ratio = (value, baseline) => (baseline === undefined ? 'n/a' : `${(value / baseline).toFixed(2)}x`);
const rate = (bytes, millis) => `${(bytes / MB / (millis / 1000)).toFixed(1)} MB/s`;

/** Starts the S3 server; `options(pass, name)` gives the page step its argument for one pass. */
export async function startRemote() {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(dirname(fileURLToPath(import.meta.url)), 's3rver-child.mjs'), BUCKET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench: the S3 server exited (${code}) before listening`)));
  });
  const endpoint = `http://127.0.0.1:${JSON.parse(first).port}`;
  return {
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    options: (pass, name) => ({
      endpoint,
      bucket: BUCKET,
      ...CREDENTIALS,
      prefix: `${name}/`,
      appendBackupId: pass.incremental?.append?.backupId,
      updateBackupId: pass.incremental?.update?.backupId,
    }),
  };
}

/** Rows for the remote step of one pass (none when it did not run). */
export function remoteRows(pass) {
  const r = pass.remote;
  if (!r) return [];
  const label = `${Math.round(pass.sizeBytes / MB)} MB`;
  const w = r.wholeArchive ?? {};
  const row = (scenario, figure, baseline, ratio, target, met) => ({ scenario, figure, baseline, ratio, target, met });
  const rows = [
    row(`R1 remote push, cold (${label})`, `${ms(r.cold.ms)}, ${fmtBytes(r.cold.bytesSent)} in ${r.cold.objectsSent} objects`, w.putMs === undefined ? '1 PUT of the archive n/a' : `1 PUT of the archive ${ms(w.putMs)}, ${fmtBytes(w.bytes)}`, ratio(r.cold.ms, w.putMs), '', null),
  ];
  for (const [key, title, limit] of [['append', 'append 1%', 0.03], ['update', 'update 0.1%', 0.1]]) {
    const p = r[key];
    if (!p) continue;
    rows.push(row(`R2 remote push after ${title} (${label})`, `${ms(p.ms)}, ${fmtBytes(p.bytesSent)} (${p.objectsSent} sent, ${p.objectsSkipped} skipped)`, `cold push ${fmtBytes(r.cold.bytesSent)}`, pct(p.bytesSent / r.cold.bytesSent), `<= ${limit * 100}%`, p.bytesSent <= limit * r.cold.bytesSent));
  }
  const restore = pass.remoteRestore;
  if (restore) rows.push(row(`R3 restore from the remote, new device (${label})`, `${ms(restore.ms)}, ${rate(pass.sizeBytes, restore.ms)}`, `1 GET of the archive ${ms(w.getMs)}`, ratio(restore.ms, w.getMs), '', null));
  return rows;
}
