/**
 * A bench-only worker that composes pagevault's own worker modules to time the pieces of a save
 * and the baselines a user would otherwise write (export, gzip, one IndexedDB value), on the same
 * image the vault holds, in the same browser run.
 *
 * It reads the vault's saved head straight from its chunk store (read-only; the vault's worker
 * stays the only writer) and opens it in its own sql.js connection. The page terminates this
 * worker before each vault scenario so its memory does not count against the vault's.
 */
import { expose } from 'comlink';
import { gunzipSync, gzipSync } from 'fflate';
import { openDB, type IDBPDatabase } from 'idb';
import type { Database } from 'sql.js';
import { compressChunk, decompressChunk } from '../../src/format/codec';
import { sha256Hex } from '../../src/format/sha256';
import { PageCopy } from '../../worker/engine/page-copy';
import { loadSqlJs, tableCounts } from '../../worker/engine/sqlite';
import { readImage } from '../../worker/jobs/chunk-io';
import { CHUNK_SIZE, loadFingerprint, splitImage } from '../../worker/jobs/image';
import { VaultStore } from '../../worker/store/vault-store';
import { LIVE_HEAD } from '../../worker/store/schema';
import { defaultWasmUrl } from '../../worker/engine/wasm-url';

const NAIVE_DB = 'pagevault-bench-naive';

let db: Database | undefined;
let naiveGzip: number | undefined;

function time<T>(body: () => T): [T, number] {
  const started = performance.now();
  const value = body();
  return [value, performance.now() - started];
}

async function timeAsync<T>(body: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await body();
  return [value, performance.now() - started];
}

function need(): Database {
  if (!db) throw new Error('baseline worker: call load() first');
  return db;
}

function naiveStore(): Promise<IDBPDatabase> {
  return openDB(NAIVE_DB, 1, { upgrade: (database) => database.createObjectStore('images') });
}

/** Strict readwrite transactions putting `entries`, `perTransaction` at a time (one entry: the naive persistence). */
async function putMany(entries: readonly (readonly [string, () => unknown])[], perTransaction: number): Promise<number> {
  const idb = await naiveStore();
  try {
    // Values are built inside the timer: making a Blob hands its bytes to the browser process.
    const [, ms] = await timeAsync(async () => {
      for (let start = 0; start < entries.length; start += perTransaction) {
        const tx = idb.transaction('images', 'readwrite', { durability: 'strict' });
        for (const [key, value] of entries.slice(start, start + perTransaction)) void tx.store.put(value(), key);
        await tx.done;
      }
    });
    return ms;
  } finally {
    idb.close();
  }
}

const putOne = (key: string, value: () => unknown): Promise<number> => putMany([[key, value]], 1);

