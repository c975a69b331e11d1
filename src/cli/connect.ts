/** Reaching a Jupyter server from the command line, and the error a user can fix. */
import { ServerConnection } from '@jupyterlab/services';
import { parseArgs, ParseArgsConfig } from 'util';
import NodeWebSocket from 'ws';

import { AckingWebSocket } from '../notebook/ackingWebSocket';

/** A problem the user can fix: printed as one line, no stack trace. */
export class UsageError extends Error {}

/** `util.parseArgs` (strict) whose complaints become a one-line `UsageError`. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = false
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

/** What `/aiev/status` says of a server with the bridge (null without it). */
export interface IBridgeStatus {
  /** The server sets TCP_NODELAY on its kernel websockets. */
  kernel_nodelay?: boolean;
  /** Its kernels run on a kernel gateway (`--gateway-url`): legacy websocket protocol, replays not there. */
  gateway?: boolean;
}

/** A server the user named, reached: settings for it, and what its bridge says (null: no bridge). */
export interface IConnection {
  settings: ServerConnection.ISettings;
  bridge: IBridgeStatus | null;
}

/**
 * Settings for a server the user named, after checking that it answers, takes the token and has kernels. Nothing
 * here lists kernels (`/api/status` and `/api/kernels` do, which a kernel gateway refuses by default).
 */
export async function connect(serverUrl: string, token: string): Promise<ServerConnection.ISettings> {
  return (await connectTo(serverUrl, token)).settings;
}

/** `connect`, with what the server's bridge says. */
export async function connectTo(serverUrl: string, token: string): Promise<IConnection> {
  const baseUrl = serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`;
  const get = (path: string) => fetch(`${baseUrl}${path}`, { headers: token ? { Authorization: `token ${token}` } : {} });
  let response: Response;
  try {
    response = await get('api/me');
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new UsageError(`cannot reach the Jupyter server at ${baseUrl} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new UsageError(`the Jupyter server at ${baseUrl} refused the token (HTTP ${response.status}); pass --token`);
  }
  if (!response.ok) {
    throw new UsageError(`the Jupyter server at ${baseUrl} answered ${await describeResponse(response)} to /api/me (jupyter_server 2 or later is needed)`);
  }
  const specs = await get('api/kernelspecs');
  if (!specs.ok) {
    throw new UsageError(
      `the Jupyter server at ${baseUrl} took the token but cannot give its kernel specs (${await describeResponse(specs)}); ` +
        'if it runs its kernels on a gateway (--gateway-url), check that the gateway is running and takes the server\'s token'
    );
  }
  const bridge = await bridgeStatus(baseUrl, token);
  const settings = settingsFor(baseUrl, token, { ackFrames: !bridge?.kernel_nodelay, legacyKernelProtocol: bridge?.gateway === true });
  return { settings, bridge };
}

/** `HTTP 404: <message>`: the JSON `message` of a Jupyter error, or the first line of a text answer, never a page. */
export async function describeResponse(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let message = '';
  try {
    message = String(JSON.parse(text).message ?? '');
  } catch {
    message = /^\s*</.test(text) ? '' : text.trim().split('\n')[0].slice(0, 200);
  }
  return `HTTP ${response.status}${message ? `: ${message}` : ''}`;
}

/** `/aiev/status` of a server with the bridge; null when it has none (or does not answer it). */
async function bridgeStatus(baseUrl: string, token: string): Promise<IBridgeStatus | null> {
  try {
    const response = await fetch(`${baseUrl}aiev/status`, { headers: token ? { Authorization: `token ${token}` } : {} });
    return response.ok ? ((await response.json()) as IBridgeStatus) : null;
  } catch {
    return null;
  }
}

/** Options of `settingsFor`. */
export interface ISettingsOptions {
  /**
   * Answer every kernel websocket frame with a pong (`AckingWebSocket`): for servers without the bridge's
   * TCP_NODELAY, where each execution would otherwise stall ~40 ms. Default false.
   */
  ackFrames?: boolean;
  /**
   * Open kernel websockets without subprotocols (the legacy wire protocol): for servers whose kernels run on a
   * gateway, which speak only that one. Offered `v1.kernel.websocket.jupyter.org`, such a server selects none,
   * `ws` then fails the handshake ("Server sent no subprotocol") and `@jupyterlab/services` reconnects without
   * it ("Connection lost, reconnecting"). Default false.
   */
  legacyKernelProtocol?: boolean;
}

/** `@jupyterlab/services` settings for a server URL and token. */
export function settingsFor(baseUrl: string, token: string, options: ISettingsOptions = {}): ServerConnection.ISettings {
  const base = options.ackFrames ? (AckingWebSocket as typeof NodeWebSocket) : options.legacyKernelProtocol ? NodeWebSocket : null;
  const WebSocket = base && options.legacyKernelProtocol ? withoutSubprotocols(base) : base;
  return ServerConnection.makeSettings({
    baseUrl,
    wsUrl: baseUrl.replace(/^http/, 'ws'),
    token,
    appendToken: true,
    ...(WebSocket ? { WebSocket: WebSocket as unknown as typeof globalThis.WebSocket } : {})
  });
}

/** A `ws` WebSocket class that never offers subprotocols. */
function withoutSubprotocols(base: typeof NodeWebSocket): typeof NodeWebSocket {
  return class extends base {
    constructor(address: string | URL) {
      super(address, []);
    }
  } as typeof NodeWebSocket;
}
