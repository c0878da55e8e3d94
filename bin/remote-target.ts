/**
 * Where a `pagevault remote` command reads: `s3://bucket/prefix/` (any S3-compatible endpoint,
 * path-style, signed with the usual AWS_* variables) or a local folder holding a copy of a
 * repository. Secrets come from the environment only, never from the command line (which other
 * users can read in the process list).
 */
import { ErrorCode, PagevaultError } from '../src/errors';
import { s3Store, type RemoteStore } from '../src/remote/index';
import { folderStore } from './folder-store';

/** What the command line and the environment say about the remote. */
export interface RemoteTarget {
  /** `s3://bucket/prefix/` or a folder path. */
  readonly location: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Parallel reads from the remote: enough to hide latency, few enough for any provider's rate limits. */
export const REMOTE_PARALLEL = 8;

const bad = (message: string): never => {
  throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, message, { usage: true });
};

/** Splits `s3://bucket/some/prefix` into the bucket and a prefix that ends in `/` (or is empty). */
export function parseS3Url(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(location);
  if (!match) return bad(`${location} is not an s3://bucket/prefix/ URL.`);
  const bucket = match[1]!;
  // S3 bucket names: 3-63 of lowercase letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) bad(`"${bucket}" is not a valid bucket name.`);
  const raw = match[2] ?? '';
  // A prefix is one repository: `notes` and `notes/` are the same folder-like prefix.
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  return { bucket, prefix };
}

/**
 * The store for a target. Without `--endpoint` the endpoint comes from AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL, else AWS S3 in the region; the region from `--region`, AWS_REGION,
 * AWS_DEFAULT_REGION, else us-east-1. Without keys in the environment requests go unsigned (a
 * public bucket); the server's refusal is then REMOTE_DENIED.
 * @throws INVALID_ARGUMENT (a malformed URL or endpoint, only one of the two key variables), FILE_NOT_FOUND (a missing folder).
 */
export async function openTargetStore(target: RemoteTarget): Promise<RemoteStore> {
  if (!target.location.startsWith('s3://')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target.location)) bad(`${target.location}: the CLI reads s3://bucket/prefix/ URLs or a local folder.`);
    if (target.endpoint !== undefined) bad('--endpoint applies to s3:// locations only.');
    return folderStore(target.location);
  }
  const { bucket, prefix } = parseS3Url(target.location);
  const { env } = target;
  const region = target.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
  const endpoint = target.endpoint ?? env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'] ?? `https://s3.${region}.amazonaws.com`;
  if (!/^https?:\/\/[^/]/.test(endpoint)) bad(`The endpoint ${endpoint} is not an http(s) URL.`);
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) bad('Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (a public bucket).');
  const sessionToken = env['AWS_SESSION_TOKEN'];
  const retry = { parallel: REMOTE_PARALLEL };
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    // Anonymous: the request goes as is; a bucket that is not public answers 403 (REMOTE_DENIED).
    return s3Store({ kind: 's3', endpoint, bucket, prefix, region, retry, sign: async ({ url, headers }) => ({ url, headers }) });
  }
  const credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  return s3Store({ kind: 's3', endpoint, bucket, prefix, region, retry, credentials });
}
