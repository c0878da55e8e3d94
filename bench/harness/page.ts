/**
 * The bench page: exposes the scenario steps as `window.pagevaultBench` for the Node driver
 * (bench/run.mjs), which calls them one by one through Playwright.
 */
import * as remoteScenarios from './remote-scenarios';
import * as scenarios from './scenarios';

declare global {
  interface Window {
    pagevaultBench: typeof scenarios & typeof remoteScenarios;
  }
}

window.pagevaultBench = { ...scenarios, ...remoteScenarios };
document.body.dataset['ready'] = 'true';
