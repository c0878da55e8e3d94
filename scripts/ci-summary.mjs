// Sums the vitest JSON reports of .ci/run (.ci-out/vitest-<label>.json, one per engine run) and the
// checks of scripts/ci-checks.sh into the last line of CI: "N passed, N failed". Prints each engine's
// counts first. Usage: node scripts/ci-summary.mjs <extra passed> <extra failed>
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const [extraPassed, extraFailed] = process.argv.slice(2).map(Number);
const failedRuns = existsSync('.ci-out/vitest-failed-runs') ? readFileSync('.ci-out/vitest-failed-runs', 'utf8').split('\n').filter(Boolean) : [];
const counts = new Map(); // group -> { passed, failed, skipped }
const add = (group, status) => {
  const c = counts.get(group) ?? { passed: 0, failed: 0, skipped: 0 };
  if (status === 'passed') c.passed += 1;
  else if (status === 'failed') c.failed += 1;
  else c.skipped += 1; // skipped, pending, todo
  counts.set(group, c);
};
let passed = 0;
let failed = 0;
const labels = readdirSync('.ci-out').filter((f) => /^vitest-.+\.json$/.test(f)).map((f) => f.slice('vitest-'.length, -'.json'.length));
for (const label of labels) {
  let report;
  try {
    report = JSON.parse(readFileSync(`.ci-out/vitest-${label}.json`, 'utf8'));
  } catch {
    failed += 1; // no report: vitest died
    continue;
  }
  // The first run holds the node project too: its files are under test/node/.
  const engine = label.split('+').at(-1);
  for (const file of report.testResults) {
    const group = file.name.includes('/test/node/') ? 'node' : engine;
    for (const test of file.assertionResults) add(group, test.status);
  }
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // vitest failed outside a test (unhandled error, no tests found): one failure for that run.
  if (failedRuns.includes(label) && report.numFailedTests === 0) failed += 1;
}
for (const label of failedRuns) if (!labels.includes(label)) failed += 1;
for (const [group, c] of counts) console.log(`  ${group}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
console.log(`${passed + extraPassed} passed, ${failed + extraFailed} failed`);
