const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// ESM packages that babel must transform (JupyterLab's list plus what @jupyterlab/notebook pulls in).
const esModules = [
  '@codemirror',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  '@jupyterlab/',
  '@marijn',
  '@microsoft',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

// Options jest only takes at the top level, not per project.
const { reporters, coverageReporters, coverageDirectory, testTimeout, ...base } = jestJupyterLab(__dirname);
const shared = {
  ...base,
  cacheDirectory: '<rootDir>/.jest-cache',
  modulePathIgnorePatterns: ['<rootDir>/python_kernel_bridge/labextension', '<rootDir>/ui-tests', '<rootDir>/.venv'],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};

module.exports = {
  projects: [
    // Pure logic and React views: JupyterLab's jsdom environment.
    { ...shared, displayName: 'unit', testRegex: 'test/unit/.*\\.spec\\.tsx?$' },
    // Real Jupyter server and kernels on loopback, the scripted model server: plain Node.
    {
      ...shared,
      displayName: 'integration',
      testEnvironment: 'node',
      setupFiles: [],
      testRegex: 'test/integration/.*\\.spec\\.ts$',
      testPathIgnorePatterns: [...shared.testPathIgnorePatterns, '/test/integration/lab[^/]*\\.spec\\.ts$'],
      setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-setup.ts']
    },
    // The lab driver on real JupyterLab parts (document manager, notebook panel, rendermime) in jsdom, against a
    // real Jupyter server and kernels on loopback.
    {
      ...shared,
      displayName: 'lab',
      testRegex: 'test/integration/lab[^/]*\\.spec\\.ts$',
      setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-setup.ts']
    }
  ],
  reporters: ['default'],
  testTimeout
};
