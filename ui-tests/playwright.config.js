/**
 * Galata in Debian's Chromium (Playwright cannot download browsers here): no video or trace (they need
 * Playwright's own ffmpeg), list reporter, one worker on a 2-core machine.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['json', { outputFile: process.env.AIEV_PLAYWRIGHT_JSON || 'test-results/results.json' }]],
  workers: 1,
  retries: 0,
  timeout: 120000,
  expect: { timeout: 30000 },
  use: {
    ...baseConfig.use,
    baseURL: 'http://127.0.0.1:8899',
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-dev-shm-usage',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: 'http://127.0.0.1:8899/lab',
    timeout: 120000,
    reuseExistingServer: false,
    // The server's log is long; set AIEV_UI_SERVER_LOG=1 to see it when a test fails.
    stdout: 'ignore',
    stderr: process.env.AIEV_UI_SERVER_LOG ? 'pipe' : 'ignore'
  }
};
