// Finds Debian's Chromium for the browser tests, installing it when we can (root + apt-get),
// or says exactly what to run. Playwright never downloads a browser here.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(path)) {
  const root = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (root && hasApt) {
    console.log(`[pagevault] ${path} is missing: installing Debian's chromium with apt-get (about a minute)...`);
    const apt = 'apt-get -o DPkg::Lock::Timeout=600';
    execSync(`${apt} update -qq && DEBIAN_FRONTEND=noninteractive ${apt} install -y -qq chromium`, { stdio: 'inherit' });
  } else {
    console.error(`[pagevault] The browser tests need Chromium at ${path}.`);
    console.error(hasApt ? '  Run: sudo apt-get update && sudo apt-get install -y chromium' : '  Install Chromium and set CHROMIUM_PATH to its binary.');
    process.exit(1);
  }
}
