// Browser project global setup: one s3rver (and its fault proxy) for the whole run; the page gets
// their endpoints through `inject('s3')`.
import type { TestProject } from 'vitest/node';
import { S3_BUCKET, S3_CREDENTIALS, startS3Server } from './s3-server';

declare module 'vitest' {
  export interface ProvidedContext {
    s3: { endpoint: string; proxyEndpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const s3 = await startS3Server();
  project.provide('s3', { endpoint: s3.endpoint, proxyEndpoint: s3.proxyEndpoint, bucket: S3_BUCKET, ...S3_CREDENTIALS });
  return () => s3.close();
}
