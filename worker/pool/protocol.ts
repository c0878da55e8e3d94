/** Messages between a database worker and its helpers. Types only. */
import type { ChunkCodec } from '../../src/format/codec';

/** A chunk as stored, to be decoded. */
export interface StoredForm {
  readonly codec: ChunkCodec;
  readonly data: Uint8Array;
  /** Plaintext length: decoding never produces more. */
  readonly size: number;
}

/** Work for a helper: compress plaintext chunks, or decode stored ones. Buffers are transferred. */
export type HelperRequest =
  | { readonly id: number; readonly op: 'compress'; readonly chunks: readonly Uint8Array[] }
  | { readonly id: number; readonly op: 'decode'; readonly chunks: readonly StoredForm[] };

export type CompressedChunk = { readonly codec: ChunkCodec; readonly data: Uint8Array } | { readonly error: string };
export type DecodedChunk = { readonly plain: Uint8Array } | { readonly error: string };

export interface HelperResponse {
  readonly id: number;
  readonly results: readonly (CompressedChunk | DecodedChunk)[];
}
