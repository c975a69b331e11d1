import { ServerConnection } from '@jupyterlab/services';

import { settingsFor } from '../../src/cli/connect';
import { ILocalJupyterServer, startLocalJupyterServer } from '../../src/notebook/localServer';

/** A real Jupyter server on loopback for one test file, with `@jupyterlab/services` settings for it. */
export interface ITestServer extends ILocalJupyterServer {
  settings: ServerConnection.ISettings;
}

/**
 * Start a real `jupyter server` (the project's venv) with the bridge extension loaded; `env` for the server,
 * `extraArgs` for its command line, `rootDir` the folder it serves (default a new temporary one).
 */
export async function startTestServer(env?: NodeJS.ProcessEnv, extraArgs?: string[], rootDir?: string): Promise<ITestServer> {
  const server = await startLocalJupyterServer({ env, extraArgs, rootDir });
  return { ...server, settings: settingsFor(server.baseUrl, server.token), stop: server.stop };
}

/**
 * One real server for the enclosing `describe` block (started in beforeAll, stopped in afterAll; `env` for the
 * server); call the getter in tests.
 */
export function withTestServer(env?: NodeJS.ProcessEnv): () => ITestServer {
  let server: ITestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(env);
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
