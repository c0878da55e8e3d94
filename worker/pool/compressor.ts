/**
 * Compression spread over the machine's cores. Compressing is the slowest step of a cold save or
 * backup (fflate ~20 MB/s per core in a Chromium worker), and while it runs in the database
 * worker, the page's queries wait. Helpers take it off that thread and off one core.
 *
 * Invariants:
 * - Results come back in request order, each checked (decoded and compared) by whoever made it.
 * - Where helpers cannot start (no Worker in this realm, a Content-Security-Policy that forbids
 *   them, a helper that crashed), the work runs inline: slower, never lost.
 * - Every request is settled: by the helper's answer (`failed` when its work threw), or, when the
 *   helper crashed, went silent or the pool closed, by the fallback (inline work, or WORKER for a
 *   hash; a backup hashing a copied image then fails with WORKER and can be run again).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { compressChecked, decodeAll, imageSha256, owned } from './compress-chunks';
import type { StoredChunk } from '../../src/format/codec';
import type { CompressedChunk, DecodedChunk, HelperRequest, HelperResponse } from './protocol';
import { spawnCompressor } from './spawn';

/** Chunks per message: enough to amortise the round trip, small enough to spread the work. */
const BATCH = 8;
/**
 * Chunk buffers kept for reuse (16 MiB of 64 KiB buffers): a chunk sent to a helper is copied into
 * a pooled buffer, and the helper sends it back. Without the pool a cold backup of 100 MB allocated
 * (and first-touched) 100 MB of fresh buffers just to hand chunks over.
 */
const POOL_BUFFERS = 256;
/**
 * A helper with work pending that sends nothing for this long is taken for stuck: its work runs
 * inline and a new helper takes the next. In WebKit a helper sometimes never answered an image
 * hash, with no error event (CI; here 3 runs in 22 of test/browser/portable.test.ts with one core
 * kept busy), and the backup waiting for that hash waited for good. A hash of 500 MB takes seconds. A false alarm costs the work done again inline,
 * and a backup whose image hash was on that helper fails with WORKER (retryable).
 */
export const HELPER_STALL_MS = 60_000;

interface Helper {
  readonly worker: Worker;
  readonly pending: Map<number, (response: HelperResponse | Error) => void>;
  /** When the helper last answered, or was given work while it had none. */
  heard: number;
  watchdog?: ReturnType<typeof setTimeout> | undefined;
  /** Ends the helper and settles its work through the fallback; `broken` (default) runs all later work inline. */
  readonly fail: (broken?: boolean) => void;
}

export class Compressor {
  private helpers: Helper[] = [];
  private next = 0;
  private nextId = 1;
  private broken = false;
  private readonly pool: ArrayBuffer[] = [];

  constructor(private readonly size: number) {}

  /**
   * Compressed stored forms of `chunks`, in order, each checked by decoding it again; a chunk
   * whose output does not decode back is `{ error }` (the caller refuses to store it).
   */
  compress(chunks: readonly Uint8Array[]): Promise<CompressedChunk[]> {
    return this.spread(chunks, (batch) => compressChecked(batch), (id, batch) => {
      // Copies (into pooled buffers), transferred: the caller's image stays intact and usable.
      const copies = batch.map((c) => this.pooledCopy(c));
      return { message: { id, op: 'compress', chunks: copies }, transfer: copies.map((c) => c.buffer as ArrayBuffer) };
    }) as Promise<CompressedChunk[]>;
  }

  /** The plaintext of each stored chunk, in order, or `{ error }` for one that does not decode. */
  decode(chunks: readonly Omit<StoredChunk, 'key'>[]): Promise<DecodedChunk[]> {
    return this.spread(chunks, (batch) => decodeAll(batch), (id, batch) => {
      const copies = batch.map((c) => ({ codec: c.codec, size: c.size, data: c.data.slice() }));
      return { message: { id, op: 'decode', chunks: copies }, transfer: copies.map((c) => c.data.buffer as ArrayBuffer) };
    }) as Promise<DecodedChunk[]>;
  }

