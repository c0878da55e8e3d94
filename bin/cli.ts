#!/usr/bin/env node
/** Launcher for the pagevault CLI (built to dist/cli.js). All logic is in ./pagevault. */
import { main } from './pagevault';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
});
