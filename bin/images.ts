/**
 * Turns any file the CLI accepts (archive, plain .sqlite, .sqlite.gz) into a verified image,
 * resolving incremental archives through the `--base` files.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, PagevaultError } from '../src/errors';
import type { InspectResult } from '../src/protocol';
import { chunkImage } from '../src/format/archive/from-image';
import { DEFAULT_MAX_IMAGE_BYTES } from '../src/format/archive/layout';
import { inspectArchive, notEncrypted, openArchive } from '../src/format/archive/reader';
import type { ArchiveHeader } from '../src/format/archive/layout';
import type { ArchiveKeyCache } from '../src/format/archive/crypto';
import { detectKind, DETECT_BYTES } from '../src/format/detect';
import type { FileKind } from '../src/format/detect';
import { gunzipFirstMember } from '../src/format/gzip';
import { sha256HexInPlace } from './hash';
import { parseSqliteHeader } from '../src/format/sqlite-header';
import { fsError } from './fs-errors';
import { openNodeFileSource } from './node-source';
import type { NodeFileSource } from './node-source';

/** Limit on how deep a chain of incremental archives may go. */
const MAX_CHAIN_DEPTH = 64;

export interface LoadContext {
  readonly passphrase?: string;
  /** Refuse a plain file (NOT_ENCRYPTED), bases included. */
  readonly requireEncrypted?: boolean;
  readonly keyCache: ArchiveKeyCache;
  /** Base files given with --base, by path. */
  readonly bases: readonly string[];
  readonly progress: (done: number, total: number) => void;
}

/**
 * Opens a file for reading.
 * @throws FILE_NOT_FOUND, IS_A_DIRECTORY, PERMISSION_DENIED.
 */
export function openFile(path: string): Promise<NodeFileSource> {
  return openNodeFileSource(path);
}

export async function kindOf(source: NodeFileSource): Promise<FileKind> {
  return detectKind(await source.read(0, Math.min(DETECT_BYTES, source.size)));
}

async function wholeFile(path: string, size: number): Promise<Uint8Array> {
  if (size > DEFAULT_MAX_IMAGE_BYTES) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `${path} is larger than ${DEFAULT_MAX_IMAGE_BYTES} bytes.`);
  try {
    // A view, not a copy: near the 2 GiB limit a second copy is gigabytes.
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw fsError(error, 'read', path);
  }
}

