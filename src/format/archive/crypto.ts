/**
 * Archive encryption: PBKDF2-SHA256 turns a passphrase into an AES-256-GCM key and a key check;
 * every chunk record, the chunk table and (format v2) the header's metadata are sealed with
 * AES-GCM (compress, then encrypt).
 *
 * Key material (format v2): exactly 256 bits from PBKDF2 (one run, the cost a guesser pays too),
 * then HKDF-SHA256 expands them into the AES key and the key check under two labels, so checking a
 * passphrase costs the user no more than it costs an attacker. Format v1 derived 512 bits (two
 * PBKDF2 runs: bits 0-255 the AES key, 256-511 an HMAC key for the check); it is kept for reading.
 *
 * Passphrases are normalised to Unicode NFC before they reach the KDF, so the same passphrase
 * typed with another composition (macOS, a phone keyboard) opens the file. For v1 files, written
 * before normalisation, the reader falls back to the passphrase exactly as given.
 *
 * Nonce = 8-byte random per-file prefix + 4-byte big-endian record index (the table uses
 * index 0xffffffff, the sealed metadata 0xfffffffe, which no chunk can have). Associated data binds
 * a digest, the index, a last-record flag, the kind and the codec, so records cannot be moved
 * between files, reordered, truncated or relabelled without failing authentication.
 */
import { ErrorCode, PagevaultError } from '../../errors';
import { Sha256, fromHex, toHex } from '../sha256';

export const KDF_MIN_ITERATIONS = 600_000;
export const KDF_MAX_ITERATIONS = 10_000_000;
export const KDF_DEFAULT_ITERATIONS = 600_000;
export const SALT_BYTES = 16;
export const NONCE_PREFIX_BYTES = 8;
/** Record index used in the nonce and associated data of the chunk table. */
export const TABLE_RECORD_INDEX = 0xffffffff;
/** Record index used in the nonce and associated data of the sealed metadata (format v2). */
export const METADATA_RECORD_INDEX = 0xfffffffe;

const V1_KEY_CHECK_LABEL = new TextEncoder().encode('pagevault archive v1 key check');
const V2_AES_LABEL = new TextEncoder().encode('pagevault archive v2 aes-256-gcm key');
const V2_KEY_CHECK_LABEL = new TextEncoder().encode('pagevault archive v2 key check');
const AAD_BYTES = 32 + 4 + 1 + 1 + 1;

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const buf = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => bytes as Uint8Array<ArrayBuffer>;

/** Keys derived from one passphrase for one salt. */
export interface ArchiveKeys {
  readonly aes: CryptoKey;
  /** Hex check value compared with the header's `keyCheck`. */
  readonly keyCheck: string;
}

/**
 * Derived keys by (version, iterations, salt, passphrase digest). Pass the same map to several
 * `openArchive` calls to pay PBKDF2 once per file (e.g. verify, then restore).
 */
export type ArchiveKeyCache = Map<string, Promise<ArchiveKeys>>;

/**
 * Checks the iteration count a file asks for.
 * @throws INVALID_BACKUP below {@link KDF_MIN_ITERATIONS} (we refuse weak files), LIMIT_EXCEEDED above {@link KDF_MAX_ITERATIONS}.
 */
export function checkIterations(iterations: number): void {
  if (iterations < KDF_MIN_ITERATIONS) {
    throw new PagevaultError(ErrorCode.INVALID_BACKUP, `The archive asks for ${iterations} PBKDF2 iterations; at least ${KDF_MIN_ITERATIONS} are required.`);
  }
  if (iterations > KDF_MAX_ITERATIONS) {
    throw new PagevaultError(ErrorCode.LIMIT_EXCEEDED, `The archive asks for ${iterations} PBKDF2 iterations; at most ${KDF_MAX_ITERATIONS} are allowed.`);
  }
}

/** The passphrase as the KDF sees it: Unicode NFC (one form for every keyboard and platform). */
export function normalizePassphrase(passphrase: string): string {
  return passphrase.normalize('NFC');
}

/** PBKDF2-HMAC-SHA256 of the passphrase as given (callers normalise it); shared with the remote layout. */
export async function pbkdf2(passphrase: string, salt: Uint8Array, iterations: number, bits: number): Promise<Uint8Array> {
  const material = await subtle().importKey('raw', buf(new TextEncoder().encode(passphrase)), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await subtle().deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: buf(salt), iterations }, material, bits));
}

/**
 * Derives the AES key and key check of a format `version` for a passphrase (slow: one PBKDF2 run,
 * two for v1). `exact` skips NFC normalisation (only for v1 files written before it).
 */
