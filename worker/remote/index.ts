/**
 * `vault.remote.*` in the worker: one function per verb, over the open vault's context (the
 * service binds each in one line). Remotes live per open (./registry.ts).
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import type { RemoteInfo, RemoteOptions } from '../../src/protocol';
import type { VaultContext } from '../jobs/context';
import { startContinuous } from './continuous';
import { addRemote, remotesClosed, stillRegistered } from './registry';

export { closeRemotes, removeRemote } from './registry';
export { cancelPushes, pushBackup } from './push';
export { listRemote, pullBackup, restoreFromRemote, restoreLatest } from './pull';
export { applyRemoteRetention, dropRemote } from './retention';

/** Adds remote `name` for this open and starts its continuous replication when asked. @throws see addRemote. */
export async function addRemoteReplicating(vault: VaultContext, name: unknown, options: RemoteOptions): Promise<RemoteInfo> {
  const { entry, info } = await addRemote(vault, name, options);
  // A close may have come in between (its timer would then run forever), or a later add of the
  // same name, which replaced this one and replicates on its own.
  if (remotesClosed(vault)) throw new PagevaultError(ErrorCode.CLOSED, 'The vault closed while the remote was being added: open it again and add the remote.', {});
  if (stillRegistered(vault, entry)) startContinuous(vault, entry);
  return info;
}
