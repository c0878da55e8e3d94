/**
 * A compression helper whose work throws (hash-wasm failing to instantiate, memory) answers with
 * `failed` instead of staying silent: its caller does the work itself (compress, decode) or gives
 * up with WORKER (the head's image hash, which a backup then does without). Before, the caller
 * waited for good: a backup waiting for the head's hash hung (WebKit, CI).
 * The real helper in a real browser: test/browser/compress-helper.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HelperRequest, HelperResponse } from '../../worker/pool/protocol';

/** A helper that answers every request as failed, as the real one now does when its work throws. */
class FailingHelper {
  static silent = false;
  onmessage: ((event: MessageEvent<HelperResponse>) => void) | null = null;
  onerror: (() => void) | null = null;
  onmessageerror: (() => void) | null = null;
  readonly seen: HelperRequest['op'][] = [];
  postMessage(request: HelperRequest): void {
    this.seen.push(request.op);
    if (request.op === 'cancel' || FailingHelper.silent) return;
    setTimeout(() => this.onmessage?.({ data: { id: request.id, results: [], failed: 'RangeError: out of memory' } } as unknown as MessageEvent<HelperResponse>), 1);
  }
  terminate(): void {}
}

const started: FailingHelper[] = [];
vi.mock('../../worker/pool/spawn', () => ({
  spawnCompressor: () => {
    const helper = new FailingHelper();
    started.push(helper);
    return helper;
  },
}));

afterEach(() => {
  started.length = 0;
  FailingHelper.silent = false;
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('a compression helper whose work throws', () => {
  it('still gets an answer to each request: compress and decode run here instead, the image hash fails with WORKER', async () => {
    vi.stubGlobal('Worker', FailingHelper);
    const { Compressor } = await import('../../worker/pool/compressor');
    const { compressChecked } = await import('../../worker/pool/compress-chunks');
    const pool = new Compressor(2);
    const chunks = Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(`chunk ${i} `.repeat(500)));
    const compressed = await pool.compress(chunks);
    expect(compressed).toEqual(compressChecked(chunks));
    const decoded = await pool.decode(compressed.map((c, i) => ({ ...(c as Exclude<typeof c, { error: string }>), size: chunks[i]!.length })));
    expect(decoded.map((d) => ('plain' in d ? new TextDecoder().decode(d.plain) : d))).toEqual(chunks.map((c) => new TextDecoder().decode(c)));
    await expect(pool.hashImage(new Uint8Array(1 << 16))).rejects.toMatchObject({ code: 'WORKER' });
    expect(started.length).toBeGreaterThan(0);
    expect(started.flatMap((h) => h.seen)).toEqual(expect.arrayContaining(['compress', 'decode', 'hash']));
    pool.close();
  });

  it('is replaced when it stays silent with work pending: the work settles through the fallback, the next goes to a new helper', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    vi.stubGlobal('Worker', FailingHelper);
    FailingHelper.silent = true;
    const { Compressor, HELPER_STALL_MS } = await import('../../worker/pool/compressor');
    const { compressChecked } = await import('../../worker/pool/compress-chunks');
    const pool = new Compressor(2);
    const chunks = Array.from({ length: 12 }, (_, i) => new TextEncoder().encode(`silent ${i} `.repeat(300)));
    let hashed: unknown;
    const hash = pool.hashImage(new Uint8Array(1 << 16)).then(
      () => 'answered',
      (error: { code: string }) => (hashed = error.code),
    );
    let compressed: unknown;
    const compressing = pool.compress(chunks).then((c) => (compressed = c));
    await vi.advanceTimersByTimeAsync(HELPER_STALL_MS - 1_000);
    expect(hashed).toBeUndefined(); // still waiting: a slow helper is not a stuck one
    expect(compressed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(HELPER_STALL_MS); // overdue, then checked once more a second later
    await hash;
    await compressing;
    expect(hashed).toBe('WORKER');
    expect(compressed).toEqual(compressChecked(chunks));
    // Later work goes to a new helper (this one answers, as failed: done here).
    const helpersBefore = started.length;
    FailingHelper.silent = false;
    const later = pool.compress(chunks.slice(0, 2));
    await vi.advanceTimersByTimeAsync(10); // its answer, then the batch redone in a task of its own
    expect(await later).toEqual(compressChecked(chunks.slice(0, 2)));
    expect(started.length).toBeGreaterThan(helpersBefore);
    pool.close();
  });
});
