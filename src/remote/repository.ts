/**
 * One remote repository (a prefix of a store) read and written through the layout of
 * src/format/remote-layout.ts. Environment-neutral: the worker and the CLI both use it.
 *
 * Invariants:
 * - Chunks are written before the manifest that names them; the manifest is written last (and,
 *   on a store that cannot list, the `index` after it): a crash leaves garbage, never a manifest
 *   naming a missing chunk.
 * - Everything read is checked before use (REMOTE.md "Reading"): a manifest that fails its
 *   checks is not listed, and a chunk that fails is INTEGRITY.
 */
import { ErrorCode, PagevaultError } from '../errors';
import { createRemoteConfig, encodeRemoteConfig, openRemoteConfig, RemoteLayout, RemotePath, type RemoteChunkRef, type RemoteManifest } from '../format/remote-layout';
import type { StoredChunk } from '../format/codec';
import type { RemoteObjectInfo, RemoteStore } from './store';

/** A manifest as listed: its object name and what it says. */
export interface ListedManifest {
  readonly name: string;
  readonly manifest: RemoteManifest;
}

export class RemoteRepository {
  private constructor(
    readonly store: RemoteStore,
    readonly layout: RemoteLayout,
    readonly initialized: boolean,
    private readonly passphrase: string | undefined,
  ) {}

  /**
   * Opens the repository at `store`: reads its config and checks the passphrase. An empty prefix
   * is a repository with nothing in it; its config is written by the first push.
   * @throws PASSPHRASE_REQUIRED, WRONG_PASSPHRASE, NOT_ENCRYPTED, INVALID_BACKUP, REMOTE_DENIED, REMOTE_UNAVAILABLE.
   */
  static async open(store: RemoteStore, passphrase?: string, signal?: AbortSignal): Promise<RemoteRepository> {
    const bytes = await store.get(RemotePath.config, signal);
    if (bytes === undefined) {
      // Nothing to read yet, so no keys: the first push writes the config (ensureConfig) and writes
      // through the repository that returns, never through this one.
      return new RemoteRepository(store, new RemoteLayout(), false, passphrase);
    }
    const { keys } = await openRemoteConfig(bytes, passphrase);
    return new RemoteRepository(store, new RemoteLayout(keys), true, passphrase);
  }

  /** Writes the config if this prefix has none yet (another device may have written one since: then it is used). */
  async ensureConfig(signal?: AbortSignal): Promise<RemoteRepository> {
    if (this.initialized) return this;
    const existing = await this.store.get(RemotePath.config, signal);
    if (existing !== undefined) return RemoteRepository.open(this.store, this.passphrase, signal);
    const { config, keys } = await createRemoteConfig(this.passphrase);
    await this.store.put(RemotePath.config, encodeRemoteConfig(config), signal);
    return new RemoteRepository(this.store, new RemoteLayout(keys), true, this.passphrase);
  }

  get canList(): boolean {
    return typeof this.store.list === 'function';
  }

  /** Every object under `prefix` (chunks/, backups/, marks/). @throws INTERNAL when the store cannot list (callers check `canList`). */
  async list(prefix: string, signal?: AbortSignal): Promise<RemoteObjectInfo[]> {
    if (!this.store.list) throw new PagevaultError(ErrorCode.INTERNAL, 'This remote store cannot list.', {});
    return this.store.list(prefix, signal);
  }

  async putChunk(chunk: StoredChunk, signal?: AbortSignal): Promise<{ name: string; bytes: number }> {
    const name = await this.layout.chunkName(chunk.key);
    const body = await this.layout.encodeChunk(name, chunk);
    await this.store.put(name, body, signal);
    return { name, bytes: body.byteLength };
  }

