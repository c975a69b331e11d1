import { ServerConnection } from '@jupyterlab/services';

import { version } from '../../package.json';
import { requestBridge } from '../../src/request';
import { IBridgeStatus } from '../../src/tokens';
import { withTestServer } from '../helpers/jupyter';

describe('server bridge on a real Jupyter server', () => {
  const server = withTestServer();

  it('answers /aiev/status with the package version', async () => {
    const status = await requestBridge<IBridgeStatus>('status', {}, server().settings);
    expect(status.name).toBe('jupyterlab-aiev');
    expect(status.version).toBe(version);
    expect(status.python).toMatch(/^3\.\d+\.\d+$/);
  });

  it('refuses a request without the right token', async () => {
    const anonymous = ServerConnection.makeSettings({
      baseUrl: server().baseUrl,
      wsUrl: server().baseUrl.replace(/^http/, 'ws'),
      token: 'not-the-token'
    });
    await expect(requestBridge('status', {}, anonymous)).rejects.toMatchObject({
      response: { status: 403 }
    });
  });
});
