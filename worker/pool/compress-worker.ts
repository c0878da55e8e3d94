/** Entry of a helper worker: compresses or decodes chunks for a database worker. */
import { compressChecked, decodeAll, imageSha256 } from './compress-chunks';
import type { HelperRequest, HelperResponse } from './protocol';

self.onmessage = async (event: MessageEvent<HelperRequest>) => {
  const request = event.data;
  if (request.op === 'hash') {
    (self as unknown as Worker).postMessage({ id: request.id, results: [], sha256: await imageSha256(request.image) } satisfies HelperResponse);
    return;
  }
  const results = request.op === 'compress' ? compressChecked(request.chunks) : decodeAll(request.chunks);
  const transfer = results.flatMap((r) => ('data' in r ? [r.data.buffer as ArrayBuffer] : 'plain' in r ? [r.plain.buffer as ArrayBuffer] : []));
  (self as unknown as Worker).postMessage({ id: request.id, results } satisfies HelperResponse, transfer);
};