/** A raw SQLite image from a .sqlite or .sqlite.gz file, with its header checked. */
export async function rawImage(path: string, kind: FileKind, size: number): Promise<Uint8Array> {
  let image = await wholeFile(path, size);
  if (kind === 'gzip') image = gunzipFirstMember(image, DEFAULT_MAX_IMAGE_BYTES);
  else if (kind !== 'sqlite') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${path} is a ${kind} file; the CLI reads archives, .sqlite and .sqlite.gz files.`);
  const header = parseSqliteHeader(image);
  if (image.length % header.pageSize !== 0 || (header.pageCount !== null && header.pageCount * header.pageSize !== image.length)) {
    throw new PagevaultError(ErrorCode.NOT_SQLITE, `${path} is truncated or padded: ${image.length} bytes is not its ${header.pageCount ?? '?'} pages of ${header.pageSize}.`);
  }
  return image;
}

/**
 * Header facts of any accepted file, reading as little as possible. An encrypted v2 archive tells
 * its facts only with `passphrase` (checked: WRONG_PASSPHRASE).
 */
export async function inspectFile(path: string, passphrase?: string, keyCache?: ArchiveKeyCache): Promise<InspectResult> {
  const source = await openFile(path);
  try {
    const kind = await kindOf(source);
    if (kind === 'archive') {
      const { header: _header, ...facts } = await inspectArchive(source, { ...(passphrase === undefined ? {} : { passphrase }), ...(keyCache === undefined ? {} : { keyCache }) });
      return facts;
    }
    if (kind === 'sql') return { format: 'sql', pageSize: 0, pageCount: 0, sizeBytes: source.size, encrypted: false };
    const image = await rawImage(path, kind, source.size);
    const h = parseSqliteHeader(image);
    return {
      format: kind === 'gzip' ? 'sqlite.gz' : 'sqlite',
      pageSize: h.pageSize,
      pageCount: image.length / h.pageSize,
      sizeBytes: image.length,
      sha256: sha256HexInPlace(image),
      sqliteVersion: h.sqliteVersion,
      userVersion: h.userVersion,
      encrypted: false,
    };
  } finally {
    await source.close();
  }
}

/** A loaded file: its image and, for archives, the header. */
export interface LoadedImage {
  readonly format: InspectResult['format'];
  readonly image: Uint8Array;
  readonly sha256: string;
  readonly encrypted: boolean;
  readonly header?: ArchiveHeader;
}

/** Receives the image in order, piece by piece, as it is verified (extract streams it to disk). */
export type ImageSink = (bytes: Uint8Array) => Promise<void>;

/**
 * Reads and verifies a file into its image, following incremental archives to their bases.
 * `sink` gets each verified piece as it is read (the image's SHA-256 is checked after the last:
 * commit nothing before `loadImage` resolves).
 * @throws CHAIN when a needed base is not among `context.bases`; NOT_ENCRYPTED with
 *   `requireEncrypted` for a plain file; plus every archive reading code.
 */
export async function loadImage(path: string, context: LoadContext, sink?: ImageSink, depth = 0): Promise<LoadedImage> {
  if (depth > MAX_CHAIN_DEPTH) throw new PagevaultError(ErrorCode.CHAIN, 'The chain of incremental backups is too long or loops.');
  const source = await openFile(path);
  try {
    const kind = await kindOf(source);
    if (kind !== 'archive') {
      if (context.requireEncrypted === true) throw notEncrypted(path);
      const image = await rawImage(path, kind, source.size);
      await sink?.(image);
      return { format: kind === 'gzip' ? 'sqlite.gz' : 'sqlite', image, sha256: sha256HexInPlace(image), encrypted: false };
    }
    const archive = await openArchive(source, {
      keyCache: context.keyCache,
      ...(context.passphrase === undefined ? {} : { passphrase: context.passphrase }),
      ...(context.requireEncrypted === true ? { requireEncrypted: true } : {}),
    });
    const { header } = archive;
    let resolve: ((key: string) => Promise<Uint8Array | undefined>) | undefined;
    if (header.base) {
      const basePath = await findBase(header.base.sha256, context, path);
      const base = await loadImage(basePath, context, undefined, depth + 1);
      const { chunks, keys } = await chunkImage(base.image, header.chunkSize);
      const byKey = new Map(keys.map((k, i) => [k, chunks[i]!]));
      resolve = async (key) => byKey.get(key);
    }
    let done = 0;
    const image = new Uint8Array(header.sizeBytes);
    for await (const chunk of archive.chunks(resolve)) {
      image.set(chunk.plain, chunk.index * header.chunkSize);
      await sink?.(chunk.plain);
      context.progress(++done, header.chunkCount);
    }
    return { format: 'archive', image, sha256: header.sha256, encrypted: archive.encrypted, header };
  } finally {
    await source.close();
  }
}

/**
 * Finds the --base file whose image has this SHA-256 (archives by header, raw files by hashing).
 * A --base that cannot be read (missing, a folder, not a backup, not opened by the passphrase)
 * fails with its own code: the user named it, so it is their mistake to see, not a missing base.
 */
async function findBase(sha256: string, context: LoadContext, forPath: string): Promise<string> {
  let locked: string | undefined;
  for (const candidate of context.bases) {
    const facts = await inspectFile(candidate, context.passphrase, context.keyCache);
    if (facts.sha256 === sha256) return candidate;
    if (facts.encrypted && facts.sha256 === undefined) locked ??= candidate;
  }
  // An encrypted v2 base tells its image hash only with the passphrase: it may be the one.
  if (locked !== undefined) throw new PagevaultError(ErrorCode.PASSPHRASE_REQUIRED, `The --base file ${locked} is encrypted; a passphrase is required to tell whether it is the base of ${forPath}.`, { path: locked });
  throw new PagevaultError(ErrorCode.CHAIN, `${forPath} is incremental; its base (image ${sha256.slice(0, 12)}...) is not among the --base files.`, { base: sha256 });
}

