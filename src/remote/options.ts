/**
 * What `vault.remote.add` takes: one shape per kind of store. Secrets (credentials, a passphrase,
 * header values) live in the worker's memory for one open; they are never written to IndexedDB.
 */
import type { RetryOptions } from './store';

/** Presigning by the app's own server: gets the request pagevault is about to send, returns it signed. */
export type RemoteSigner = (request: { readonly method: string; readonly url: string; readonly headers: Record<string, string> }) => Promise<{ url: string; headers?: Record<string, string> }>;

interface Common {
  /** Encrypts everything on the remote client-side (object names are keyed). */
  readonly passphrase?: string;
  /** Retries, timeout and parallel requests (defaults: 4 retries, 30 s, 4 in flight). */
  readonly retry?: RetryOptions;
  /**
   * Continuous replication: push the live database's new chunks and a head manifest this many ms
   * after each save (e.g. 2000). Off by default.
   */
  readonly continuousMs?: number;
}

/** An S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Wasabi): path-style requests. */
export interface S3RemoteOptions extends Common {
  readonly kind: 's3';
  readonly endpoint: string;
  readonly bucket: string;
  /** The repository's prefix inside the bucket (`notes/`); '' for the bucket's root. */
  readonly prefix?: string;
  /** Default `us-east-1` (R2: `auto`). */
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Instead of credentials: the app's server signs (or presigns) each request. */
  readonly sign?: RemoteSigner;
}

/** Any store that answers PUT/GET/HEAD/DELETE under a base URL (WebDAV, a small app endpoint). */
export interface HttpRemoteOptions extends Common {
  readonly kind: 'http';
  /** Base URL; object names are appended to it. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Called before each request (e.g. a fresh bearer token); its headers win over `headers`. */
  readonly getHeaders?: () => Promise<Record<string, string>> | Record<string, string>;
}

/** A folder on disk (File System Access API). */
export interface DirectoryRemoteOptions extends Common {
  readonly kind: 'directory';
  readonly handle: FileSystemDirectoryHandle;
}

export type RemoteOptions = S3RemoteOptions | HttpRemoteOptions | DirectoryRemoteOptions;
