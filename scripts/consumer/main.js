// A fresh app that installed the pagevault tarball, built with Vite's DEFAULT config.
// scripts/consumer-check.mjs drives these functions in Chromium and checks what they return.
import { openVault, isPagevaultError } from 'pagevault';
// The strict-CSP path: the app constructs the worker itself.
import VaultWorker from 'pagevault/worker?worker';

/**
 * Opens a vault, writes rows, backs up, downloads the backup, changes the rows, restores, and
 * reads back. Returns the downloaded file's bytes too, for the CLI to verify.
 */
async function backupAndRestore(name) {
  const vault = await openVault({ name });
  await vault.exec('CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  for (const body of ['alpha', 'beta', 'gamma']) await vault.exec('INSERT INTO note (body) VALUES (?)', [body]);
  const { backupId } = await vault.backup.create({ note: 'consumer check' });
  const backup = await vault.backup.wait(backupId);
  const download = await vault.backup.download(backupId);
  await vault.exec('DELETE FROM note WHERE body = ?', ['beta']);
  const afterDelete = await vault.query('SELECT body FROM note ORDER BY id');
  const restore = await vault.backup.restore({ backupId });
  const restored = await vault.query('SELECT body FROM note ORDER BY id');
  const listed = (await vault.backup.list()).map((b) => b.backupId);
  await vault.close();
  return {
    backupListed: listed.includes(backupId),
    backupId: backup.backupId,
    afterDelete: afterDelete.map((r) => r.body),
    restored: restored.map((r) => r.body),
    undoKept: typeof restore.previousBackupId === 'string' && listed.includes(restore.previousBackupId),
    filename: download.filename,
    archive: Array.from(new Uint8Array(await download.blob.arrayBuffer())),
  };
}

/** Uploads a downloaded backup file into another vault, restores it and reads the rows. */
async function uploadAndRestore(name, bytes) {
  const vault = await openVault({ name });
  const { backupId } = await vault.backup.upload(new Blob([new Uint8Array(bytes)]));
  await vault.backup.restore({ backupId });
  const rows = await vault.query('SELECT body FROM note ORDER BY id');
  await vault.close();
  return rows.map((r) => r.body);
}

/** Reopens a vault (after a page reload) and reads its rows: the data lives in IndexedDB. */
async function readBack(name) {
  const vault = await openVault({ name });
  const rows = await vault.query('SELECT body FROM note ORDER BY id');
  await vault.close();
  return rows.map((r) => r.body);
}

/** Opens a vault on a worker the app made, with the wasm served from the app's own path. */
async function ownWorkerAndWasm(name, wasmUrl) {
  const vault = await openVault({ name, worker: new VaultWorker(), wasmUrl });
  await vault.exec('CREATE TABLE t (x INTEGER)');
  await vault.exec('INSERT INTO t VALUES (?)', [42]);
  const rows = await vault.query('SELECT x FROM t');
  await vault.close();
  return rows.map((r) => r.x);
}

/** A closed vault rejects with a typed error whose code survives the package boundary. */
async function typedError(name) {
  const vault = await openVault({ name });
  await vault.close();
  try {
    await vault.query('SELECT 1');
    return 'no error';
  } catch (error) {
    return isPagevaultError(error) ? error.code : `untyped: ${String(error)}`;
  }
}

window.consumer = { backupAndRestore, uploadAndRestore, readBack, ownWorkerAndWasm, typedError };
document.querySelector('#status').textContent = 'ready';
