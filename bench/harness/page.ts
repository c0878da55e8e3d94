/**
 * The bench page: exposes the scenario steps as `window.pagevaultBench` for the Node driver
 * (bench/run.mjs), which calls them one by one through Playwright.
 */
import * as scenarios from './scenarios';

declare global {
  interface Window {
    pagevaultBench: typeof scenarios;
  }
}

window.pagevaultBench = scenarios;
document.body.dataset['ready'] = 'true';
