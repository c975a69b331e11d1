import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';

/** A Jupyter Server this process started on loopback, and how to reach and stop it. */
export interface ILocalJupyterServer {
  readonly baseUrl: string;
  readonly token: string;
  readonly rootDir: string;
  /** Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its private runtime folder. */
  stop(): Promise<void>;
}

/** Options of `startLocalJupyterServer`. */
export interface ILocalJupyterServerOptions {
  /** Folder served as the notebook root; a new temporary folder when omitted. */
  rootDir?: string;
  /** The `jupyter` executable; found by `findJupyter()` when omitted. */
  jupyter?: string;
  /** Extra `--Config.trait=value` arguments. */
  extraArgs?: string[];
  /** Most milliseconds to wait for `/api/me`; default 60 000. */
  startTimeoutMs?: number;
  /** Extra environment for the server and so for its kernels. */
  env?: NodeJS.ProcessEnv;
  /** Keep Jupyter Server's IOPub rate limit on, as a user's server has it (default off: see below). */
  iopubRateLimit?: boolean;
}

/**
 * An executable of the project's Python environment: `$AIEV_<NAME>` (e.g. AIEV_JUPYTER, AIEV_PYTHON), else the
 * nearest `.venv/bin/<name>` above this file (the project's own venv, so `npx aiev` works without activating it),
 * else `<name>` on PATH.
 */
export function findVenvExecutable(name: 'jupyter' | 'python'): string {
  const override = process.env[`AIEV_${name.toUpperCase()}`];
  if (override) {
    return override;
  }
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, '.venv', 'bin', name);
    if (existsSync(candidate)) {
      return candidate;
    }
    if (dirname(dir) === dir) {
      return name === 'python' ? 'python3' : name;
    }
  }
}

/** The `jupyter` to run (see `findVenvExecutable`). */
export function findJupyter(): string {
  return findVenvExecutable('jupyter');
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Start `jupyter server` on 127.0.0.1 with a random token and wait until it answers. */
export async function startLocalJupyterServer(
  options: ILocalJupyterServerOptions = {}
): Promise<ILocalJupyterServer> {
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const privateDir = mkdtempSync(join(tmpdir(), 'aiev-jupyter-'));
  const rootDir = options.rootDir ?? join(privateDir, 'root');
  if (!options.rootDir) {
    require('fs').mkdirSync(rootDir);
  }
  const args = [
    'server',
    '--no-browser',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${rootDir}`,
    '--ServerApp.allow_root=True',
    // The agent caps outputs itself (OutputCollector); the server's IOPub rate limit would silently drop them.
    `--ZMQChannelsWebsocketConnection.limit_rate=${options.iopubRateLimit ? 'True' : 'False'}`,
    // Notebooks this server saves are not signed into the user's trust database (nbsignatures.db in their Jupyter
    // data folder): what an agent wrote opens untrusted, and no save waits for that SQLite file's commit and fsync,
    // which blocked the server's event loop on every save (a seventh of a batch rollout: bench/README.md, section 9).
    '--NotebookNotary.db_file=:memory:',
    ...(options.extraArgs ?? [])
  ];
  const child = spawn(options.jupyter ?? findJupyter(), args, {
    env: { ...process.env, JUPYTER_RUNTIME_DIR: join(privateDir, 'runtime'), ...options.env },
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const baseUrl = `http://127.0.0.1:${port}/`;
  const stop = () => stopChild(child).then(() => rmSync(privateDir, { recursive: true, force: true }));
  try {
    await waitUntilUp(child, baseUrl, token, options.startTimeoutMs ?? 60000, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, token, rootDir, stop };
}

async function waitUntilUp(
  child: ChildProcess,
  baseUrl: string,
  token: string,
  timeoutMs: number,
  stderr: () => string
): Promise<void> {
  let exited: string | null = null;
  child.once('error', error => (exited = error.message));
  child.once('exit', code => (exited = `exited with code ${code}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`jupyter server ${exited}: ${stderr().trim().split('\n').slice(-5).join('\n')}`);
    }
    try {
      // Not /api/status: it lists kernels, which a kernel gateway refuses by default (--gateway-url servers).
      const response = await fetch(`${baseUrl}api/me`, { headers: { Authorization: `token ${token}` } });
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  throw new Error(`jupyter server did not answer within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
