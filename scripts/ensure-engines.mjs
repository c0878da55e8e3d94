// Finds what the test suites need from Debian: the browser engines of the browser suite (Chromium,
// Firefox ESR, WebKitGTK + Xvfb; Playwright never downloads a browser here) and the sqlite3 shell for
// the interop tests. Installs what is missing when it can (root + apt-get), or says exactly what to run.
// PAGEVAULT_ENGINES (comma-separated, as in vite.config.ts) limits the engines checked.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const engines = (process.env.PAGEVAULT_ENGINES ?? 'chromium,firefox,webkit').split(',').map((e) => e.trim());
// Each engine: the files its provider runs, and the Debian packages that bring them.
const needs = {
  chromium: [[process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', 'chromium']],
  firefox: [[process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr', 'firefox-esr']],
  webkit: [
    [process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver', 'webkit2gtk-driver'],
    // Xvfb only where there is no display to draw on.
    ...(process.env.DISPLAY ? [] : [['/usr/bin/Xvfb', 'xvfb']]),
  ],
};
const wanted = [['/usr/bin/sqlite3', 'sqlite3'], ...engines.flatMap((e) => needs[e] ?? [])];
const missing = [...new Set(wanted.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg))];
if (missing.length > 0) {
  const root = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (root && hasApt) {
    console.log(`[pagevault] installing Debian's ${missing.join(', ')} with apt-get (a minute or two)...`);
    const apt = 'apt-get -o DPkg::Lock::Timeout=600';
    execSync(`${apt} update -qq && DEBIAN_FRONTEND=noninteractive ${apt} install -y -qq ${missing.join(' ')}`, { stdio: 'inherit' });
  } else {
    console.error(`[pagevault] The tests need: ${missing.join(', ')}.`);
    console.error(
      hasApt
        ? `  Run: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}  (or narrow the engines: PAGEVAULT_ENGINES=chromium)`
        : '  Install them and set CHROMIUM_PATH, FIREFOX_PATH, WEBKIT_DRIVER_PATH, MINIBROWSER_PATH; or narrow the engines: PAGEVAULT_ENGINES=chromium.',
    );
    process.exit(1);
  }
}
