import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { ContentsManager, ServerConnection } from '@jupyterlab/services';

import { version } from '../../package.json';
import { connect } from '../../src/cli/connect';
import { AckingWebSocket } from '../../src/notebook/ackingWebSocket';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { requestBridge } from '../../src/request';
import { IBridgeStatus } from '../../src/tokens';
import { startTestServer, withTestServer } from '../helpers/jupyter';

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

describe('the private server (startLocalJupyterServer)', () => {
  it("signs nothing into the user's trust database when it saves a notebook", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aiev-data-'));
    const server = await startTestServer({ JUPYTER_DATA_DIR: dataDir });
    const contents = new ContentsManager({ serverSettings: server.settings });
    try {
      const cell = { cell_type: 'code', id: 'c1', source: 'print(1)', metadata: {}, execution_count: 1, outputs: [{ output_type: 'stream', name: 'stdout', text: '1\n' }] };
      await contents.save('agent.ipynb', { type: 'notebook', format: 'json', content: { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cell] } });
      const saved = await contents.get('agent.ipynb', { content: true });
      expect(saved.content.cells[0].outputs[0].text).toBe('1\n');
      // A stock server signs every trusted save into <data dir>/nbsignatures.db (SQLite, committed and fsynced).
      expect(existsSync(join(dataDir, 'nbsignatures.db'))).toBe(false);
    } finally {
      contents.dispose();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60000);
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
