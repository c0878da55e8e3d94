/**
 * The remote repository layout (REMOTE.md): object names, the config object, and the encoding of
 * chunk, manifest and mark objects, plain or encrypted. Pure: no I/O, WebCrypto only, so the
 * worker, the CLI (Node) and tests share it.
 *
 * Invariants:
 * - A chunk object holds a chunk's stored form (codec + bytes, never recompressed); it is named by
 *   its plaintext SHA-256, or with a passphrase by HMAC-SHA256(name key, SHA-256): names never
 *   reveal chunk hashes.
 * - With a passphrase every object but `config` is AES-256-GCM with a fresh random nonce and its
 *   own object name as associated data (an object moved to another name fails), and every decoded
 *   chunk is re-hashed against the key its authenticated manifest names.
 * - Nothing in an encrypted object is readable without the passphrase but its length.
 */
import { ErrorCode, PagevaultError } from '../errors';
import { checkIterations, KDF_DEFAULT_ITERATIONS, normalizePassphrase, pbkdf2, randomBytes } from './archive/crypto';
import { padme } from './archive/padding';
import type { ChunkCodec, StoredChunk } from './codec';
import { decompressUntrustedChunk } from './codec';
import { fromHex, isSha256Hex, sha256Hex, toHex } from './sha256';

export const REMOTE_FORMAT = 'pagevault-remote';
export const REMOTE_LAYOUT_VERSION = 1;

/** Object names under a repository's prefix. */
export const RemotePath = {
  config: 'config',
  /** Manifest names, for stores that cannot list (REMOTE.md "Stores that cannot list"). */
  index: 'index',
  chunks: 'chunks/',
  backups: 'backups/',
  heads: 'heads/',
  /** Continuous replication: the recent heads of each vault, thinned like local history (REMOTE.md "Points"). */
  points: 'points/',
  marks: 'marks/',
  /** Lease objects: `x-<id>` while a sweep deletes chunks, `s-<id>` while a push relies on them (REMOTE.md "Collection"). */
  locks: 'locks/',
} as const;

/** Largest manifest, mark or index object accepted (a 2 GiB image has 32,768 chunks: ~4 MiB of JSON). */
export const MAX_REMOTE_JSON_BYTES = 16 * 1024 * 1024;
const NONCE_BYTES = 12;
const MIN_SEALED_JSON_BYTES = 4096;

export interface RemoteEncryption {
  readonly cipher: 'AES-256-GCM';
  readonly kdf: 'PBKDF2-SHA256';
  readonly iterations: number;
  /** Hex, 16 bytes. */
  readonly salt: string;
  /** Hex, HKDF output under its own label: tells a wrong passphrase from damage. */
  readonly keyCheck: string;
}

/** The `config` object: the only object readable without the passphrase. */
export interface RemoteConfig {
  readonly format: typeof REMOTE_FORMAT;
  readonly version: number;
  readonly encryption?: RemoteEncryption;
}

/** Keys of an encrypted repository. */
export interface RemoteKeys {
  readonly aes: CryptoKey;
  readonly names: CryptoKey;
  readonly keyCheck: string;
}

/** What decoding a chunk object checks it against: its key and plaintext length, from a manifest. */
export interface RemoteChunkRef {
  /** SHA-256 (hex) of the plaintext chunk. */
  readonly key: string;
  /** Plaintext length. */
  readonly size: number;
}

/** What a backup (or head) manifest object holds. */
export interface RemoteManifest {
  readonly kind: 'backup' | 'head';
  readonly backupId: string;
  /** Name of the vault that pushed it. */
  readonly vault: string;
  readonly createdAt: number;
  readonly method: string;
  readonly note?: string;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  readonly chunkSize: number;
  readonly sha256: string;
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
  readonly partial?: boolean;
  readonly filters?: Readonly<Record<string, string>>;
  /** SHA-256 (hex) of each chunk's plaintext, in image order; chunk i is `chunkSize` bytes but the last. */
  readonly chunks: readonly string[];
}

/** The key and plaintext length of every chunk of a manifest, in image order. */
export function chunkRefs(m: Pick<RemoteManifest, 'chunks' | 'chunkSize' | 'sizeBytes'>): RemoteChunkRef[] {
  return m.chunks.map((key, i) => ({ key, size: Math.min(m.chunkSize, m.sizeBytes - i * m.chunkSize) }));
}

/**
 * The stored form a plain chunk object is sent as: a DEFLATE form is always shorter than the chunk
 * (compressChunk keeps it only when it saves 1/16), so a reader tells the codec from the length.
 * A DEFLATE form that is not shorter (never made by this code) is sent raw.
 */
