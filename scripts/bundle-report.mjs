// What an app pays for a built entry: bundles it WITH its dependencies, minified, the way an
// app's bundler would, and reports which modules went in and the gzipped size.
// Shared by build-lib.mjs (prints the sizes the README quotes) and check-main-entry.mjs.
import { gzipSync } from 'node:zlib';
import { rolldown } from 'rolldown';

/**
 * @param {string} entry path of a built file in dist/
 * @returns {Promise<{ bytes: number, gzipBytes: number, moduleIds: string[] }>}
 */
export async function bundleAsAnAppWould(entry) {
  const bundle = await rolldown({ input: entry, platform: 'browser', logLevel: 'silent' });
  try {
    const { output } = await bundle.generate({ format: 'es', minify: true, codeSplitting: false });
    const chunks = output.filter((item) => item.type === 'chunk');
    const code = chunks.map((chunk) => chunk.code).join('\n');
    return {
      bytes: Buffer.byteLength(code),
      gzipBytes: gzipSync(code, { level: 9 }).length,
      moduleIds: chunks.flatMap((chunk) => chunk.moduleIds),
    };
  } finally {
    await bundle.close();
  }
}

/** Gzipped size (level 9) of a buffer or string, in bytes. */
export function gzipBytes(data) {
  return gzipSync(data, { level: 9 }).length;
}

/** "12.3 KiB" */
export function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
