/**
 * Galata in Debian's Chromium (Playwright cannot download browsers here): no video or trace (they need
 * Playwright's own ffmpeg), list reporter, one worker on a 2-core machine.
 *
 * The lab server gets a random API key in OPENAI_API_KEY (the tests check it never reaches the browser or a
 * kernel) and a fresh root folder; its bridge forwards model calls to the scripted model the tests start on
 * AIEV_UI_MODEL_PORT (jupyter_server_test_config.py). The values are set once here, in the runner process, and
 * inherited by the workers that load this file again.
 */
const { randomBytes } = require('crypto');
const { mkdirSync, mkdtempSync } = require('fs');
const { tmpdir } = require('os');
const { join } = require('path');

const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

process.env.AIEV_UI_KEY ??= `sk-aiev-ui-${randomBytes(18).toString('hex')}`;
process.env.AIEV_UI_MODEL_PORT ??= '8898';
if (!process.env.AIEV_UI_ROOT) {
  mkdirSync(tmpdir(), { recursive: true });
  process.env.AIEV_UI_ROOT = mkdtempSync(join(tmpdir(), 'aiev-ui-root-'));
  process.env.AIEV_UI_ROOT_MADE = '1';
}

module.exports = {
  ...baseConfig,
  globalTeardown: require.resolve('./teardown.js'),
  reporter: [['list'], ['json', { outputFile: process.env.AIEV_PLAYWRIGHT_JSON || 'test-results/results.json' }]],
  workers: 1,
  retries: 0,
  timeout: 180000,
  expect: { timeout: 30000 },
  use: {
    ...baseConfig.use,
    baseURL: 'http://127.0.0.1:8899',
    viewport: { width: 1400, height: 860 },
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure',
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
    env: {
      ...process.env,
      OPENAI_API_KEY: process.env.AIEV_UI_KEY,
      JUPYTERLAB_GALATA_ROOT_DIR: process.env.AIEV_UI_ROOT
    },
    // The server's log is long; set AIEV_UI_SERVER_LOG=1 to see it when a test fails.
    stdout: 'ignore',
    stderr: process.env.AIEV_UI_SERVER_LOG ? 'pipe' : 'ignore'
  }
};