  /**
   * Reads and checks one chunk.
   * @throws INTEGRITY (missing, damaged, or not what the manifest says), REMOTE_*.
   */
  async getChunk(ref: RemoteChunkRef, signal?: AbortSignal): Promise<{ chunk: StoredChunk; plain: Uint8Array; bytes: number }> {
    const name = await this.layout.chunkName(ref.key);
    const bytes = await this.store.get(name, signal);
    if (bytes === undefined) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote chunk ${name} is missing.`, { object: name, chunk: ref.key });
    return { ...(await this.layout.decodeChunk(name, bytes, ref)), bytes: bytes.byteLength };
  }

  /** Writes a manifest (after its chunks), then records it in the index when the store cannot list. */
  async putManifest(manifest: RemoteManifest, signal?: AbortSignal): Promise<{ name: string; bytes: number }> {
    const name = manifest.kind === 'head' ? await this.layout.headName(manifest.vault) : await this.layout.backupName(manifest.backupId);
    const body = await this.layout.encodeManifest(name, manifest);
    await this.store.put(name, body, signal);
    if (!this.canList && manifest.kind === 'backup') await this.updateIndex((names) => names.add(name), signal);
    return { name, bytes: body.byteLength };
  }

  /**
   * Keeps a head manifest also as a point (`points/<vault>/<at>`), after its chunks. Only on a
   * store that can list (nothing could find the points otherwise).
   */
  async putPoint(manifest: RemoteManifest, signal?: AbortSignal): Promise<{ name: string; bytes: number }> {
    const name = await this.layout.pointName(manifest.vault, manifest.createdAt);
    const body = await this.layout.encodeManifest(name, manifest);
    await this.store.put(name, body, signal);
    return { name, bytes: body.byteLength };
  }

  /**
   * Every readable backup manifest, newest first (damaged or foreign objects are left out).
   * With `forCollection`, a manifest this build cannot read (a newer layout, over a limit) stops
   * the call instead: the chunks it names are unknown, so nothing may be collected.
   * @throws UNSUPPORTED_VERSION (`details.collection: 'stopped'`) with `forCollection`; REMOTE_*.
   */
  async listManifests(signal?: AbortSignal, prefix: string = RemotePath.backups, forCollection = false, strict = false): Promise<ListedManifest[]> {
    const names = this.canList ? (await this.list(prefix, signal)).map((o) => o.name) : [...(await this.readIndex(signal))].filter((n) => n.startsWith(prefix));
    const read = await Promise.all(
      names.map((name) => this.readManifestAt(name, signal).catch((error: unknown) => (strict ? refuseDamaged(name, error) : forCollection ? refuseUnreadable(name, error) : skipDamaged(error)))),
    );
    return read.filter((m): m is ListedManifest => m !== undefined).sort((a, b) => b.manifest.createdAt - a.manifest.createdAt);
  }

  /** @throws NOT_FOUND when the remote has no such backup; INTEGRITY when its manifest is damaged. */
  async readManifest(backupId: string, signal?: AbortSignal): Promise<ListedManifest> {
    const found = await this.readManifestAt(await this.layout.backupName(backupId), signal);
    if (!found) throw new PagevaultError(ErrorCode.NOT_FOUND, `The remote has no backup ${backupId}.`, { backupId });
    if (found.manifest.backupId !== backupId) throw new PagevaultError(ErrorCode.INTEGRITY, `Remote manifest ${found.name} names another backup.`, { backupId });
    return found;
  }

  /** The continuous-replication head of vault `vault`, if one was pushed. */
  async readHead(vault: string, signal?: AbortSignal): Promise<ListedManifest | undefined> {
    return this.readManifestAt(await this.layout.headName(vault), signal);
  }

  private async readManifestAt(name: string, signal?: AbortSignal): Promise<ListedManifest | undefined> {
    const bytes = await this.store.get(name, signal);
    if (bytes === undefined) return undefined;
    return { name, manifest: await this.layout.decodeManifest(name, bytes) };
  }

  /** Deletes a backup's manifest (its chunks go at a later collection). */
  async dropManifest(backupId: string, signal?: AbortSignal): Promise<void> {
    const name = await this.layout.backupName(backupId);
    await this.store.delete(name, signal);
    if (!this.canList) await this.updateIndex((names) => names.delete(name), signal);
  }

  private async readIndex(signal?: AbortSignal): Promise<Set<string>> {
    const bytes = await this.store.get(RemotePath.index, signal);
    if (bytes === undefined) return new Set();
    const index = await this.layout.decodeJson(RemotePath.index, bytes, 'index');
    const names = index['manifests'];
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new PagevaultError(ErrorCode.INVALID_BACKUP, 'The remote index object is malformed.');
    return new Set(names as string[]);
  }

  /**
   * Read, change, write. Two devices updating at once may lose one's entry; each device re-adds
   * the manifests it pushed at its next push (REMOTE.md), and the manifests themselves are intact.
   */
  private async updateIndex(change: (names: Set<string>) => void, signal?: AbortSignal): Promise<void> {
    const names = await this.readIndex(signal);
    change(names);
    await this.store.put(RemotePath.index, await this.layout.encodeJson(RemotePath.index, { manifests: [...names].sort() }), signal);
  }
}

/** A manifest that fails its checks is not listed (the remote never lists a backup it cannot restore). */
function skipDamaged(error: unknown): undefined {
  if (error instanceof PagevaultError && [ErrorCode.INTEGRITY, ErrorCode.INVALID_BACKUP, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.LIMIT_EXCEEDED].includes(error.code as never)) return undefined;
  throw error;
}

/**
 * Time travel cannot skip a state it cannot read: the newest state at or before a moment might be
 * that one, and an older one would be restored in its place.
 */
function refuseDamaged(name: string, error: unknown): never {
  if (error instanceof PagevaultError && [ErrorCode.INTEGRITY, ErrorCode.INVALID_BACKUP, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.LIMIT_EXCEEDED].includes(error.code as never)) {
    throw new PagevaultError(error.code, `Remote state ${name} cannot be read (${error.message}): the remote's history is incomplete, so no moment is restored from it.`, { object: name, cause: error.code });
  }
  throw error;
}

/** Collection cannot know what an unreadable (newer, oversized) manifest names: it stops rather than guess. */
function refuseUnreadable(name: string, error: unknown): undefined {
  if (error instanceof PagevaultError && (error.code === ErrorCode.UNSUPPORTED_VERSION || error.code === ErrorCode.LIMIT_EXCEEDED)) {
    throw new PagevaultError(
      ErrorCode.UNSUPPORTED_VERSION,
      `Collection stopped: remote manifest ${name} cannot be read by this build (${error.code}), so the chunks it names are unknown. Update pagevault on this device, or collect from a device that can read it.`,
      { object: name, cause: error.code, collection: 'stopped' },
    );
  }
  return skipDamaged(error);
}
