/** SHA-256 for the CLI through node:crypto, which hashes a buffer in place (WebCrypto copies it first). */
import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256 of `bytes`, without copying them. */
export function sha256HexInPlace(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
