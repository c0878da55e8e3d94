/**
 * A warm `pages` backup is the saved head: when the live database has no unsaved change (after an
 * autosave or a `flush()`), its head's manifest already names every byte of it in stored chunks, so the
 * backup records that manifest with fresh metadata. No page copy, no export, no chunk written:
 * milliseconds at any size.
 *
 * Invariants:
 * - The manifest recorded is the head taken inside the store's lock (`hold`), and its chunks are
 *   held until the backup's commit: a save or a drop landing in between cannot remove them.
 * - The table counts are read from the live connection in the same synchronous step that checks
 *   it still equals that head (same manifest, nothing unsaved, no transaction open); otherwise
 *   this path gives up and the caller takes the stepped page copy.
 * - The image SHA-256 is the one hashed over the saved bytes when the head was saved or opened
 *   (never vouched for by fingerprints); when it is not known, this path gives up too.
 */
import type { TableCount } from '../../src/protocol';
import { LIVE_HEAD, type Manifest } from '../store/schema';
import type { VaultContext } from './context';
import type { JobContext } from './runner';

/** A head pinned for a backup: record `manifest`, then `release` (after the commit, or on failure). */
export interface HeadCapture {
  readonly manifest: Manifest;
  readonly tables: readonly TableCount[];
  readonly release: () => Promise<void>;
}

/** A save landing between the hash and the hold: try again this many times, then page-copy. */
const ATTEMPTS = 3;

/**
 * The live head pinned with its image hash and table counts, or undefined when the head is not
 * the live database (unsaved changes, a transaction open, a save racing) and a page copy is needed.
 * @throws CANCELLED when the job is cancelled.
 */
export async function captureHead(vault: VaultContext, ctx: JobContext): Promise<HeadCapture | undefined> {
  const { live, store } = vault;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    ctx.signal.throwIfAborted();
    // Unsaved changes: saving them here would make a failed backup leave the vault in a third
    // state (saved, no backup), so the page copy takes them. A transaction open: it waits for it.
    if (live.conn.inTransaction() || live.isDirty) return undefined;
    const head = store.head(LIVE_HEAD);
    if (!head) return undefined;
    const sha256 = await live.headImageHash(head.manifest);
    // A save replaced the head while it was being hashed (that hash was stopped): try its successor.
    if (sha256 === undefined && store.head(LIVE_HEAD) !== head) continue;
    if (sha256 === undefined) return undefined;
    const held = await store.hold(LIVE_HEAD);
    // Synchronous from here to the table counts: nothing can write or save in between.
    const current = held.manifest === head.manifest && store.head(LIVE_HEAD)?.manifest === head.manifest && !live.isDirty && !live.conn.inTransaction();
    if (!current) {
      await held.release();
      continue;
    }
    const tables = live.conn.tables();
    ctx.progress('copy', head.manifest.pageCount, head.manifest.pageCount, 'pages', { from: 0, to: 50 });
    return { manifest: { ...head.manifest, sha256 }, tables, release: held.release };
  }
  return undefined;
}
