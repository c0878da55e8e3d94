// Node-side figures: native zlib `gzip -1` of the same image, native SQLite `.restore`, and the
// format layer (src/format, what the CLI runs) reading and writing archives outside the browser.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

function timed(body) {
  const started = performance.now();
  const value = body();
  return { value, ms: performance.now() - started };
}

async function timedAsync(body) {
  const started = performance.now();
  const value = await body();
  return { value, ms: performance.now() - started };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Native zlib level 1 and 6 on the image, and gunzip, median of `runs`. */
export function nativeGzip(image, runs) {
  const level1 = [];
  const level6 = [];
  const gunzip = [];
  let bytes1 = 0;
  let bytes6 = 0;
  for (let i = 0; i < runs; i++) {
    const one = timed(() => gzipSync(image, { level: 1 }));
    level1.push(one.ms);
    bytes1 = one.value.byteLength;
    gunzip.push(timed(() => gunzipSync(one.value)).ms);
  }
  const six = timed(() => gzipSync(image, { level: 6 }));
  level6.push(six.ms);
  bytes6 = six.value.byteLength;
  return { gzip1Ms: median(level1), gzip1Bytes: bytes1, gzip6Ms: median(level6), gzip6Bytes: bytes6, gunzipMs: median(gunzip) };
}

/** Native SQLite (the sqlite3 CLI): `.restore` of the image into a fresh database plus `integrity_check`, and `.backup`. */
export function nativeSqlite(imagePath, workDir) {
  const cli = ['/usr/bin/sqlite3', '/usr/local/bin/sqlite3'].find((p) => existsSync(p));
  if (!cli) return { available: false, reason: 'sqlite3 CLI not found' };
  const target = join(workDir, 'restored.sqlite');
  rmSync(target, { force: true });
  const restore = timed(() => execFileSync(cli, [target, `.restore '${imagePath}'`, 'PRAGMA integrity_check;'], { encoding: 'utf8' }));
  const backupPath = join(workDir, 'backup.sqlite');
  rmSync(backupPath, { force: true });
  const backup = timed(() => execFileSync(cli, [imagePath, `.backup '${backupPath}'`], { encoding: 'utf8' }));
  rmSync(target, { force: true });
  rmSync(backupPath, { force: true });
  return { available: true, restoreMs: restore.ms, integrity: restore.value.trim(), backupMs: backup.ms, version: execFileSync(cli, ['--version'], { encoding: 'utf8' }).split(' ')[0] };
}

/**
 * The format layer in Node (what `pagevault` CLI commands run): open + read a downloaded archive
 * back to its image (verify/extract), and write an archive from the raw image (create).
 * `format` is src/format/index.ts loaded through Vite's SSR loader.
 */
export async function formatInNode(format, image, archivePath) {
  const out = {};
  if (archivePath && existsSync(archivePath)) {
    const archive = new Uint8Array(readFileSync(archivePath));
    const read = await timedAsync(async () => format.readArchiveImage(await format.openArchive(format.bytesSource(archive))));
    out.extract = { ms: read.ms, archiveBytes: archive.byteLength, imageBytes: read.value.byteLength };
  }
  const header = format.parseSqliteHeader(image);
  const create = await timedAsync(() =>
    format.writeImageArchive(new Uint8Array(image.buffer, image.byteOffset, image.byteLength), { name: 'bench', createdAt: Date.now(), method: 'cli', tables: [] }),
  );
  out.create = { ms: create.ms, archiveBytes: create.value.reduce((sum, part) => sum + part.byteLength, 0), pageSize: header.pageSize };
  return out;
}
