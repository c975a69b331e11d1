import { ServerConnection } from '@jupyterlab/services';

import { version } from '../../package.json';
import { connect } from '../../src/cli/connect';
import { AckingWebSocket } from '../../src/notebook/ackingWebSocket';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
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
    expect(status.kernel_nodelay).toBe(true);
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

describe('the CLI connecting to a server (connect)', () => {
  const withNoDelay = withTestServer();
  const stock = withTestServer({ AIEV_KERNEL_NODELAY: '0' }); // as a server without the bridge's TCP_NODELAY

  async function printOne(settings: ServerConnection.ISettings): Promise<string> {
    const driver = await HeadlessNotebookDriver.open({ settings, path: `connect-${Date.now()}.ipynb` });
    try {
      const cell = driver.appendCodeCell('print(6 * 7)');
      const outcome = await driver.execute(cell, { timeoutMs: 60000 });
      return outcome.outputs.map(o => (o.output_type === 'stream' ? String(o.text) : '')).join('');
    } finally {
      await driver.dispose();
    }
  }

  it('uses the plain websocket where the server sets TCP_NODELAY', async () => {
    const settings = await connect(withNoDelay().baseUrl, withNoDelay().token);
    expect(settings.WebSocket).not.toBe(AckingWebSocket);
    expect(await printOne(settings)).toBe('42\n');
  });

  it('acks every kernel frame where it does not, and executions still work', async () => {
    const status = await requestBridge<IBridgeStatus>('status', {}, stock().settings);
    expect(status.kernel_nodelay).toBe(false);
    const settings = await connect(stock().baseUrl, stock().token);
    expect(settings.WebSocket).toBe(AckingWebSocket);
    expect(await printOne(settings)).toBe('42\n');
  });
});
