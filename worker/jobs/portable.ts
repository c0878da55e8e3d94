/**
 * Backups that leave the browser and come back: download (archive, incremental archive,
 * encrypted archive, plain .sqlite, .sqlite.gz, .sql dump), upload (any of these, detected by
 * their bytes), and inspect.
 *
 * Invariants:
 * - Downloads reuse stored chunks as they are (never recompress); only an incremental archive's
 *   page patches are computed.
 * - An upload is validated fully (container, every chunk hash, image hash, SQLite header,
 *   `integrity_check` with `trusted_schema=OFF`) before anything is stored, never touches the live
 *   database, runs as a job (kind `upload`) and is listed with method `upload`.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { decompressChunk, type StoredChunk } from '../../src/format/codec';
import { detectKind, DETECT_BYTES } from '../../src/format/detect';
import { gunzipFirstMemberStepped } from '../../src/format/gzip';
import { diffChunk } from '../../src/format/archive/patch';
import { inspectArchive, notEncrypted, openArchive } from '../../src/format/archive/reader';
import { blobSource } from '../../src/format/archive/source';
import { chunkKeysDigest, createArchiveWriter, type ArchiveRecord } from '../../src/format/archive/writer';
import { DEFAULT_MAX_IMAGE_BYTES, type ArchiveHeader } from '../../src/format/archive/layout';
import { parseSqliteHeader, SQLITE_HEADER_BYTES } from '../../src/format/sqlite-header';
import type { BackupInfo, DownloadFormat, DownloadOptions, InspectResult, UploadOptions } from '../../src/protocol';
import { checkBudget, checkImage, runSqlDump, type SandboxBudget } from '../engine';
import type { BackupRecord } from '../store/schema';
import { checkId, oneOf, optionalBoolean, optionalInteger, optionalString } from '../validate';
import { owned } from '../pool/compress-chunks';
import { Pacer, readImage } from './chunk-io';
import { plainFileParts } from './plain-file';
import { notFound, type VaultContext } from './context';
import type { JobContext } from './runner';
import { storeImage } from './store-image';

const FORMATS: readonly DownloadFormat[] = ['archive', 'sqlite', 'sqlite.gz', 'sql'];
const EXTENSIONS: Record<DownloadFormat, string> = { archive: 'pvault', sqlite: 'sqlite', 'sqlite.gz': 'sqlite.gz', sql: 'sql' };
/** Chunks read from the store per transaction while writing an archive. */
const READ_BATCH = 64;
/** Largest SQL dump text accepted for upload. */
const MAX_SQL_BYTES = 512 * 1024 * 1024;
const DEFAULT_SQL_TIMEOUT_MS = 30_000;

/**
 * A file of a stored backup.
 * @throws NOT_FOUND (backup or base), INVALID_ARGUMENT, CORRUPT (a stored chunk is damaged).
 */
