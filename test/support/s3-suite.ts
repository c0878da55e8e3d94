/**
 * One real S3 server (s3rver behind the fault proxy) for a node test file, started before its tests
 * and closed after them together with every service the file opened.
 */
import type { Service } from '../../worker/service';
import { startS3Server, type S3Server } from './s3-server';
import { call } from './vault-harness';

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
