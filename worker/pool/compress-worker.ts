/** Entry of a compression helper worker: compresses and checks chunks sent by a database worker. */
import { compressChecked } from './compress-chunks';
import type { CompressRequest, CompressResponse } from './protocol';

self.onmessage = (event: MessageEvent<CompressRequest>) => {
  const { id, chunks } = event.data;
  const results = compressChecked(chunks);
  const transfer = results.flatMap((r) => ('data' in r ? [r.data.buffer as ArrayBuffer] : []));
  (self as unknown as Worker).postMessage({ id, results } satisfies CompressResponse, transfer);
};