export async function downloadBackup(vault: VaultContext, backupId: unknown, options: DownloadOptions): Promise<{ blob: Blob; filename: string }> {
  const id = checkId(backupId, 'backupId');
  const format = oneOf(options.format, 'format', FORMATS, 'archive');
  const passphrase = optionalString(options.passphrase, 'passphrase');
  const record = backupOrThrow(vault, id);
  if ((options.since !== undefined || passphrase !== undefined) && format !== 'archive') {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Incremental and encrypted downloads are archives; format "${format}" cannot be either.`, { format });
  }
  const base = options.since === undefined ? undefined : backupOrThrow(vault, checkId(options.since, 'since'));
  const stamp = new Date(record.info.createdAt).toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
  // An encrypted file's name must not tell what its sealed header hides (the vault's name).
  const filename = `${passphrase === undefined ? vault.name : 'encrypted'}-${stamp}${base ? '-incremental' : ''}.${EXTENSIONS[format]}`;
  const type = format === 'sql' ? 'application/sql' : format === 'sqlite.gz' ? 'application/gzip' : 'application/octet-stream';
  // Held while read: a drop or a retention sweep meanwhile takes the backup out of the catalog,
  // but its chunks stay until this download has read them.
  const holds = [await vault.store.hold(id)];
  try {
    if (base) holds.push(await vault.store.hold(base.info.backupId));
    const blobParts = format === 'archive' ? await archiveParts(vault, record, base, passphrase) : await plainParts(vault, record, format);
    return { blob: new Blob(blobParts as BlobPart[], { type }), filename };
  } finally {
    for (const held of holds) await held.release();
  }
}

async function plainParts(vault: VaultContext, record: BackupRecord, format: Exclude<DownloadFormat, 'archive'>): Promise<BlobPart[]> {
  const image = await readImage(vault.store, record.manifest, { checkImageHash: true });
  return plainFileParts(vault.engine, image, format, `${vault.name}.sqlite`, record.info.createdAt);
}

/** The header, records and trailer of an archive of `record` (incremental against `base`). */
async function archiveParts(vault: VaultContext, record: BackupRecord, base: BackupRecord | undefined, passphrase: string | undefined): Promise<Uint8Array[]> {
  const { store } = vault;
  const { manifest, info } = record;
  const first = manifest.chunks.length > 0 ? await plainChunk(vault, manifest.chunks[0]!) : new Uint8Array(0);
  const sqlite = first.byteLength >= SQLITE_HEADER_BYTES ? parseSqliteHeader(first.subarray(0, SQLITE_HEADER_BYTES)) : undefined;
  const writer = await createArchiveWriter(
    {
      name: vault.name,
      createdAt: info.createdAt,
      ...(info.note === undefined ? {} : { note: info.note }),
      method: info.method,
      pageSize: manifest.pageSize,
      pageCount: manifest.pageCount,
      sizeBytes: manifest.sizeBytes,
      sha256: info.sha256,
      sqliteVersion: sqlite?.sqliteVersion ?? 0,
      userVersion: sqlite?.userVersion ?? 0,
      tables: info.tables,
      ...(info.partial ? { partial: true } : {}),
      chunkSize: manifest.chunkSize,
      ...(base
        ? { base: { sha256: base.info.sha256, chunkCount: base.manifest.chunks.length, keysSha256: await chunkKeysDigest(base.manifest.chunks) } }
        : {}),
    },
    passphrase === undefined ? {} : { passphrase },
  );
  const baseKeys = new Set(base?.manifest.chunks ?? []);
  const samePages = base !== undefined && base.manifest.pageSize === manifest.pageSize;
  const out: Uint8Array[] = [];
  const pacer = new Pacer();
  for (let start = 0; start < manifest.chunks.length; start += READ_BATCH) {
    const keys = manifest.chunks.slice(start, start + READ_BATCH);
    const needed = keys.filter((key) => !baseKeys.has(key));
    const stored = new Map((await store.getChunks([...new Set(needed)])).map((c) => [c.key, c]));
    for (let j = 0; j < keys.length; j++) {
      const index = start + j;
      const key = keys[j]!;
      let rec: ArchiveRecord;
      if (baseKeys.has(key)) {
        rec = { kind: 'ref', index, key, size: chunkSize(manifest.sizeBytes, manifest.chunkSize, index) };
      } else {
        const chunk = stored.get(key)!;
        rec = { kind: 'full', index, key, size: chunk.size, codec: chunk.codec, data: chunk.data };
        const baseKey = base?.manifest.chunks[index];
        if (samePages && baseKey !== undefined) {
          const basePlain = await plainChunk(vault, baseKey);
          const patch = diffChunk(basePlain, decompressChunk(chunk.codec, chunk.data, chunk.size), manifest.pageSize);
          if (patch) rec = { kind: 'patch', index, key, size: chunk.size, baseKey, patch };
        }
      }
      out.push(...(await writer.add(rec)));
      await pacer.maybeYield();
    }
  }
  out.push(...(await writer.finish()));
  return out;
}

/**
 * Checks a file and stores it as a backup (method `upload`), as a job of kind `upload`.
 * @throws NOT_SQLITE, INVALID_BACKUP, UNSUPPORTED_VERSION, INTEGRITY, WRONG_PASSPHRASE,
 *   PASSPHRASE_REQUIRED, CHAIN, CORRUPT (fails integrity_check), LIMIT_EXCEEDED, NOT_ENCRYPTED
 *   (`requireEncrypted` and the file is plain).
 */
export async function uploadBackup(vault: VaultContext, blob: unknown, options: UploadOptions): Promise<{ backupId: string; encrypted: boolean }> {
  if (!(blob instanceof Blob)) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'upload() takes a Blob or File.', {});
  const passphrase = optionalString(options.passphrase, 'passphrase');
  const note = optionalString(options.note, 'note');
  const requireEncrypted = optionalBoolean(options.requireEncrypted, 'requireEncrypted') === true;
  const sqlTimeoutMs = optionalInteger(options.sqlTimeoutMs, 'sqlTimeoutMs', 1, 3_600_000) ?? DEFAULT_SQL_TIMEOUT_MS;
  const budget = checkBudget(options.budget);
  const backupId = `bk-up-${crypto.randomUUID().slice(0, 13)}`;
  const { done } = await vault.runner.enqueue('upload', { backupId }, async (ctx) => {
    const kind = detectKind(new Uint8Array(await blob.slice(0, DETECT_BYTES).arrayBuffer()));
    if (requireEncrypted && kind !== 'archive') throw notEncrypted('This file');
    const received =
      kind === 'archive'
        ? await receiveArchive(vault, ctx, blob, passphrase, requireEncrypted)
        : { image: await imageOf(vault, kind, blob, sqlTimeoutMs, budget), partial: false, note: undefined, stored: undefined, encrypted: false };
    ctx.progress('check', 0, 1, 'bytes', { from: 40, to: 60 });
    const { check, image } = await checked(vault, received.image, budget);
    ctx.signal.throwIfAborted();
    if (received.stored) await vault.store.stage(ctx.jobId, received.stored.map((c) => c.key), received.stored);
    const { manifest, storedBytes } = await storeImage(vault, ctx, image, { from: 60, to: 99 });
    const finalNote = note ?? received.note;
    const info: BackupInfo = {
      backupId,
      createdAt: Date.now(),
      method: 'upload',
      source: 'upload',
      ...(finalNote === undefined ? {} : { note: finalNote }),
      sizeBytes: manifest.sizeBytes,
      storedBytes,
      pageSize: manifest.pageSize,
      pageCount: manifest.pageCount,
      sha256: manifest.sha256 ?? '',
      tables: check.tables,
      ...(received.partial ? { partial: true } : {}),
    };
    await vault.store.commit({ backups: new Map([[backupId, { info, manifest }]]), releaseStaging: [ctx.jobId] }, { signal: ctx.signal });
    return { backupId, encrypted: received.encrypted };
  });
  return done;
}

/**
 * An image checked in the sandbox as an upload must be: sound (integrity_check), readable by this
 * SQLite and writable. Returns the image to store (a WAL-mode file comes back in rollback mode).
 * @throws CORRUPT, NOT_SQLITE, UNSUPPORTED_FEATURE, LIMIT_EXCEEDED
 */
async function checked(vault: VaultContext, image: Uint8Array, budget: Partial<SandboxBudget>) {
  const result = await checkImage(vault.engine, image, { usable: true, budget });
  if (result.check.integrity !== 'ok') throw new PagevaultError(ErrorCode.CORRUPT, `The database fails its integrity check: ${result.check.integrity}`, {});
  return result;
}

/** Reads and verifies an archive; keeps its stored chunks as they are, so nothing is recompressed. */
async function receiveArchive(vault: VaultContext, ctx: JobContext, blob: Blob, passphrase: string | undefined, requireEncrypted: boolean) {
  const archive = await openArchive(blobSource(blob), { requireEncrypted, ...(passphrase === undefined ? {} : { passphrase }) });
  const { header } = archive;
  const base = header.base ? findBase(vault, header) : undefined;
  if (header.base && !base) {
    throw new PagevaultError(ErrorCode.CHAIN, 'This incremental backup needs its base backup, which this vault does not have. Upload the base first.', {
      base: header.base.sha256,
    });
  }
  // The base stays, with its chunks, while this upload reads them (a drop meanwhile is BUSY).
  const held = base ? await vault.store.hold(base.info.backupId, { inUse: true }) : undefined;
  try {
    return await readArchive(vault, ctx, archive, held ? new Set(held.manifest.chunks) : new Set());
  } finally {
    await held?.release();
  }
}

/** The image an opened archive holds, with the stored forms of chunks the store lacks. */
async function readArchive(vault: VaultContext, ctx: JobContext, archive: Awaited<ReturnType<typeof openArchive>>, baseKeys: ReadonlySet<string>) {
  const { header } = archive;
  // Grown as chunks arrive, never allocated from the declared size before the data backs it.
  let image: Uint8Array = new Uint8Array(0);
  const stored: StoredChunk[] = [];
  const pacer = new Pacer();
  // A chunk the archive leaves out comes from the held base (or any stored chunk it names).
  const resolve = async (key: string) => (baseKeys.has(key) || vault.store.hasChunk(key) ? plainChunk(vault, key) : undefined);
  for await (const chunk of archive.chunks(resolve)) {
    const end = chunk.index * header.chunkSize + chunk.plain.byteLength;
    if (end > header.sizeBytes) throw new PagevaultError(ErrorCode.INTEGRITY, 'An archive chunk lies past the image size its header declares.', { index: chunk.index });
    if (end > image.byteLength) image = grown(image, end, header.sizeBytes);
    image.set(chunk.plain, chunk.index * header.chunkSize);
    if (chunk.kind === 'full' && !vault.store.hasChunk(chunk.key)) stored.push({ key: chunk.key, codec: chunk.codec, size: chunk.size, data: owned(chunk.data) });
    ctx.progress('read', chunk.index + 1, header.chunkCount, 'chunks', { from: 0, to: 40 });
    ctx.signal.throwIfAborted();
    await pacer.maybeYield();
  }
  if (image.byteLength !== header.sizeBytes) throw new PagevaultError(ErrorCode.INTEGRITY, 'The archive holds fewer bytes than its header declares.', {});
  return { image, stored, partial: header.partial === true, note: header.note, encrypted: archive.encrypted };
}

/** The base backup an incremental archive names, matched by image digest and chunk keys. */
function findBase(vault: VaultContext, header: ArchiveHeader): BackupRecord | undefined {
  return vault.store.listBackups().find((b) => b.info.sha256 === header.base?.sha256 && b.manifest.chunks.length === header.base.chunkCount);
}

/** The image held by a raw SQLite file, a gzip'd one, or a SQL dump. */
async function imageOf(vault: VaultContext, kind: 'sqlite' | 'gzip' | 'sql', blob: Blob, sqlTimeoutMs: number, budget: Partial<SandboxBudget>): Promise<Uint8Array> {
  if (kind === 'sql') {
    if (blob.size > MAX_SQL_BYTES) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The SQL file is larger than ${MAX_SQL_BYTES} bytes.`, { sizeBytes: blob.size });
    return runSqlDump(vault.engine, await blob.text(), { ...budget, timeMs: sqlTimeoutMs });
  }
  if (blob.size > DEFAULT_MAX_IMAGE_BYTES) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The file is larger than ${DEFAULT_MAX_IMAGE_BYTES} bytes.`, { sizeBytes: blob.size });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  // Inflated in steps, yielding to the event loop: queries keep being answered meanwhile.
  const pacer = new Pacer();
  const image = kind === 'gzip' ? await gunzipFirstMemberStepped(bytes, DEFAULT_MAX_IMAGE_BYTES, declaredImageSize, () => pacer.maybeYield()) : bytes;
  const header = parseSqliteHeader(image.subarray(0, SQLITE_HEADER_BYTES));
  if (image.byteLength % header.pageSize !== 0) {
    throw new PagevaultError(ErrorCode.CORRUPT, `The database file is ${image.byteLength} bytes, not a whole number of ${header.pageSize}-byte pages (truncated?).`, {});
  }
  if (header.pageCount !== null && header.pageCount * header.pageSize !== image.byteLength) {
    throw new PagevaultError(ErrorCode.CORRUPT, `The database header says ${header.pageCount} pages but the file holds ${image.byteLength / header.pageSize} (truncated?).`, {});
  }
  return image;
}

/**
 * What a stored backup (by id) or a file holds. For an archive only its header and trailer are
 * read; for other files the database is opened in a scratch connection (never restored).
 */
export async function inspectBackup(vault: VaultContext, target: unknown, options: { passphrase?: string }): Promise<InspectResult> {
  if (typeof target === 'string') return inspectStored(vault, backupOrThrow(vault, checkId(target, 'backupId')));
  if (!(target instanceof Blob)) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'inspect() takes a backup id or a Blob.', {});
  const passphrase = optionalString(options.passphrase, 'passphrase');
  const kind = detectKind(new Uint8Array(await target.slice(0, DETECT_BYTES).arrayBuffer()));
  if (kind === 'archive') {
    // With the passphrase, an encrypted v2 archive's sealed metadata is opened (and the passphrase checked).
    const { header: _header, ...facts } = await inspectArchive(blobSource(target), passphrase === undefined ? {} : { passphrase });
    return facts;
  }
  // The same checks as an upload: a file that would be refused is refused here too.
  const { check, image } = await checked(vault, await imageOf(vault, kind, target, DEFAULT_SQL_TIMEOUT_MS, {}), {});
  const header = parseSqliteHeader(image.subarray(0, SQLITE_HEADER_BYTES));
  return {
    format: kind === 'gzip' ? 'sqlite.gz' : kind,
    pageSize: header.pageSize,
    pageCount: image.byteLength / header.pageSize,
    sizeBytes: image.byteLength,
    sqliteVersion: header.sqliteVersion,
    userVersion: header.userVersion,
    tables: check.tables,
    encrypted: false,
  };
}

async function inspectStored(vault: VaultContext, record: BackupRecord): Promise<InspectResult> {
  const { info, manifest } = record;
  const first = manifest.chunks.length > 0 ? await plainChunk(vault, manifest.chunks[0]!) : new Uint8Array(0);
  const sqlite = first.byteLength >= SQLITE_HEADER_BYTES ? parseSqliteHeader(first.subarray(0, SQLITE_HEADER_BYTES)) : undefined;
  return {
    format: 'stored',
    createdAt: info.createdAt,
    ...(info.note === undefined ? {} : { note: info.note }),
    method: info.method,
    pageSize: info.pageSize,
    pageCount: info.pageCount,
    sizeBytes: info.sizeBytes,
    sha256: info.sha256,
    ...(sqlite ? { sqliteVersion: sqlite.sqliteVersion, userVersion: sqlite.userVersion } : {}),
    tables: info.tables,
    encrypted: false,
    ...(info.partial ? { partial: true } : {}),
  };
}

async function plainChunk(vault: VaultContext, key: string): Promise<Uint8Array> {
  const chunk = await vault.store.getChunk(key);
  return decompressChunk(chunk.codec, chunk.data, chunk.size);
}

function backupOrThrow(vault: VaultContext, backupId: string): BackupRecord {
  const record = vault.store.backup(backupId);
  if (!record) throw notFound(backupId);
  return record;
}


/** The image size a SQLite header declares (page size x page count), read from a gzip'd file's first bytes. @throws NOT_SQLITE */
function declaredImageSize(head: Uint8Array): number | undefined {
  const header = parseSqliteHeader(head);
  return header.pageCount === null ? undefined : header.pageCount * header.pageSize;
}

/** `image` copied into a buffer of at least `needed` bytes (doubling, capped at `max`). */
function grown(image: Uint8Array, needed: number, max: number): Uint8Array {
  const next = new Uint8Array(Math.min(max, Math.max(needed, image.byteLength * 2)));
  next.set(image);
  return next;
}

/** Plaintext length of chunk `index` of an image of `sizeBytes` cut at `size`. */
function chunkSize(sizeBytes: number, size: number, index: number): number {
  return Math.min(size, sizeBytes - index * size);
}