export function sendableForm(chunk: StoredChunk, plain?: () => Uint8Array): StoredChunk {
  if (chunk.codec === 'raw' || chunk.data.length < chunk.size) return chunk;
  return { key: chunk.key, size: chunk.size, codec: 'raw', data: plain ? plain() : decompressUntrustedChunk('deflate', chunk.data, chunk.size) };
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const buf = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => bytes as Uint8Array<ArrayBuffer>;
const utf8 = (text: string) => new TextEncoder().encode(text);
const LABEL = { aes: 'pagevault remote v1 aes-256-gcm key', names: 'pagevault remote v1 name key', check: 'pagevault remote v1 key check' } as const;

function invalid(message: string): PagevaultError {
  return new PagevaultError(ErrorCode.INVALID_BACKUP, message);
}

/** Derives a repository's keys (slow: one PBKDF2 run, then HKDF under three labels). */
export async function deriveRemoteKeys(passphrase: string, salt: Uint8Array, iterations: number): Promise<RemoteKeys> {
  const bits = await pbkdf2(normalizePassphrase(passphrase), salt, iterations, 256);
  const root = await subtle().importKey('raw', buf(bits), 'HKDF', false, ['deriveBits']);
  bits.fill(0);
  const expand = async (label: string) => new Uint8Array(await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: buf(salt), info: buf(utf8(label)) }, root, 256));
  const aesBits = await expand(LABEL.aes);
  const nameBits = await expand(LABEL.names);
  const aes = await subtle().importKey('raw', buf(aesBits), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  const names = await subtle().importKey('raw', buf(nameBits), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  aesBits.fill(0);
  nameBits.fill(0);
  return { aes, names, keyCheck: toHex(await expand(LABEL.check)) };
}

/** A new repository's config (and its keys when a passphrase is given). */
export async function createRemoteConfig(passphrase?: string, iterations = KDF_DEFAULT_ITERATIONS): Promise<{ config: RemoteConfig; keys?: RemoteKeys }> {
  if (passphrase === undefined) return { config: { format: REMOTE_FORMAT, version: REMOTE_LAYOUT_VERSION } };
  checkIterations(iterations);
  const salt = randomBytes(16);
  const keys = await deriveRemoteKeys(passphrase, salt, iterations);
  const encryption: RemoteEncryption = { cipher: 'AES-256-GCM', kdf: 'PBKDF2-SHA256', iterations, salt: toHex(salt), keyCheck: keys.keyCheck };
  return { config: { format: REMOTE_FORMAT, version: REMOTE_LAYOUT_VERSION, encryption }, keys };
}

/** The bytes of a config object. */
export function encodeRemoteConfig(config: RemoteConfig): Uint8Array {
  return utf8(JSON.stringify(config));
}

/**
 * Reads a config object and derives the keys it asks for.
 * @throws INVALID_BACKUP (not a repository config), UNSUPPORTED_VERSION, PASSPHRASE_REQUIRED,
 *   NOT_ENCRYPTED (a passphrase was given for a plain repository), WRONG_PASSPHRASE, LIMIT_EXCEEDED.
 */
export async function openRemoteConfig(bytes: Uint8Array, passphrase?: string): Promise<{ config: RemoteConfig; keys?: RemoteKeys }> {
  const parsed = parseJson(bytes, 'config') as Partial<RemoteConfig>;
  if (parsed.format !== REMOTE_FORMAT) throw invalid('The remote config object is not a pagevault repository config.');
  if (parsed.version !== REMOTE_LAYOUT_VERSION) {
    throw new PagevaultError(ErrorCode.UNSUPPORTED_VERSION, `The remote repository has layout version ${String(parsed.version)}; this build reads ${REMOTE_LAYOUT_VERSION}.`);
  }
  const enc = parsed.encryption;
  if (enc === undefined) {
    if (passphrase !== undefined) throw new PagevaultError(ErrorCode.NOT_ENCRYPTED, 'The remote repository is not encrypted, but a passphrase was given: refusing to treat it as encrypted.');
    return { config: { format: REMOTE_FORMAT, version: REMOTE_LAYOUT_VERSION } };
  }
  if (enc.cipher !== 'AES-256-GCM' || enc.kdf !== 'PBKDF2-SHA256' || !Number.isSafeInteger(enc.iterations)) throw invalid('The remote config names an unknown cipher or KDF.');
  const salt = fromHex(enc.salt ?? '');
  if (!salt || salt.length < 16 || salt.length > 64 || !isSha256Hex(enc.keyCheck ?? '')) throw invalid('The remote config has a malformed salt or key check.');
  checkIterations(enc.iterations);
  if (passphrase === undefined) throw new PagevaultError(ErrorCode.PASSPHRASE_REQUIRED, 'The remote repository is encrypted: give its passphrase.');
  const keys = await deriveRemoteKeys(passphrase, salt, enc.iterations);
  if (keys.keyCheck !== enc.keyCheck) throw new PagevaultError(ErrorCode.WRONG_PASSPHRASE, 'The passphrase does not open this remote repository.');
  return { config: { format: REMOTE_FORMAT, version: REMOTE_LAYOUT_VERSION, encryption: enc }, keys };
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.byteLength > MAX_REMOTE_JSON_BYTES) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The remote ${what} object is larger than ${MAX_REMOTE_JSON_BYTES} bytes.`);
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw invalid(`The remote ${what} object is not valid JSON.`);
}

/**
 * Names and encodes a repository's objects; `keys` present iff the repository is encrypted.
 * @example const layout = new RemoteLayout(keys); const name = await layout.chunkName(key);
 */
export class RemoteLayout {
  constructor(readonly keys?: RemoteKeys) {}

  get encrypted(): boolean {
    return this.keys !== undefined;
  }

  private async keyed(kind: string, value: Uint8Array): Promise<string> {
    if (!this.keys) return toHex(value);
    const input = new Uint8Array([...utf8(`${kind}:`), ...value]);
    return toHex(new Uint8Array(await subtle().sign('HMAC', this.keys.names, buf(input))));
  }

  /** `chunks/<sha256>` or, encrypted, `chunks/<HMAC of the hash>`. */
  async chunkName(key: string): Promise<string> {
    const raw = fromHex(key);
    if (raw?.length !== 32) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Not a chunk key: ${key.slice(0, 16)}.`);
    return RemotePath.chunks + (await this.keyed('chunk', raw));
  }

  /**
   * `backups/<backupId>` or, encrypted, `backups/<HMAC of the id>`.
   * @throws INVALID_ARGUMENT when `backupId` could name another object (not `[A-Za-z0-9._-]`, or `..`).
   */
  async backupName(backupId: string): Promise<string> {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(backupId) || backupId.includes('..')) {
      throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The backup id ${JSON.stringify(backupId).slice(0, 140)} cannot name a remote object: use letters, digits, ".", "_" and "-" (no "..").`, { backupId });
    }
    return RemotePath.backups + (this.keys ? await this.keyed('backup', utf8(backupId)) : backupId);
  }

  /** `heads/<vault name>` (URI-encoded) or, encrypted, keyed: the continuous-replication head of one vault. */
  async headName(vault: string): Promise<string> {
    return RemotePath.heads + (this.keys ? await this.keyed('head', utf8(vault)) : encodeURIComponent(vault));
  }

  /** `points/<vault name>/` (URI-encoded) or, encrypted, `points/<HMAC of the vault name>/`: where one vault's points are. */
  async pointPrefix(vault: string): Promise<string> {
    return `${RemotePath.points}${this.keys ? await this.keyed('point', utf8(vault)) : encodeURIComponent(vault)}/`;
  }

  /**
   * One point of vault `vault`: `points/<vault>/<at>` or, encrypted, the time keyed too (the store
   * learns how many points a vault has, as it sees their objects, never when each was saved).
   */
  async pointName(vault: string, at: number): Promise<string> {
    return (await this.pointPrefix(vault)) + (this.keys ? await this.keyed('point-at', utf8(`${vault}\n${at}`)) : String(at));
  }

  private async seal(name: string, plain: Uint8Array): Promise<Uint8Array> {
    if (!this.keys) return plain;
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(utf8(name)) }, this.keys.aes, buf(plain)));
    const out = new Uint8Array(NONCE_BYTES + sealed.length);
    out.set(nonce, 0);
    out.set(sealed, NONCE_BYTES);
    return out;
  }

  private async open(name: string, bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.keys) return bytes;
    if (bytes.length < NONCE_BYTES + 16) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote object ${name} is truncated.`, { object: name });
    try {
      const params = { name: 'AES-GCM', iv: buf(bytes.subarray(0, NONCE_BYTES)), additionalData: buf(utf8(name)) };
      return new Uint8Array(await subtle().decrypt(params, this.keys.aes, buf(bytes.subarray(NONCE_BYTES))));
    } catch (error) {
      throw new PagevaultError(ErrorCode.INTEGRITY, `Remote object ${name} failed authentication.`, { object: name }, { cause: error });
    }
  }

  /** The object bytes of a stored chunk: its stored form, sealed (codec byte first) when encrypted. */
  async encodeChunk(name: string, chunk: StoredChunk): Promise<Uint8Array> {
    if (!this.keys) return chunk.data;
    const plain = new Uint8Array(1 + chunk.data.length);
    plain[0] = chunk.codec === 'deflate' ? 1 : 0;
    plain.set(chunk.data, 1);
    return this.seal(name, plain);
  }

  /**
   * Decodes and checks a chunk object against the manifest's entry: authenticated, decompressed
   * with a cap, re-hashed. Returns the stored form (to keep as is) and the plaintext.
   * @throws INTEGRITY when any check fails.
   */
  async decodeChunk(name: string, bytes: Uint8Array, ref: RemoteChunkRef): Promise<{ chunk: StoredChunk; plain: Uint8Array }> {
    // Plain objects: the length tells the codec (see sendableForm).
    let codec: ChunkCodec = bytes.length === ref.size ? 'raw' : 'deflate';
    let data = bytes;
    if (this.keys) {
      const opened = await this.open(name, bytes);
      if (opened[0] !== 0 && opened[0] !== 1) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote chunk ${name} has an unknown codec.`, { object: name });
      codec = opened[0] === 1 ? 'deflate' : 'raw';
      data = opened.slice(1);
    }
    let plain: Uint8Array;
    try {
      plain = decompressUntrustedChunk(codec, data, ref.size);
    } catch (error) {
      throw new PagevaultError(ErrorCode.INTEGRITY, `Remote chunk ${name} is damaged.`, { object: name, chunk: ref.key }, { cause: error });
    }
    if ((await sha256Hex(plain)) !== ref.key) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote chunk ${name} does not match its SHA-256.`, { object: name, chunk: ref.key });
    return { chunk: { key: ref.key, codec, size: ref.size, data }, plain };
  }

  /** JSON, sealed and padded (PADME, at least 4 KiB) when encrypted. */
  async encodeJson(name: string, value: unknown): Promise<Uint8Array> {
    const json = JSON.stringify(value);
    if (!this.keys) return utf8(json);
    const length = Math.max(MIN_SEALED_JSON_BYTES, padme(utf8(json).length));
    return this.seal(name, utf8(json.padEnd(length + json.length - utf8(json).length, ' ')));
  }

  /** @throws INTEGRITY (authentication), INVALID_BACKUP (not JSON), LIMIT_EXCEEDED. */
  async decodeJson(name: string, bytes: Uint8Array, what: string): Promise<Record<string, unknown>> {
    if (bytes.byteLength > MAX_REMOTE_JSON_BYTES) throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The remote ${what} object is larger than ${MAX_REMOTE_JSON_BYTES} bytes.`);
    return parseJson(await this.open(name, bytes), what);
  }

  encodeManifest(name: string, manifest: RemoteManifest): Promise<Uint8Array> {
    return this.encodeJson(name, { format: `${REMOTE_FORMAT}-manifest`, version: REMOTE_LAYOUT_VERSION, ...manifest });
  }

  /** @throws INTEGRITY, INVALID_BACKUP (fields), UNSUPPORTED_VERSION, LIMIT_EXCEEDED. */
  async decodeManifest(name: string, bytes: Uint8Array): Promise<RemoteManifest> {
    const m = await this.decodeJson(name, bytes, 'manifest');
    if (m['format'] !== `${REMOTE_FORMAT}-manifest`) throw invalid(`Remote object ${name} is not a manifest.`);
    if (m['version'] !== REMOTE_LAYOUT_VERSION) throw new PagevaultError(ErrorCode.UNSUPPORTED_VERSION, `Remote manifest ${name} has version ${String(m['version'])}.`);
    return checkManifest(name, m);
  }
}

const isCount = (v: unknown, max = 2 ** 53 - 1): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;

function checkManifest(name: string, m: Record<string, unknown>): RemoteManifest {
  const bad = (field: string) => invalid(`Remote manifest ${name}: field "${field}" is missing or invalid.`);
  if (m['kind'] !== 'backup' && m['kind'] !== 'head') throw bad('kind');
  for (const field of ['backupId', 'vault', 'method'] as const) if (typeof m[field] !== 'string' || (m[field] as string).length > 256) throw bad(field);
  for (const field of ['createdAt', 'pageSize', 'pageCount', 'sizeBytes', 'chunkSize'] as const) if (!isCount(m[field])) throw bad(field);
  if (typeof m['sha256'] !== 'string' || !isSha256Hex(m['sha256'])) throw bad('sha256');
  if (m['note'] !== undefined && typeof m['note'] !== 'string') throw bad('note');
  const tables = m['tables'];
  if (!Array.isArray(tables) || !tables.every((t) => typeof t?.name === 'string' && isCount(t?.rows))) throw bad('tables');
  const chunks = m['chunks'];
  const chunkSize = m['chunkSize'] as number;
  if (!Array.isArray(chunks) || chunkSize === 0 || !chunks.every((c) => typeof c === 'string' && isSha256Hex(c))) throw bad('chunks');
  if (chunks.length !== Math.ceil((m['sizeBytes'] as number) / chunkSize)) throw bad('sizeBytes');
  const { format: _f, version: _v, ...rest } = m;
  return rest as unknown as RemoteManifest;
}
