/**
 * Archive encryption: PBKDF2-SHA256 turns a passphrase into an AES-256-GCM key and a key-check
 * HMAC key; every chunk record and the chunk table are sealed with AES-GCM (compress, then encrypt).
 *
 * Nonce = 8-byte random per-file prefix + 4-byte big-endian record index (the table uses
 * index 0xffffffff, which no chunk can have). Associated data binds the header digest, the
 * index, a last-record flag, the kind and the codec, so records cannot be moved between files,
 * reordered, truncated or relabelled without failing authentication.
 */
import { PagevaultError } from '../../errors';
import { Sha256, fromHex, toHex } from '../sha256';

export const KDF_MIN_ITERATIONS = 600_000;
export const KDF_MAX_ITERATIONS = 10_000_000;
export const KDF_DEFAULT_ITERATIONS = 600_000;
export const SALT_BYTES = 16;
export const NONCE_PREFIX_BYTES = 8;
/** Record index used in the nonce and associated data of the chunk table. */
export const TABLE_RECORD_INDEX = 0xffffffff;

const KEY_CHECK_LABEL = new TextEncoder().encode('pagevault archive v1 key check');
const DERIVED_BITS = 512; // 256 for AES-GCM, 256 for the key-check HMAC
const AAD_BYTES = 32 + 4 + 1 + 1 + 1;

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const buf = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => bytes as Uint8Array<ArrayBuffer>;

/** Keys derived from one passphrase for one salt. */
export interface ArchiveKeys {
  readonly aes: CryptoKey;
  /** Hex HMAC-SHA256(checkKey, label): compared with the header's `keyCheck`. */
  readonly keyCheck: string;
}

/**
 * Derived keys by (iterations, salt, passphrase digest). Pass the same map to several
 * `openArchive` calls to pay PBKDF2 once per file (e.g. verify, then restore).
 */
export type ArchiveKeyCache = Map<string, Promise<ArchiveKeys>>;

/**
 * Checks the iteration count a file asks for.
 * @throws INVALID_BACKUP below {@link KDF_MIN_ITERATIONS} (we refuse weak files), LIMIT_EXCEEDED above {@link KDF_MAX_ITERATIONS}.
 */
export function checkIterations(iterations: number): void {
  if (iterations < KDF_MIN_ITERATIONS) {
    throw new PagevaultError('INVALID_BACKUP', `The archive asks for ${iterations} PBKDF2 iterations; at least ${KDF_MIN_ITERATIONS} are required.`);
  }
  if (iterations > KDF_MAX_ITERATIONS) {
    throw new PagevaultError('LIMIT_EXCEEDED', `The archive asks for ${iterations} PBKDF2 iterations; at most ${KDF_MAX_ITERATIONS} are allowed.`);
  }
}

/** Derives the AES key and key check for a passphrase (slow: PBKDF2). */
export async function deriveArchiveKeys(passphrase: string, salt: Uint8Array, iterations: number): Promise<ArchiveKeys> {
  const material = await subtle().importKey('raw', buf(new TextEncoder().encode(passphrase)), 'PBKDF2', false, ['deriveBits']);
  const bits = new Uint8Array(await subtle().deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: buf(salt), iterations }, material, DERIVED_BITS));
  const aes = await subtle().importKey('raw', bits.subarray(0, 32), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  const mac = await subtle().importKey('raw', bits.subarray(32, 64), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const keyCheck = toHex(new Uint8Array(await subtle().sign('HMAC', mac, buf(KEY_CHECK_LABEL))));
  bits.fill(0);
  return { aes, keyCheck };
}

/** Derives through the cache when one is given. */
export function deriveCached(passphrase: string, saltHex: string, iterations: number, cache: ArchiveKeyCache | undefined): Promise<ArchiveKeys> {
  const salt = fromHex(saltHex) ?? new Uint8Array(0);
  if (cache === undefined) return deriveArchiveKeys(passphrase, salt, iterations);
  const id = `${iterations}:${saltHex}:${toHex(new Sha256().update(new TextEncoder().encode(passphrase)).digest())}`;
  let keys = cache.get(id);
  if (keys === undefined) {
    keys = deriveArchiveKeys(passphrase, salt, iterations);
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
    throw new PagevaultError('INTEGRITY', `Encrypted record ${binding.index === TABLE_RECORD_INDEX ? '(chunk table)' : binding.index} failed authentication.`, { index: binding.index }, { cause: error });
  }
}
