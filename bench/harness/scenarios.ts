/**
 * The benchmark scenarios, run on the page against one vault (its own worker), each a step the
 * Node driver calls in order so it can sample the renderer's memory around it. Baselines run in
 * a separate bench worker (baseline-worker.ts) on the same image, in the same browser run, on a
 * page of their own (another renderer).
 *
 * Order of one pass: prepare (generate, never saved) -> 3 cold backup + download -> flush ->
 * baselines -> 1 save of one-row changes -> 2 warm pages backup -> 4 warm download ->
 * 5 incremental files -> 6 restore -> 6b verify -> 6c upload.
 */
import { wrap, type Remote } from 'comlink';
import { isPagevaultError, openVault, type Vault } from '../../src/index';
import { RowSource, generate, imageBytes, insertDocs, type GenerateResult } from '../generate';
import type { BaselineApi } from './baseline-worker';
import { watchResponsiveness, type Responsiveness } from './responsiveness';

/** Long enough that no autosave runs during a pass: the bench decides when to save. */
const NO_AUTOSAVE_MS = 3_600_000;

interface PassState {
  vault: Vault;
  name: string;
  seed: number;
  docs: number;
  /** The warm `pages` backup (scenario 2), the base of the first incremental file. */
  warmBackupId?: string;
}

let pass: PassState | undefined;

function need(): PassState {
  if (!pass) throw new Error('bench: call prepare() first');
  return pass;
}

/** Sends a file to the Node driver, which keeps it for the native baselines and format scenarios. */
async function sendToDriver(file: string, body: Blob): Promise<void> {
  const response = await fetch(`/__bench/file?name=${encodeURIComponent(file)}`, { method: 'POST', body });
  if (!response.ok) throw new Error(`bench: upload of ${file} failed with ${response.status}`);
}

async function timed<T>(body: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await body();
  return { value, ms: performance.now() - started };
}

/** Runs `body` while watching responsiveness. */
async function watched<T>(body: () => Promise<T>): Promise<T & { responsiveness: Responsiveness }> {
  const watch = watchResponsiveness(need().vault);
  try {
    const value = await body();
    return { ...value, responsiveness: await watch.stop() };
  } catch (error) {
    await watch.stop();
    throw error;
  }
}

export type DownloadOutcome = { available: true; blob: Blob; ms: number } | { available: false; reason: string };

/** `vault.backup.download`, or why it is not served by this build of the worker. */
async function download(backupId: string, since?: string): Promise<DownloadOutcome> {
  try {
    const { value, ms } = await timed(() => need().vault.backup.download(backupId, since === undefined ? { format: 'archive' } : { format: 'archive', since }));
    return { available: true, blob: value.blob, ms };
  } catch (error) {
    // A PagevaultError is a real failure; anything else means the worker does not serve the method yet.
    if (isPagevaultError(error)) throw error;
    return { available: false, reason: `backup.download is not available in this build (${error instanceof Error ? error.message : String(error)})` };
  }
}

function describeDownload(outcome: DownloadOutcome): { available: boolean; ms?: number; bytes?: number; reason?: string } {
  return outcome.available ? { available: true, ms: outcome.ms, bytes: outcome.blob.size } : { available: false, reason: outcome.reason };
}

/** Opens a fresh vault and fills it with the deterministic database; nothing is saved yet. */
export async function prepare(options: { name: string; targetBytes: number; seed: number }): Promise<GenerateResult> {
  if (pass) await finish();
  const vault = await openVault({ name: options.name, autosaveMs: NO_AUTOSAVE_MS });
  pass = { vault, name: options.name, seed: options.seed, docs: 0 };
  const result = await generate(vault, { targetBytes: options.targetBytes, seed: options.seed });
  pass.docs = result.docs;
  return result;
}

/**
 * Reopens the pass's vault after the renderer crashed (the driver loaded the page again): the
 * steps after the crash run on what the vault saved, so one step's crash does not hide the rest.
 */
