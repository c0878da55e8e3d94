/**
 * The remotes of one open vault: name to store and repository, in the worker's memory only
 * (credentials, passphrases and header values are never written to IndexedDB; a reopened vault
 * adds its remotes again).
 *
 * Invariant: an entry's repository is replaced (never mutated) once the first push writes the
 * repository's config, so a job holds a consistent layout from start to end.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { RemoteInfo, RemoteOptions } from '../../src/protocol';
import { directoryStore } from '../../src/remote/directory';
import { httpStore } from '../../src/remote/http';
import { RemoteRepository } from '../../src/remote/repository';
import { s3Store } from '../../src/remote/s3';
import type { RemoteStore } from '../../src/remote/store';
import type { VaultContext } from '../jobs/context';
import { Mutex } from '../mutex';
import { checkKeyId, optionalInteger } from '../validate';

export interface RemoteEntry {
  readonly name: string;
  readonly store: RemoteStore;
  repo: RemoteRepository;
  /** Chunk object names known to be on the remote (sent or seen by this open): the local inventory. */
  readonly inventory: Set<string>;
  /** Continuous replication: ms after a save to push the head, or undefined. */
  readonly continuousMs: number | undefined;
  /** Push jobs of this open on this remote, queued or running (`remote.cancel`). */
  readonly pushes: Set<string>;
  /** Serializes this open's sends and collections on this remote (jobs and continuous pushes). */
  readonly lock: Mutex;
  /** Stops continuous replication. */
  stop?: () => void;
}

const registries = new WeakMap<VaultContext, Map<string, RemoteEntry>>();
/** Vaults whose remotes were closed: an add still reading its remote's config must not register (and start timers) after that. */
const closedVaults = new WeakSet<VaultContext>();

function registry(vault: VaultContext): Map<string, RemoteEntry> {
  const map = registries.get(vault) ?? new Map<string, RemoteEntry>();
  registries.set(vault, map);
  return map;
}

/** @throws INVALID_ARGUMENT for an unknown kind or malformed options. */
function storeFor(options: RemoteOptions): RemoteStore {
  if (typeof options !== 'object' || options === null) throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'Remote options must be an object.', {});
  if (options.passphrase !== undefined && (typeof options.passphrase !== 'string' || options.passphrase.length === 0)) {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'passphrase must be a non-empty string.', { argument: 'passphrase' });
  }
  switch (options.kind) {
    case 's3':
      if (typeof options.bucket !== 'string' || options.bucket === '') throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, 'An S3 remote needs a bucket.', { argument: 'bucket' });
      return s3Store(options);
    case 'http':
      return httpStore(options);
    case 'directory':
      return directoryStore(options);
    default:
      throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `Unknown remote kind ${JSON.stringify((options as { kind?: unknown }).kind)}: use 's3', 'http' or 'directory'.`, { argument: 'kind' });
  }
}

/**
 * Adds (or replaces) remote `name` for this open; reads the remote's config, so a wrong
 * passphrase or bad credentials surface here.
 * @throws INVALID_ARGUMENT, WRONG_PASSPHRASE, PASSPHRASE_REQUIRED, NOT_ENCRYPTED, REMOTE_DENIED, REMOTE_UNAVAILABLE, CLOSED (the vault closed meanwhile).
 */
export async function addRemote(vault: VaultContext, nameValue: unknown, options: RemoteOptions): Promise<{ entry: RemoteEntry; info: RemoteInfo }> {
  const name = checkKeyId(nameValue, 'name');
  const store = storeFor(options);
  const continuousMs = optionalInteger(options.continuousMs, 'continuousMs', 0, 3_600_000);
  const repo = await RemoteRepository.open(store, options.passphrase);
  if (closedVaults.has(vault)) throw new PagevaultError(ErrorCode.CLOSED, 'The vault closed while the remote was being added: open it again and add the remote.', {});
  removeRemote(vault, name);
  const entry: RemoteEntry = { name, store, repo, inventory: new Set(), continuousMs, lock: new Mutex(), pushes: new Set() };
  registry(vault).set(name, entry);
  return { entry, info: { name, location: store.location, encrypted: repo.layout.encrypted || options.passphrase !== undefined, initialized: repo.initialized } };
}

/** Forgets remote `name` in this open (nothing on the remote changes). */
export function removeRemote(vault: VaultContext, name: string): void {
  const old = registry(vault).get(name);
  old?.stop?.();
  registry(vault).delete(name);
}

/** @throws NOT_FOUND when no remote of that name was added in this open. */
export function remoteEntry(vault: VaultContext, nameValue: unknown): RemoteEntry {
  const name = checkKeyId(nameValue, 'name');
  const entry = registry(vault).get(name);
  if (!entry) throw new PagevaultError(ErrorCode.NOT_FOUND, `No remote named "${name}" in this open: add it with vault.remote.add (remotes are kept per open, never stored).`, { remote: name });
  return entry;
}

/** Whether `entry` is still vault's remote of its name (not removed or replaced since it was added). */
export function stillRegistered(vault: VaultContext, entry: RemoteEntry): boolean {
  return registries.get(vault)?.get(entry.name) === entry;
}

/** Whether vault's remotes were closed (it is closing). */
export function remotesClosed(vault: VaultContext): boolean {
  return closedVaults.has(vault);
}

/** Stops every remote's continuous replication and forgets them (the vault is closing). */
export function closeRemotes(vault: VaultContext): void {
  closedVaults.add(vault);
  for (const name of [...registry(vault).keys()]) removeRemote(vault, name);
}
