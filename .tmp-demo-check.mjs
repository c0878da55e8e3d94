import { chromium } from 'playwright-core';
import { createServer } from 'vite';
process.env.VITE_CONFIG_NATIVE_IGNORE_WARNING ??= 'true';
const server = await createServer({ root: process.cwd(), configFile: 'vite.config.ts', logLevel: 'warn', server: { host: '127.0.0.1', port: 0, watch: null, hmr: false } });
await server.listen();
const origin = server.resolvedUrls.local[0].replace(/\/$/, '');
const s3mod = await server.ssrLoadModule('/test/support/s3-server.ts');
const s3 = await s3mod.startS3Server();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log('pageerror', e.message));
  page.on('console', (m) => m.type() === 'error' && console.log('console', m.text()));
  await page.goto(`${origin}/demo/index.html`);
  await page.locator('#panel-database h2').waitFor();
  // Open a database via the UI: find the database panel's form.
  const dbInput = page.locator('#panel-database input').first();
  await dbInput.fill('demo-remote-check');
  await page.locator('#panel-database button[type=submit]').first().click();
  await page.waitForFunction(() => document.body.classList.contains('has-vault'), null, { timeout: 60000 });
  await page.evaluate(async () => {});
  // Make a backup through the backup panel.
  await page.locator('#panel-backup button[type=submit], #panel-backup button.primary').first().click();
  await page.waitForTimeout(3000);
  const r = page.locator('#panel-remote');
  await r.locator('input[name=endpoint]').fill(s3.endpoint);
  await r.locator('input[name=bucket]').fill(s3mod.S3_BUCKET);
  await r.locator('input[name=prefix]').fill('demo/');
  await r.locator('input[name=accessKeyId]').fill('S3RVER');
  await r.locator('input[name=secretAccessKey]').fill('S3RVER');
  await r.locator('button', { hasText: 'Connect' }).click();
  await r.locator('.status[data-tone=ok], .status[data-tone=error]').waitFor({ timeout: 30000 });
  console.log('connect:', await r.locator('.status').textContent());
  await r.locator('button', { hasText: 'Push newest backup' }).click();
  await page.waitForFunction(() => { const t = document.querySelector('#panel-remote .status')?.getAttribute('data-tone'); return t === 'ok' || t === 'error'; }, null, { timeout: 60000 });
  console.log('push:', await r.locator('.status').textContent());
  await page.waitForTimeout(500);
  console.log('rows:', await r.locator('tbody tr').count());
  await r.locator('tbody button', { hasText: 'Restore' }).first().click();
  await page.locator('dialog button', { hasText: 'Restore' }).click();
  await page.waitForFunction(() => /Restored|error/i.test(document.querySelector('#panel-remote .status')?.textContent ?? '') && document.querySelector('#panel-remote .status')?.getAttribute('data-tone') !== 'busy', null, { timeout: 60000 });
  console.log('restore:', await r.locator('.status').textContent());
  await page.screenshot({ path: '/tmp/demo-remote.png', fullPage: false, clip: await r.boundingBox() });
} finally {
  await browser.close();
  await s3.close();
  await server.close();
}
