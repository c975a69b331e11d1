import { ServerConnection } from '@jupyterlab/services';

import { ILocalJupyterServer, startLocalJupyterServer } from '../../src/notebook/localServer';

/** A real Jupyter server on loopback for one test file, with `@jupyterlab/services` settings for it. */
export interface ITestServer extends ILocalJupyterServer {
  settings: ServerConnection.ISettings;
}

/** Start a real `jupyter server` (the project's venv) with the bridge extension loaded. */
export async function startTestServer(): Promise<ITestServer> {
  const server = await startLocalJupyterServer();
  const settings = ServerConnection.makeSettings({
    baseUrl: server.baseUrl,
    wsUrl: server.baseUrl.replace(/^http/, 'ws'),
    token: server.token,
    appendToken: true
  });
  return { ...server, settings, stop: server.stop };
}

/** One real server for the enclosing `describe` block (started in beforeAll, stopped in afterAll); call the getter in tests. */
export function withTestServer(): () => ITestServer {
  let server: ITestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) {
      throw new Error('the test server is not running');
    }
    return server;
  };
}
