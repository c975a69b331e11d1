/** Reaching a Jupyter server from the command line, and the error a user can fix. */
import { ServerConnection } from '@jupyterlab/services';
import { parseArgs, ParseArgsConfig } from 'util';

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

/** Settings for a server the user named, after checking that it answers and takes the token. */
export async function connect(serverUrl: string, token: string): Promise<ServerConnection.ISettings> {
  const baseUrl = serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`;
  let response: Response;
  try {
    response = await fetch(`${baseUrl}api/status`, { headers: token ? { Authorization: `token ${token}` } : {} });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new UsageError(`cannot reach the Jupyter server at ${baseUrl} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new UsageError(`the Jupyter server at ${baseUrl} refused the token (HTTP ${response.status}); pass --token`);
  }
  if (!response.ok) {
    throw new UsageError(`the Jupyter server at ${baseUrl} answered HTTP ${response.status} to /api/status`);
  }
  return settingsFor(baseUrl, token, { ackFrames: !(await hasKernelNoDelay(baseUrl, token)) });
}

/** Whether the server runs the bridge with TCP_NODELAY on its kernel websockets (`kernel_nodelay` of /aiev/status). */
async function hasKernelNoDelay(baseUrl: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}aiev/status`, { headers: token ? { Authorization: `token ${token}` } : {} });
    return response.ok && (await response.json()).kernel_nodelay === true;
  } catch {
    return false;
  }
}

/** Options of `settingsFor`. */
export interface ISettingsOptions {
  /**
   * Answer every kernel websocket frame with a pong (`AckingWebSocket`): for servers without the bridge's
   * TCP_NODELAY, where each execution would otherwise stall ~40 ms. Default false.
   */
  ackFrames?: boolean;
}

/** `@jupyterlab/services` settings for a server URL and token. */
export function settingsFor(baseUrl: string, token: string, options: ISettingsOptions = {}): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl,
    wsUrl: baseUrl.replace(/^http/, 'ws'),
    token,
    appendToken: true,
    ...(options.ackFrames ? { WebSocket: AckingWebSocket as unknown as typeof WebSocket } : {})
  });
}
