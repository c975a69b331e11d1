/**
 * A real Jupyter Kernel Gateway (PyPI's `jupyter_kernel_gateway`, in the project's venv) on loopback, with its
 * defaults (kernel listing off), and a real `jupyter server --gateway-url` in front of it: kernels are started by
 * the gateway, the notebooks live on the server.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { findJupyter, freePort } from '../../src/notebook/localServer';
import { ITestServer, startTestServer } from './jupyter';

/** A running gateway and the server in front of it. */
export interface IGatewaySetup {
  gatewayUrl: string;
  server: ITestServer;
  stop(): Promise<void>;
}

/** Start a Kernel Gateway (`extraArgs` for it), then a Jupyter server using it; both stopped by `stop`. */
export async function startGatewaySetup(extraArgs: string[] = []): Promise<IGatewaySetup> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const runtime = mkdtempSync(join(tmpdir(), 'aiev-gateway-'));
  const child = spawn(
    findJupyter(),
    ['kernelgateway', '--KernelGatewayApp.ip=127.0.0.1', `--KernelGatewayApp.port=${port}`, `--KernelGatewayApp.auth_token=${token}`, ...extraArgs],
    { env: { ...process.env, JUPYTER_RUNTIME_DIR: runtime }, stdio: ['ignore', 'ignore', 'pipe'] }
  );
  let stderr = '';
  child.stderr!.on('data', chunk => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  const stopGateway = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(runtime, { recursive: true, force: true });
  };
  const gatewayUrl = `http://127.0.0.1:${port}`;
  try {
    for (let tries = 0; ; tries++) {
      const answer = await fetch(`${gatewayUrl}/api/kernelspecs`, { headers: { Authorization: `token ${token}` } }).catch(() => null);
      if (answer?.ok) {
        break;
      }
      if (tries > 300 || child.exitCode !== null) {
        throw new Error(`the kernel gateway did not start: ${stderr.trim().split('\n').slice(-5).join('\n')}`);
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    const server = await startTestServer(undefined, [`--gateway-url=${gatewayUrl}`, `--GatewayClient.auth_token=${token}`]);
    return {
      gatewayUrl,
      server,
      stop: async () => {
        await server.stop();
        await stopGateway();
      }
    };
  } catch (error) {
    await stopGateway();
    throw error;
  }
}
