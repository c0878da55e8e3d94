/**
 * Copies of the live database for a backup: a page copy through SQLite's backup API, or
 * `VACUUM INTO` a scratch file. Both wait while the application holds a write transaction.
 */
import { pageCopy, vacuumCopy } from '../engine';
import { BUSY_RETRY_MS, type CapturedImage, type VaultContext } from './context';
import { sleep, yieldToEventLoop } from './image';
import type { JobContext } from './runner';

/** Bytes copied per page-copy step: small enough to keep queries answered within a few ms. */
const STEP_BYTES = 4 * 1024 * 1024;

/** Page copy through the backup API, yielding between steps so the page is served. */
export async function copyPages(vault: VaultContext, ctx: JobContext): Promise<CapturedImage> {
  const conn = vault.live.conn;
  const pagesPerStep = Math.max(16, Math.floor(STEP_BYTES / conn.pageSize));
  const copy = pageCopy(conn, pagesPerStep);
  try {
    for (;;) {
      ctx.signal.throwIfAborted();
      const outcome = copy.step();
      ctx.progress('copy', copy.pagesDone, copy.pagesTotal, 'pages', { from: 0, to: 50 });
      if (outcome === 'done') break;
      if (outcome === 'busy') await sleep(BUSY_RETRY_MS);
      else await yieldToEventLoop();
    }
    return copy.result();
  } finally {
    copy.close();
  }
}

/** `VACUUM INTO` a scratch file; waits while the application holds a write transaction. */
export async function copyVacuum(vault: VaultContext, ctx: JobContext): Promise<CapturedImage> {
  const conn = vault.live.conn;
  while (conn.inTransaction()) {
    ctx.signal.throwIfAborted();
    await sleep(BUSY_RETRY_MS);
  }
  ctx.progress('vacuum', 0, conn.pageCount, 'pages', { from: 0, to: 50 });
  const result = vacuumCopy(conn);
  ctx.progress('vacuum', 1, 1, 'pages', { from: 0, to: 50 });
  return result;
}