export async function deriveArchiveKeys(passphrase: string, salt: Uint8Array, iterations: number, version = 2, exact = false): Promise<ArchiveKeys> {
  const text = exact ? passphrase : normalizePassphrase(passphrase);
  if (version === 1) {
    const bits = await pbkdf2(text, salt, iterations, 512);
    const aes = await subtle().importKey('raw', buf(bits.subarray(0, 32)), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    const mac = await subtle().importKey('raw', buf(bits.subarray(32, 64)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const keyCheck = toHex(new Uint8Array(await subtle().sign('HMAC', mac, buf(V1_KEY_CHECK_LABEL))));
    bits.fill(0);
    return { aes, keyCheck };
  }
  const bits = await pbkdf2(text, salt, iterations, 256);
  const root = await subtle().importKey('raw', buf(bits), 'HKDF', false, ['deriveBits']);
  bits.fill(0);
  const expand = async (info: Uint8Array) =>
    new Uint8Array(await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: buf(salt), info: buf(info) }, root, 256));
  const aesBits = await expand(V2_AES_LABEL);
  const aes = await subtle().importKey('raw', buf(aesBits), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  aesBits.fill(0);
  return { aes, keyCheck: toHex(await expand(V2_KEY_CHECK_LABEL)) };
}

/** Derives through the cache when one is given. */
export function deriveCached(passphrase: string, saltHex: string, iterations: number, version: number, cache: ArchiveKeyCache | undefined, exact = false): Promise<ArchiveKeys> {
  const salt = fromHex(saltHex) ?? new Uint8Array(0);
  if (cache === undefined) return deriveArchiveKeys(passphrase, salt, iterations, version, exact);
  const text = exact ? passphrase : normalizePassphrase(passphrase);
  const id = `${version}:${iterations}:${saltHex}:${toHex(new Sha256().update(new TextEncoder().encode(text)).digest())}`;
  let keys = cache.get(id);
  if (keys === undefined) {
    keys = deriveArchiveKeys(text, salt, iterations, version, true);
    cache.set(id, keys);
    keys.catch(() => cache.delete(id));
  }
  return keys;
}

/** Random bytes from WebCrypto. */
export function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

function nonce(prefix: Uint8Array, index: number): Uint8Array {
  const out = new Uint8Array(NONCE_PREFIX_BYTES + 4);
  out.set(prefix, 0);
  new DataView(out.buffer).setUint32(NONCE_PREFIX_BYTES, index);
  return out;
}

/** What a sealed record is bound to. */
export interface RecordBinding {
  readonly headerDigest: Uint8Array;
  readonly index: number;
  readonly last: boolean;
  readonly kind: number;
  readonly codec: number;
}

function associatedData(b: RecordBinding): Uint8Array {
  const out = new Uint8Array(AAD_BYTES);
  out.set(b.headerDigest, 0);
  const view = new DataView(out.buffer);
  view.setUint32(32, b.index);
  out[36] = b.last ? 1 : 0;
  out[37] = b.kind;
  out[38] = b.codec;
  return out;
}

/** Encrypts one record or the table. */
export async function seal(keys: ArchiveKeys, noncePrefix: Uint8Array, binding: RecordBinding, plain: Uint8Array): Promise<Uint8Array> {
  const params = { name: 'AES-GCM', iv: buf(nonce(noncePrefix, binding.index)), additionalData: buf(associatedData(binding)) };
  return new Uint8Array(await subtle().encrypt(params, keys.aes, buf(plain)));
}

/**
 * Decrypts one record or the table.
 * @throws INTEGRITY when authentication fails (the passphrase was already checked, so this is damage or tampering).
 */
export async function open(keys: ArchiveKeys, noncePrefix: Uint8Array, binding: RecordBinding, sealed: Uint8Array): Promise<Uint8Array> {
  const params = { name: 'AES-GCM', iv: buf(nonce(noncePrefix, binding.index)), additionalData: buf(associatedData(binding)) };
  try {
    return new Uint8Array(await subtle().decrypt(params, keys.aes, buf(sealed)));
  } catch (error) {
    throw new PagevaultError(ErrorCode.INTEGRITY, `Encrypted record ${recordLabel(binding.index)} failed authentication.`, { index: binding.index }, { cause: error });
  }
}

function recordLabel(index: number): string {
  if (index === TABLE_RECORD_INDEX) return '(chunk table)';
  if (index === METADATA_RECORD_INDEX) return '(metadata)';
  return String(index);
}