export async function resume(options: { name: string; seed: number; docs: number; warmBackupId?: string }): Promise<{ resumed: true }> {
  const vault = await openVault({ name: options.name, autosaveMs: NO_AUTOSAVE_MS });
  pass = { vault, name: options.name, seed: options.seed, docs: options.docs, ...(options.warmBackupId === undefined ? {} : { warmBackupId: options.warmBackupId }) };
  return { resumed: true };
}

/** The warm backup's id, for `resume` (the page's state dies with a crashed renderer). */
export async function state(): Promise<{ warmBackupId?: string }> {
  return pass?.warmBackupId === undefined ? {} : { warmBackupId: pass.warmBackupId };
}

/** Scenario 3: a cold full backup of a database never saved, then its archive download. */
export async function coldBackupDownload() {
  const { vault } = need();
  return watched(async () => {
    const backup = await timed(async () => vault.backup.wait((await vault.backup.create({ method: 'pages', note: 'bench cold' })).backupId));
    const file = await download(backup.value.backupId);
    if (file.available) await sendToDriver('archive-cold', file.blob);
    return { backupMs: backup.ms, storedBytes: backup.value.storedBytes, sizeBytes: backup.value.sizeBytes, download: describeDownload(file) };
  });
}

/** Saves now; the first save after the cold backup mostly finds its chunks already stored. */
export async function flush() {
  const { value, ms } = await timed(() => need().vault.flush());
  return { ...value, wallMs: ms };
}

/** The bench worker the baselines run in, kept between the driver's calls (one per baseline). */
let baselineWorker: { worker: Worker; remote: Remote<BaselineApi> } | undefined;

/**
 * Starts a bench worker on vault `name`'s saved head (read from IndexedDB) for the baselines. The
 * driver calls this from a page of its own, in another renderer than the vault's, then one
 * `baseline` call per figure: a baseline that crashes its renderer (at 500 MB) costs that figure
 * and the page, and the driver goes on with the next one on a new page.
 */
export async function baselineOpen(options: { name: string }) {
  const worker = new Worker(new URL('./baseline-worker.ts', import.meta.url), { type: 'module', name: 'pagevault-bench-baselines' });
  baselineWorker = { worker, remote: wrap<BaselineApi>(worker) };
  return baselineWorker.remote.load(options.name);
}

/** The baselines by name, in the order the driver calls them (naiveRestore reads what naiveSave put). */
const BASELINES = {
  exportMs: (remote: Remote<BaselineApi>, runs: number) => remote.exportMs(runs),
  pieces: (remote: Remote<BaselineApi>) => remote.savePieces(),
  naive: (remote: Remote<BaselineApi>) => remote.naiveSave(),
  naiveRestore: (remote: Remote<BaselineApi>) => remote.naiveRestore(),
  clear: (remote: Remote<BaselineApi>) => remote.clear(),
} as const;

/** One baseline on the worker `baselineOpen` started. */
export async function baseline(options: { which: keyof typeof BASELINES; runs: number }) {
  if (!baselineWorker) throw new Error('bench: call baselineOpen() first');
  return BASELINES[options.which](baselineWorker.remote, options.runs);
}

/** Ends the baselines' worker (its memory is freed). */
export function baselineClose(): void {
  baselineWorker?.worker.terminate();
  baselineWorker = undefined;
}

/** Scenario 1: `runs` saves, each after a one-row change at a different place. */
export async function saveOneRow(options: { runs: number }) {
  const state = need();
  const source = new RowSource(state.seed + 1);
  const ids = await state.vault.query<{ id: number }>('SELECT id FROM doc ORDER BY id');
  return watched(async () => {
    const saves = [];
    for (let i = 0; i < options.runs; i++) {
      const id = ids[source.int(ids.length)]!.id;
      await state.vault.exec('UPDATE doc SET meta = ? WHERE id = ?', [source.meta(id), id]);
      const { value, ms } = await timed(() => state.vault.flush());
      saves.push({ ...value, wallMs: ms });
    }
    return { saves };
  });
}

/** Scenario 2: a `pages` backup of a saved, unchanged database. */
export async function warmPagesBackup() {
  const state = need();
  return watched(async () => {
    const { value, ms } = await timed(async () => state.vault.backup.wait((await state.vault.backup.create({ method: 'pages', note: 'bench warm' })).backupId));
    state.warmBackupId = value.backupId;
    return { ms, storedBytes: value.storedBytes, sizeBytes: value.sizeBytes };
  });
}

