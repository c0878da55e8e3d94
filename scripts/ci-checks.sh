# Checks beyond vitest, sourced by .ci/run; each counts as one passed or failed line.
run_check "lint" npm run -s lint
run_check "import rules" npm run -s check:imports
run_check "build (lib, cli, demo)" npm run -s build
run_check "README commands" npm run -s check:readme
run_check "e2e" npm run -s e2e
run_check "faults (chromium)" node e2e/faults.mjs
run_check "package: main entry is client + comlink only" node scripts/check-main-entry.mjs
run_check "package: publint" npx publint --strict
run_check "package: attw" npx attw --pack . --profile esm-only
run_check "package: consumer app (npm pack, fresh Vite app, Chromium)" npm run -s consumer-check
run_check "tabs (chromium, several pages on one vault)" node e2e/tabs.mjs
