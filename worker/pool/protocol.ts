/** Messages between a database worker and its compression helpers. Types only. */
import type { ChunkCodec } from '../../src/format/codec';

export interface CompressRequest {
  readonly id: number;
  /** Plaintext chunks; their buffers are transferred. */
  readonly chunks: readonly Uint8Array[];
}

export type CompressedChunk = { readonly codec: ChunkCodec; readonly data: Uint8Array } | { readonly error: string };

export interface CompressResponse {
  readonly id: number;
  readonly results: readonly CompressedChunk[];
}
