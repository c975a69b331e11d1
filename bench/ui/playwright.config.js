/**
 * The benchmarks that need a browser (bench/ui/run.sh): the UI tests' lab server, Chromium and fixtures
 * (ui-tests/playwright.config.js), with this folder's *.bench.ts as the tests and no per-test time limit to speak of.
 */
const { join } = require('path');

const uiTests = join(__dirname, '..', '..', 'ui-tests');
const base = require(join(uiTests, 'playwright.config.js'));

module.exports = {
  ...base,
  testDir: __dirname,
  testMatch: '*.bench.ts',
  reporter: [['list']],
  timeout: 900000,
  outputDir: join(__dirname, '..', '..', '.tmp', 'bench-ui-results'),
  webServer: { ...base.webServer, cwd: uiTests }
};
