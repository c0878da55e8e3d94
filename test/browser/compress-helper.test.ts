/**
 * The compression helper answers every request, in every engine, even one whose work throws: a
 * silent helper left a backup waiting for the head's image hash for good (WebKit, CI). What the
 * database worker then does with the failure: test/node/compress-helper-failure.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { HelperRequest, HelperResponse } from '../../worker/pool/protocol';

function ask(helper: Worker, request: HelperRequest, transfer: Transferable[] = []): Promise<HelperResponse | 'no answer'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), 10_000);
    helper.addEventListener('message', function answered(event: MessageEvent<HelperResponse>) {
      if (event.data.id !== request.id) return;
      clearTimeout(timer);
      helper.removeEventListener('message', answered);
      resolve(event.data);
    });
    helper.postMessage(request, transfer);
  });
}

describe('compression helper', () => {
  it('answers a request whose work throws with failed, then goes on serving', async () => {
    const helper = new Worker(new URL('../../worker/pool/compress-worker.ts', import.meta.url), { type: 'module' });
    try {
      // Not an image: hashing it throws inside the helper.
      const broken = await ask(helper, { id: 1, op: 'hash', image: null as unknown as Uint8Array });
      expect(broken).toMatchObject({ id: 1, results: [], failed: expect.stringContaining('TypeError') });
      const image = new Uint8Array(300_000).map((_, i) => i * 7);
      const expected = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', image)), (b) => b.toString(16).padStart(2, '0')).join('');
      const copy = image.slice();
      expect(await ask(helper, { id: 2, op: 'hash', image: copy }, [copy.buffer])).toMatchObject({ id: 2, sha256: expected });
    } finally {
      helper.terminate();
    }
  });
});
