# Checks beyond vitest, sourced by .ci/run; each counts as one passed or failed line.
run_check "vite build" npm run -s build
run_check "e2e" npm run -s e2e
run_check "faults (chromium)" node e2e/faults.mjs
