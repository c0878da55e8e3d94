/**
 * A warm `pages` backup in a real browser is the saved head: its image hash comes from the helper
 * that hashed the saved bytes (a transferred buffer, off the query thread), no chunk is written,
 * and the backup is the database: it verifies, downloads to those bytes, and restores.
 */
import { describe, expect, it } from 'vitest';
import { contentDigest, fillMegabytes, open, rawStore, uniqueName } from './helpers';

async function chunkCount(name: string): Promise<number> {
  const db = await rawStore(name);
  const keys = await db.getAllKeys('chunks');
  db.close();
  return keys.length;
}

async function hex(blob: Blob): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('a warm pages backup is the head', () => {
  it('after a save and after a reopen: no chunk written, the downloaded file has its SHA-256, it restores', async () => {
    const name = uniqueName('head-backup');
    const vault = await open(name);
    await fillMegabytes(vault, 8);
    await vault.flush();
    const digest = await contentDigest(vault);
    const chunks = await chunkCount(name);
    const first = await vault.backup.wait((await vault.backup.create({ method: 'pages' })).backupId);
    const file = await vault.backup.download(first.backupId, { format: 'sqlite' });
    expect({ source: first.source, storedBytes: first.storedBytes, chunks: await chunkCount(name), fileHash: await hex(file.blob) }).toEqual({
      source: 'head',
      storedBytes: 0,
      chunks,
      fileHash: first.sha256,
    });
    await vault.close();

    // Reopened: the head read back at open was hashed on a helper too.
    const again = await open(name);
    const second = await again.backup.wait((await again.backup.create({ method: 'pages' })).backupId);
    expect({ source: second.source, sha256: second.sha256 }).toEqual({ source: 'head', sha256: first.sha256 });
    const verified = await again.backup.verify(second.backupId);
    expect(verified.ok).toBe(true);
    await again.exec('DELETE FROM item WHERE id % 2 = 0');
    await again.flush();
    await again.backup.restore({ backupId: second.backupId });
    expect(await contentDigest(again)).toBe(digest);
    await again.close();
  });

  it('after saves back to back (each stopping the hash of the head it replaced), the backup is the last head', async () => {
    const name = uniqueName('head-backup-saves');
    const vault = await open(name);
    await fillMegabytes(vault, 8);
    for (let i = 0; i < 4; i++) {
      await vault.exec('UPDATE item SET n = n + 1 WHERE id = ?', [1 + i * 1000]);
      await vault.flush();
    }
    const info = await vault.backup.wait((await vault.backup.create({ method: 'pages' })).backupId);
    const file = await vault.backup.download(info.backupId, { format: 'sqlite' });
    const live = await vault.download({ format: 'sqlite' });
    expect({ source: info.source, fileHash: await hex(file.blob), liveHash: await hex(live.blob) }).toEqual({ source: 'head', fileHash: info.sha256, liveHash: info.sha256 });
    await vault.close();
  });
});
