// Finds what the test suites need from Debian: Chromium for the browser suite (Playwright never
// downloads a browser here) and the sqlite3 shell for the interop tests. Installs what is missing
// when it can (root + apt-get), or says exactly what to run.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = [];
if (!existsSync(chromium)) missing.push('chromium');
if (!existsSync('/usr/bin/sqlite3')) missing.push('sqlite3');
if (missing.length > 0) {
  const root = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (root && hasApt) {
    console.log(`[pagevault] installing Debian's ${missing.join(' and ')} with apt-get (about a minute)...`);
    const apt = 'apt-get -o DPkg::Lock::Timeout=600';
    execSync(`${apt} update -qq && DEBIAN_FRONTEND=noninteractive ${apt} install -y -qq ${missing.join(' ')}`, { stdio: 'inherit' });
  } else {
    console.error(`[pagevault] The tests need: ${missing.join(', ')}.`);
    console.error(hasApt ? `  Run: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}` : '  Install them, and set CHROMIUM_PATH to the Chromium binary.');
    process.exit(1);
  }
}
