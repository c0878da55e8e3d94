/**
 * One real S3 server (s3rver behind the fault proxy) for a node test file, started before its tests
 * and closed after them together with every service the file opened.
 */
import type { RemoteOptions } from '../../src/protocol';
import type { Service } from '../../worker/service';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server, type S3Server } from './s3-server';
import { call } from './vault-harness';

/** Retries short enough for tests against a local server. */
export const FAST_RETRY = { retries: 2, backoffMs: 5, timeoutMs: 20_000 } as const;

/** S3 remote options for `prefix` of the test bucket on `s3` (with `over` on top). */
export function s3RemoteAt(s3: S3Server, prefix: string, over: Partial<RemoteOptions> = {}): RemoteOptions {
  return { kind: 's3', endpoint: s3.endpoint, bucket: S3_BUCKET, prefix, credentials: S3_CREDENTIALS, retry: FAST_RETRY, ...over } as RemoteOptions;
}

/** Polls `check` every 50 ms until it holds. @throws after `ms`. */
export async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type Hook = (body: () => Promise<void>, timeoutMs?: number) => void;

export interface S3Suite {
  /** The server (set once the file's `beforeAll` ran). */
  readonly s3: S3Server;
  /** Services to close after the file's tests (push what you open). */
  readonly open: Service[];
}

/** Registers the file's hooks (pass vitest's `beforeAll` and `afterAll`). */
export function s3Suite(beforeAll: Hook, afterAll: Hook): S3Suite {
  let server: S3Server | undefined;
  const open: Service[] = [];
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => {
    for (const service of open) await call(service.close({ force: true })).catch(() => undefined);
    await server?.close();
  });
  return {
    get s3(): S3Server {
      if (!server) throw new Error('The S3 server starts in beforeAll: use it inside a test.');
      return server;
    },
    open,
  };
}
