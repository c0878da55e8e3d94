/** Entry of a helper worker: compresses or decodes chunks for a database worker. */
import { compressChecked, decodeAll, imageSha256, withHashes } from './compress-chunks';
import type { HelperRequest, HelperResponse } from './protocol';

/** Hash requests asked to stop. */
const cancelled = new Set<number>();

self.onmessage = async (event: MessageEvent<HelperRequest>) => {
  const request = event.data;
  if (request.op === 'cancel') {
    cancelled.add(request.id);
    return;
  }
  try {
    await serve(request);
  } catch (error) {
    // Every request gets an answer: one that threw (hash-wasm failing to instantiate, memory) would
    // otherwise leave its caller waiting for good, since a rejection here raises no error event there.
    cancelled.delete(request.id);
    (self as unknown as Worker).postMessage({ id: request.id, results: [], failed: String(error) } satisfies HelperResponse);
  }
};

async function serve(request: Exclude<HelperRequest, { op: 'cancel' }>): Promise<void> {
  if (request.op === 'hash') {
    // Hashed in slices, yielding between them: compression asked meanwhile (the next save) is not
    // held up for the whole image, and a cancelled hash stops early and frees the image.
    const sha256 = await imageSha256(request.image, () => cancelled.has(request.id));
    cancelled.delete(request.id);
    (self as unknown as Worker).postMessage({ id: request.id, results: [], ...(sha256 === undefined ? {} : { sha256 }) } satisfies HelperResponse);
    return;
  }
  const results = request.op === 'compress' ? compressChecked(request.chunks) : await withHashes(decodeAll(request.chunks));
  const transfer = results.flatMap((r) => ('data' in r ? [r.data.buffer as ArrayBuffer] : 'plain' in r ? [r.plain.buffer as ArrayBuffer] : []));
  // The plaintext buffers go back to the pool they came from, unless a result is one (a chunk stored raw).
  const kept = new Set(transfer);
  const returned = request.op === 'compress' ? [...new Set(request.chunks.map((c) => c.buffer as ArrayBuffer))].filter((b) => !kept.has(b)) : [];
  (self as unknown as Worker).postMessage({ id: request.id, results, returned } satisfies HelperResponse, [...transfer, ...returned]);
}