  /**
   * The SHA-256 of `image`, on a helper (off the query thread, on the other core). The image's
   * buffer is transferred, not copied: the caller must not use `image` afterwards. Where no helper
   * runs, it is hashed here (in slices, no copy). An aborted `signal` stops the helper early.
   * @throws WORKER when the helper stops before answering; CANCELLED when `signal` aborted it.
   */
  async hashImage(image: Uint8Array, signal?: AbortSignal): Promise<string> {
    const helper = this.helper();
    const mine = owned(image);
    if (!helper) return imageSha256(mine);
    const id = this.nextId++;
    const cancel = () => helper.worker.postMessage({ id, op: 'cancel' } satisfies HelperRequest);
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await new Promise<string>((resolve, reject) => {
        this.watch(helper);
        helper.pending.set(id, (response) => {
          if (response instanceof Error) reject(new PagevaultError(ErrorCode.WORKER, 'The helper hashing the image stopped; try again.', {}));
          else if (response.sha256 === undefined) reject(new PagevaultError(ErrorCode.CANCELLED, 'The image hash was no longer needed.', {}));
          else resolve(response.sha256);
        });
        helper.worker.postMessage({ id, op: 'hash', image: mine } satisfies HelperRequest, [mine.buffer as ArrayBuffer]);
      });
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  /** `bytes` copied into a buffer from the pool (or a new one when the pool is empty or it does not fit). */
  private pooledCopy(bytes: Uint8Array): Uint8Array {
    const buffer = this.pool.pop();
    if (!buffer || buffer.byteLength < bytes.byteLength) return bytes.slice();
    const copy = new Uint8Array(buffer, 0, bytes.byteLength);
    copy.set(bytes);
    return copy;
  }

  private recycle(buffers: readonly ArrayBuffer[] | undefined): void {
    for (const buffer of buffers ?? []) if (this.pool.length < POOL_BUFFERS) this.pool.push(buffer);
  }

  close(): void {
    // A terminated helper never answers: its work is settled (batches then run inline, a hash fails
    // WORKER), or a call still reading (a download racing close()) would never end.
    for (const h of this.helpers) h.fail(false);
    this.helpers = [];
  }

  /**
   * Splits `items` into batches, sends each to the next helper (or runs it inline, yielding to the
   * event loop between batches so queries keep being served) and joins the results in order.
   */
  private async spread<T>(
    items: readonly T[],
    inline: (batch: T[]) => (CompressedChunk | DecodedChunk)[],
    toMessage: (id: number, batch: T[]) => { message: HelperRequest; transfer: ArrayBuffer[] },
  ): Promise<(CompressedChunk | DecodedChunk)[]> {
    const batches: ((CompressedChunk | DecodedChunk)[] | Promise<(CompressedChunk | DecodedChunk)[]>)[] = [];
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH);
      const helper = this.helper();
      if (!helper) {
        batches.push(inline(batch));
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      const { message, transfer } = toMessage(this.nextId++, batch);
      batches.push(
        new Promise((resolve) => {
          // A helper that fails hands its batch back to be done inline.
          this.watch(helper);
          // Each batch of a failed helper is redone in a task of its own: the page's queries get in between.
          helper.pending.set(message.id, (response) =>
            resolve(response instanceof Error ? new Promise((done) => setTimeout(() => done(inline(batch)), 0)) : [...response.results]),
          );
          helper.worker.postMessage(message, transfer);
        }),
      );
    }
    return (await Promise.all(batches)).flat();
  }

  private helper(): Helper | undefined {
    if (this.broken || this.size < 1 || typeof Worker === 'undefined') return undefined;
    if (this.helpers.length < this.size) {
      try {
        this.helpers.push(this.start());
      } catch {
        this.broken = true;
        return undefined;
      }
    }
    const helper = this.helpers[this.next++ % this.helpers.length];
    return helper;
  }

  /**
   * Arms `helper`'s watchdog as it is given work (call before adding the work to `pending`). A
   * helper that then answers nothing for HELPER_STALL_MS (monotonic time) is replaced: its work is
   * settled by the fallback, and the next work starts a new helper. An overdue check is made once
   * more a second later, so answers already queued (this thread was busy) are read first.
   */
  private watch(helper: Helper): void {
    if (helper.pending.size === 0) helper.heard = performance.now();
    if (helper.watchdog !== undefined) return;
    let suspect = false;
    const check = () => {
      helper.watchdog = undefined;
      if (helper.pending.size === 0) return; // fail() clears the watchdog, so this helper is still in use
      const silent = performance.now() - helper.heard;
      if (silent < HELPER_STALL_MS) {
        suspect = false;
        helper.watchdog = setTimeout(check, HELPER_STALL_MS - silent);
      } else if (!suspect) {
        suspect = true;
        helper.watchdog = setTimeout(check, 1_000);
      } else {
        this.helpers = this.helpers.filter((h) => h !== helper);
        helper.fail(false);
      }
    };
    helper.watchdog = setTimeout(check, HELPER_STALL_MS);
  }

  private start(): Helper {
    const worker = spawnCompressor();
    const helper: Helper = {
      worker,
      pending: new Map(),
      heard: performance.now(),
      fail: (broken = true) => {
        // The helper could not start or crashed: its batches run inline, later ones too. With broken
        // false (a silent helper being replaced, or the pool closing), later work may use new helpers.
        if (broken) this.broken = true;
        clearTimeout(helper.watchdog);
        helper.watchdog = undefined;
        worker.terminate();
        const waiting = [...helper.pending.values()];
        helper.pending.clear();
        for (const settle of waiting) settle(new Error('compression helper failed'));
      },
    };
    worker.onmessage = (event: MessageEvent<HelperResponse>) => {
      helper.heard = performance.now();
      this.recycle(event.data.returned);
      helper.pending.get(event.data.id)?.(event.data.failed === undefined ? event.data : new Error(event.data.failed));
      helper.pending.delete(event.data.id);
    };
    worker.onerror = () => helper.fail();
    worker.onmessageerror = () => helper.fail();
    return helper;
  }
}

let shared: Compressor | undefined;

/** The compressor of this database worker: one helper per core, at most 4. */
export function sharedCompressor(): Compressor {
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 1;
  shared ??= new Compressor(Math.max(1, Math.min(4, cores)));
  return shared;
}
