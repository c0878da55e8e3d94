/** Messages between a database worker and its helpers. Types only. */
import type { StoredChunk, StoredForm } from '../../src/format/codec';

/** Work for a helper: compress plaintext chunks, or decode stored ones. Buffers are transferred. */
export type HelperRequest =
  | { readonly id: number; readonly op: 'compress'; readonly chunks: readonly Uint8Array[] }
  | { readonly id: number; readonly op: 'decode'; readonly chunks: readonly Omit<StoredChunk, 'key'>[] }
  | { readonly id: number; readonly op: 'hash'; readonly image: Uint8Array }
  /** Stops hash request `id` (its answer then has no `sha256`): a newer save made it useless. */
  | { readonly id: number; readonly op: 'cancel' };

export type CompressedChunk = StoredForm | { readonly error: string };
/** A decoded chunk; a helper also sends the SHA-256 (hex) of `plain`, so the re-hash runs off the query thread. */
export type DecodedChunk = { readonly plain: Uint8Array; readonly sha256?: string } | { readonly error: string };

export interface HelperResponse {
  readonly id: number;
  readonly results: readonly (CompressedChunk | DecodedChunk)[];
  /** For `hash`: the lowercase hex SHA-256 of the image. */
  readonly sha256?: string;
  /** For `compress`: the request's chunk buffers no result kept, sent back to be reused. */
  readonly returned?: readonly ArrayBuffer[];
  /** The request threw in the helper (its message): the caller does the work itself or gives up, as when a helper crashes. */
  readonly failed?: string;
}
