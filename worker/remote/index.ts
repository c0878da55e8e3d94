/**
 * `vault.remote.*` in the worker: one function per verb, over the open vault's context (the
 * service binds each in one line). Remotes live per open (./registry.ts).
 */
import type { RemoteInfo, RemoteOptions } from '../../src/protocol';
import type { VaultContext } from '../jobs/context';
import { startContinuous } from './continuous';
import { addRemote } from './registry';

export { closeRemotes, removeRemote } from './registry';
export { cancelPushes, pushBackup } from './push';
export { listRemote, pullBackup, restoreFromRemote, restoreLatest } from './pull';
export { applyRemoteRetention, dropRemote } from './retention';

/** Adds remote `name` for this open and starts its continuous replication when asked. @throws see addRemote. */
export async function addRemoteReplicating(vault: VaultContext, name: unknown, options: RemoteOptions): Promise<RemoteInfo> {
  const { entry, info } = await addRemote(vault, name, options);
  startContinuous(vault, entry);
  return info;
}
