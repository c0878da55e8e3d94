/**
 * Remote repositories outside the worker (the CLI, a server, tests): the stores, the repository
 * and collection, over the layout of ../format/remote-layout.ts (documented in ../format/REMOTE.md).
 * Environment-neutral: fetch and WebCrypto (Node 20+, browsers, workers).
 * @example
 * const repo = await RemoteRepository.open(s3Store({ kind: 's3', endpoint, bucket, prefix, credentials }), passphrase);
 * for (const { manifest } of await repo.listManifests()) console.log(manifest.backupId, manifest.sizeBytes);
 */
export { s3Store } from './s3';
export { httpStore } from './http';
export { directoryStore } from './directory';
export { RemoteRepository } from './repository';
export type { ListedManifest } from './repository';
export { collectChunks, readMarks, DEFAULT_GRACE_MS } from './collect';
export type { Mark } from './collect';
export { send, Limiter } from './store';
export type { RemoteObjectInfo, RemoteStore } from './store';
export { chunkRefs, RemoteLayout, RemotePath, openRemoteConfig } from '../format/remote-layout';
export type { RemoteChunkRef, RemoteConfig, RemoteManifest } from '../format/remote-layout';
