// The bench's S3 server, in its own Node process: s3rver walks its folder synchronously, which
// must not stall the driver's event loop (it relays the page's steps), and it is started with
// --openssl-legacy-provider because s3rver makes ListObjectsV2 continuation tokens with DES, which
// Node 20's OpenSSL 3 refuses otherwise: a V2 listing past 1,000 keys (a 100 MB repository has
// ~1,600 chunks) would answer 500. Prints {"port":N} once listening; stops on SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from '@20minutes/s3rver';

const bucket = process.argv[2];
const directory = mkdtempSync(join(tmpdir(), 'pv-bench-s3-'));
const CORS = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>
<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedMethod>DELETE</AllowedMethod>
<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [CORS] }] });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  rmSync(directory, { recursive: true, force: true });
  process.exit(0);
});
