/** Messages between a database worker and its helpers. Types only. */
import type { StoredChunk, StoredForm } from '../../src/format/codec';

/** Work for a helper: compress plaintext chunks, or decode stored ones. Buffers are transferred. */
export type HelperRequest =
  | { readonly id: number; readonly op: 'compress'; readonly chunks: readonly Uint8Array[] }
  | { readonly id: number; readonly op: 'decode'; readonly chunks: readonly Omit<StoredChunk, 'key'>[] }
  | { readonly id: number; readonly op: 'hash'; readonly image: Uint8Array };

export type CompressedChunk = StoredForm | { readonly error: string };
export type DecodedChunk = { readonly plain: Uint8Array } | { readonly error: string };

export interface HelperResponse {
  readonly id: number;
  readonly results: readonly (CompressedChunk | DecodedChunk)[];
  /** For `hash`: the lowercase hex SHA-256 of the image. */
  readonly sha256?: string;
}
