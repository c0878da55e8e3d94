/**
 * The change fingerprint that lets a save skip SHA-256 for unchanged chunks (#12.8): its odds must
 * be what the README says, also for the changes SQLite makes most often to chunk 0, the file
 * change counter (offset 24) and version-valid-for (offset 92) of the header alone.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE, loadFingerprint } from '../../worker/jobs/image';

describe('chunk fingerprints', () => {
  it('tell apart 65,536 chunk-0 images that differ only in the header change counter', async () => {
    const fingerprint = await loadFingerprint();
    const chunk = new Uint8Array(CHUNK_SIZE);
    chunk.set(new TextEncoder().encode('SQLite format 3\0'));
    for (let i = 100; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
    const view = new DataView(chunk.buffer);
    const seen = new Set<string>();
    for (let counter = 0; counter < 65_536; counter++) {
      view.setUint32(24, counter);
      view.setUint32(92, counter);
      seen.add(fingerprint(chunk));
    }
    // With 53 bits whose low lanes ignore high bits this collided (about 4 pairs expected among
    // 65,536 values drawn from ~2^29); 128-bit XXH3 has no collision here.
    expect(seen.size).toBe(65_536);
  });

  it('change for every single bit flipped in a chunk', async () => {
    const fingerprint = await loadFingerprint();
    const chunk = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    const original = fingerprint(chunk);
    for (let bit = 0; bit < chunk.length * 8; bit += 13) {
      chunk[bit >> 3]! ^= 1 << (bit & 7);
      expect(fingerprint(chunk)).not.toBe(original);
      chunk[bit >> 3]! ^= 1 << (bit & 7);
    }
    expect(fingerprint(chunk)).toBe(original);
  });
});