const api = {
  /** Opens the vault's saved image (read-only) in a private sql.js connection. */
  async load(name: string): Promise<{ sizeBytes: number; readMs: number }> {
    const sql = await loadSqlJs(defaultWasmUrl);
    const store = await VaultStore.open(name);
    try {
      const head = store.head(LIVE_HEAD);
      if (!head) throw new Error(`baseline worker: vault ${name} has no saved head`);
      const [image, readMs] = await timeAsync(() => readImage(store, head.manifest));
      db?.close();
      db = new sql.Database(image);
      return { sizeBytes: image.byteLength, readMs };
    } finally {
      store.close();
    }
  },

  /** `db.export()` timed `runs` times: the floor of any save. */
  exportMs(runs: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < runs; i++) out.push(time(() => need().export())[1]);
    return out;
  },

  /**
   * The pieces of a save after a one-row change, on this image: export, fingerprint of every
   * chunk, SHA-256 and DEFLATE of one chunk, and of every chunk (what a cold save pays).
   */
  async savePieces(): Promise<Record<string, number>> {
    const [image, exportMs] = time(() => need().export());
    const views = splitImage(image);
    const fingerprint = await loadFingerprint();
    const [, fingerprintAllMs] = time(() => views.map((view) => fingerprint(view)));
    const [, sha256OneMs] = await timeAsync(() => sha256Hex(views[0]!));
    const [, sha256AllMs] = await timeAsync(() => Promise.all(views.map((view) => sha256Hex(view))));
    const [, sha256ImageMs] = await timeAsync(() => sha256Hex(image));
    const [one, deflateOneMs] = time(() => compressChunk(views[0]!));
    const [all, deflateAllMs] = time(() => views.map((view) => compressChunk(view)));
    const storedBytes = all.reduce((sum, c) => sum + c.data.byteLength, 0);
    const rawChunks = all.filter((c) => c.codec === 'raw').length;
    const putOneChunkMs = await putOne('one-chunk', () => one.data.slice());
    // What a cold backup adds: re-check every compressed chunk, stage all of them 128 per transaction.
    const [, inflateAllMs] = time(() => {
      for (const [i, c] of all.entries()) decompressChunk(c.codec, c.data, views[i]!.byteLength);
    });
    const putAllChunksMs = await putMany(all.map((c, i) => [`chunk-${i}`, () => c.data.slice()] as const), 128);
    const sql = await loadSqlJs(defaultWasmUrl);
    // The page copy of a `pages` backup, in its parts: pre-sized scratch, steps, export + table counts.
    const [copy, pageCopyStartMs] = time(() => new PageCopy(sql, need(), 1024));
    let pageCopyStepsMs: number;
    let pageCopyResultMs: number;
    try {
      pageCopyStepsMs = time(() => {
        while (copy.step() !== 'done');
      })[1];
      pageCopyResultMs = time(() => copy.result())[1];
    } finally {
      copy.close();
    }
    const [, tableCountsMs] = time(() => tableCounts(need()));
    const pageCopyMs = pageCopyStartMs + pageCopyStepsMs + pageCopyResultMs;
    return {
      exportMs,
      chunks: views.length,
      chunkSize: CHUNK_SIZE,
      fingerprintAllMs,
      sha256OneMs,
      sha256AllMs,
      sha256ImageMs,
      deflateOneMs,
      deflateAllMs,
      deflateRatio: image.byteLength / storedBytes,
      rawChunks,
      putOneChunkMs,
      inflateAllMs,
      putAllChunksMs,
      pageCopyMs,
      pageCopyStartMs,
      pageCopyStepsMs,
      pageCopyResultMs,
      tableCountsMs,
    };
  },

  /**
   * The naive ways to persist the image: export + gzipSync level 6 + one Blob put, and the whole
   * image (uncompressed) as one IndexedDB value, as a Blob and as an ArrayBuffer.
   */
  async naiveSave(): Promise<Record<string, number | string>> {
    const [image, exportMs] = time(() => need().export());
    const [gz, gzipMs] = time(() => gzipSync(image, { level: 6 }));
    const putGzipMs = await putOne('naive.gz', () => new Blob([gz]));
    naiveGzip = gz.byteLength;
    // The whole image as one IndexedDB value: a browser may refuse it (Chromium aborts a ~500 MB
    // value); that refusal is this baseline's result, not the bench's failure.
    const refused: Record<string, string> = {};
    const attempt = async (label: string, put: () => Promise<number>) => {
      try {
        return await put();
      } catch (error) {
        refused[`${label}Failed`] = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        return Number.NaN;
      }
    };
    const putBlobMs = await attempt('putBlob', () => putOne('image-blob', () => new Blob([image as Uint8Array<ArrayBuffer>])));
    const putBufferMs = await attempt('putBuffer', () => putOne('image-buffer', () => image.buffer));
    return {
      ...refused,
      exportMs,
      gzipMs,
      putGzipMs,
      naiveTotalMs: exportMs + gzipMs + putGzipMs,
      gzipBytes: gz.byteLength,
      gzipRatio: image.byteLength / gz.byteLength,
      putBlobMs,
      wholePutBlobMs: exportMs + putBlobMs,
      putBufferMs,
    };
  },

  /** The naive restore: read the gzip Blob, gunzip, open it, `PRAGMA integrity_check`. */
  async naiveRestore(): Promise<Record<string, number>> {
    const sql = await loadSqlJs(defaultWasmUrl);
    if (naiveGzip === undefined) throw new Error('baseline worker: call naiveSave() first');
    const started = performance.now();
    const idb = await naiveStore();
    const [gz, readMs] = await timeAsync(async () => new Uint8Array(await ((await idb.get('images', 'naive.gz')) as Blob).arrayBuffer()));
    idb.close();
    const [image, gunzipMs] = time(() => gunzipSync(gz));
    const [scratch, openMs] = time(() => new sql.Database(image));
    const [integrity, integrityMs] = time(() => String(scratch.exec('PRAGMA integrity_check')[0]?.values[0]?.[0]));
    scratch.close();
    if (integrity !== 'ok') throw new Error(`baseline worker: naive restore failed integrity_check: ${integrity}`);
    return { readMs, gunzipMs, openMs, integrityMs, totalMs: performance.now() - started };
  },

  async clear(): Promise<void> {
    db?.close();
    db = undefined;
    naiveGzip = undefined;
    await new Promise<void>((resolve) => {
      const request = indexedDB.deleteDatabase(NAIVE_DB);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  },
};

export type BaselineApi = typeof api;

expose(api);
