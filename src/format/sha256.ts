/**
 * SHA-256: an incremental hasher in plain TypeScript (WebCrypto has no streaming digest) and a
 * one-shot helper over `crypto.subtle`. Hex output is always lowercase.
 *
 * The incremental class exists so a reader can hash a whole database image chunk by chunk
 * without holding it in memory twice. It follows FIPS 180-4 section 6.2.
 */

/** Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL_STATE = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * Incremental SHA-256. Call {@link Sha256.update} any number of times, then {@link Sha256.digest} once.
 * @example
 * const h = new Sha256(); h.update(a); h.update(b); toHex(h.digest());
 */
export class Sha256 {
  readonly #state = new Uint32Array(INITIAL_STATE);
  readonly #block = new Uint8Array(BLOCK_BYTES);
  readonly #w = new Uint32Array(64);
  #blockLength = 0;
  #totalBytes = 0;
  #finished = false;

  /** Feeds more bytes. Calling it after {@link Sha256.digest} is a programming bug and throws a plain Error. */
  update(bytes: Uint8Array): this {
    if (this.#finished) throw new Error('Sha256.update after digest');
    let offset = 0;
    this.#totalBytes += bytes.length;
    if (this.#blockLength > 0) {
      const take = Math.min(BLOCK_BYTES - this.#blockLength, bytes.length);
      this.#block.set(bytes.subarray(0, take), this.#blockLength);
      this.#blockLength += take;
      offset = take;
      if (this.#blockLength < BLOCK_BYTES) return this;
      this.#compress(this.#block, 0);
      this.#blockLength = 0;
    }
    while (offset + BLOCK_BYTES <= bytes.length) {
      this.#compress(bytes, offset);
      offset += BLOCK_BYTES;
    }
    if (offset < bytes.length) {
      this.#block.set(bytes.subarray(offset), 0);
      this.#blockLength = bytes.length - offset;
    }
    return this;
  }

  /** Finishes the hash and returns the 32-byte digest. The hasher cannot be used afterwards. */
  digest(): Uint8Array {
    if (this.#finished) throw new Error('Sha256.digest called twice');
    this.#finished = true;
    const bitsHigh = Math.floor(this.#totalBytes / 0x20000000);
    const bitsLow = (this.#totalBytes * 8) >>> 0;
    const block = this.#block;
    block[this.#blockLength] = 0x80;
    block.fill(0, this.#blockLength + 1);
    if (this.#blockLength + 1 > BLOCK_BYTES - 8) {
      this.#compress(block, 0);
      block.fill(0);
    }
    const view = new DataView(block.buffer, block.byteOffset, BLOCK_BYTES);
    view.setUint32(56, bitsHigh);
    view.setUint32(60, bitsLow);
    this.#compress(block, 0);
    const out = new Uint8Array(DIGEST_BYTES);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(i * 4, this.#state[i]!);
    return out;
  }

  #compress(bytes: Uint8Array, offset: number): void {
    const w = this.#w;
    for (let i = 0; i < 16; i++) {
      const p = offset + i * 4;
      w[i] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const s = this.#state;
    let a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!, e = s[4]!, f = s[5]!, g = s[6]!, h = s[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    s[0] = (s[0]! + a) | 0; s[1] = (s[1]! + b) | 0; s[2] = (s[2]! + c) | 0; s[3] = (s[3]! + d) | 0;
    s[4] = (s[4]! + e) | 0; s[5] = (s[5]! + f) | 0; s[6] = (s[6]! + g) | 0; s[7] = (s[7]! + h) | 0;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX[byte]!;
  return out;
}

/** Bytes of a hex string, or undefined when it is not even-length lowercase-or-uppercase hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** True for a 64-character lowercase hex SHA-256. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** Raw 32-byte SHA-256 of the bytes, through WebCrypto. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/**
 * Lowercase hex SHA-256 of the bytes, through WebCrypto.
 * @example await sha256Hex(new TextEncoder().encode('abc')) // 'ba7816bf...'
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await sha256(bytes));
}