/** Scenario 4: the archive download of a database already backed up. */
export async function warmDownload() {
  const state = need();
  if (!state.warmBackupId) throw new Error('bench: warmPagesBackup() first');
  const id = state.warmBackupId;
  return watched(async () => {
    const file = await download(id);
    if (file.available) await sendToDriver('archive-warm', file.blob);
    return describeDownload(file);
  });
}

/** Scenario 5: incremental files after appending 1% new rows, then after updating 0.1% of rows. */
export async function incremental() {
  const state = need();
  if (!state.warmBackupId) throw new Error('bench: warmPagesBackup() first');
  const { vault } = state;
  const source = new RowSource(state.seed + 2);
  const step = async (base: string) => {
    const backup = await timed(async () => vault.backup.wait((await vault.backup.create({ method: 'pages' })).backupId));
    const file = await download(backup.value.backupId, base);
    return { backupId: backup.value.backupId, backupMs: backup.ms, storedBytes: backup.value.storedBytes, download: describeDownload(file) };
  };
  return watched(async () => {
    const appendRows = Math.max(1, Math.round(state.docs * 0.01));
    const before = await imageBytes(vault);
    await insertDocs(vault, source, appendRows);
    const append = { rows: appendRows, grewBytes: (await imageBytes(vault)) - before, ...(await step(state.warmBackupId!)) };
    const ids = await vault.query<{ id: number }>('SELECT id FROM doc ORDER BY id');
    const updateRows = Math.max(1, Math.round(ids.length * 0.001));
    const picked = Array.from({ length: updateRows }, () => ids[source.int(ids.length)]!.id);
    await vault.exec(`UPDATE doc SET created_at = created_at + 1 WHERE id IN (${picked.join(',')})`);
    const update = { rows: updateRows, ...(await step(append.backupId)) };
    return { append, update };
  });
}

/** Scenario 6: restore of the warm backup (verify every chunk and the image, integrity_check, swap, reopen). */
export async function restore() {
  const state = need();
  if (!state.warmBackupId) throw new Error('bench: warmPagesBackup() first');
  const id = state.warmBackupId;
  return watched(async () => {
    const { value, ms } = await timed(() => state.vault.backup.restore({ backupId: id }));
    const rows = await state.vault.query<{ n: number }>('SELECT count(*) AS n FROM doc');
    return { ms, docsAfter: rows[0]?.n ?? 0, undoBackup: value.previousBackupId !== undefined };
  });
}

/** Scenario 6b: verification of the warm backup (read every chunk back, integrity_check in the sandbox). */
export async function verify() {
  const state = need();
  if (!state.warmBackupId) throw new Error('bench: warmPagesBackup() first');
  const id = state.warmBackupId;
  return watched(async () => {
    const { value, ms } = await timed(() => state.vault.backup.verify(id));
    if (!value.ok) throw new Error(`bench: verification failed: ${value.reason ?? ''}`);
    return { ms };
  });
}

/** Scenario 6c: upload of the warm backup's `.sqlite` file (every check, in the sandbox, then stored). */
export async function upload() {
  const state = need();
  if (!state.warmBackupId) throw new Error('bench: warmPagesBackup() first');
  const { blob } = await state.vault.backup.download(state.warmBackupId, { format: 'sqlite' });
  return watched(async () => {
    const { value, ms } = await timed(() => state.vault.backup.upload(blob, { note: 'bench upload' }));
    await state.vault.backup.drop(value.backupId);
    return { ms, sizeBytes: blob.size };
  });
}

/** Closes the vault and deletes everything it stored. */
export async function finish(): Promise<void> {
  const state = pass;
  pass = undefined;
  if (!state) return;
  await state.vault.close();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(`pagevault:${state.name}`);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** The pass's vault and warm backup, for the scenarios in other files (remote-scenarios.ts). */
export function currentPass(): { vault: Vault; warmBackupId?: string } {
  const { vault, warmBackupId } = need();
  return { vault, ...(warmBackupId === undefined ? {} : { warmBackupId }) };
}
