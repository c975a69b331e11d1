/**
 * The browser's paths to the server bridge, all through Jupyter's authenticated request path
 * (`ServerConnection.makeRequest`: token and XSRF): JSON routes under `<base_url>/aiev/`, the REST clients of the
 * config and the session store, and the `fetch` the `openai` SDK uses for the model proxy.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { ILogLine } from './trace/eventLog';
import type { ISample, ITask, IVerification } from './trace/types';
import type { IBridgeConfig, IBridgeStatus, ISessionSummary } from './tokens';

/** A bridge route answered with an error status; `body` is its parsed JSON (null when not JSON). */
export class BridgeResponseError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string,
    readonly body: unknown
  ) {
    super(response, message);
    this.name = 'BridgeResponseError';
  }
}

/** The message an error body carries: `{message}` (Jupyter) or `{error: {message}}` (OpenAI-shaped). */
export function messageOfBody(body: unknown): string | undefined {
  if (body && typeof body === 'object') {
    const record = body as { message?: unknown; error?: { message?: unknown } };
    if (typeof record.message === 'string' && record.message) {
      return record.message;
    }
    if (typeof record.error?.message === 'string' && record.error.message) {
      return record.error.message;
    }
  }
  return undefined;
}

/** Call a route of the server bridge under `<base_url>/aiev/`, with Jupyter's auth, and parse its JSON. */
export async function requestBridge<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'aiev', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw error instanceof ServerConnection.NetworkError ? error : new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) {
    const message = messageOfBody(body) ?? (text || response.statusText);
    throw new BridgeResponseError(response, message, body);
  }
  return (body ?? {}) as T;
}

function parseJson(text: string): unknown {
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * A `fetch` for the `openai` SDK that sends its requests through `ServerConnection.makeRequest`, so they carry
 * Jupyter's token and XSRF header. The SDK's own `Authorization` (a placeholder key) is dropped: the bridge's
 * model proxy adds the real key on the server.
 */
export function bridgeFetch(settings: ServerConnection.ISettings = ServerConnection.makeSettings()): typeof fetch {
  return (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init.headers);
    headers.delete('Authorization');
    return ServerConnection.makeRequest(url, { ...init, headers }, settings);
  };
}

/** Base URL of the bridge's OpenAI-compatible model proxy (`<base_url>/aiev/llm/v1`). */
export function modelProxyUrl(settings: ServerConnection.ISettings = ServerConnection.makeSettings()): string {
  return URLExt.join(settings.baseUrl, 'aiev', 'llm', 'v1');
}

/** The bridge's session store and config, as REST calls. */
export class BridgeClient {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** What the bridge says about itself and its server (`GET /aiev/status`). */
  status(): Promise<IBridgeStatus> {
    return requestBridge<IBridgeStatus>('status', {}, this.settings);
  }

  /**
   * When a session started by the server's clock (what its files are stamped with): now for a new one; for one
   * resumed from `lines`, its header's time (this browser's clock) corrected by the two clocks' difference now.
   */
  async sessionStart(lines?: readonly ILogLine[]): Promise<Date> {
    const server = (await this.status()).time_ms;
    const header = lines?.find(line => line.kind === 'header')?.payload as { created_at?: string } | undefined;
    const created = Date.parse(header?.created_at ?? '');
    return new Date(Number.isFinite(created) ? created + (server - Date.now()) : server);
  }

  /** What model the server proxies, whether a key is set, or why nothing is configured. */
  config(): Promise<IBridgeConfig> {
    return requestBridge<IBridgeConfig>('config', {}, this.settings);
  }

  /** The saved sessions of one notebook, newest first as the server orders them. */
  async sessions(notebookPath: string): Promise<ISessionSummary[]> {
    const query = URLExt.objectToQueryString({ notebook: notebookPath });
    const reply = await requestBridge<{ sessions: ISessionSummary[] }>(`sessions${query}`, {}, this.settings);
    return reply.sessions ?? [];
  }

  /**
   * Append event-log lines; resolves with the seq the server expects next. A `BridgeResponseError` with status
   * 409 carries `{message, next_seq}` in its body when `lines[0].seq` is not the server's next seq.
   */
  async appendEvents(id: string, lines: ILogLine[]): Promise<number> {
    const init = { method: 'POST', body: JSON.stringify({ lines }) };
    const reply = await requestBridge<{ next_seq: number }>(`sessions/${encodeURIComponent(id)}/events`, init, this.settings);
    return reply.next_seq;
  }

  /** The whole event log of a session. */
  async events(id: string): Promise<ILogLine[]> {
    const reply = await requestBridge<{ lines: ILogLine[] }>(`sessions/${encodeURIComponent(id)}/events`, {}, this.settings);
    return reply.lines ?? [];
  }

  /** Store a session's record (the record JSON that `aiev verify` and `export` read). */
  async putRecord(id: string, record: ISample): Promise<void> {
    const init = { method: 'PUT', body: JSON.stringify(record) };
    await requestBridge<unknown>(`sessions/${encodeURIComponent(id)}/record`, init, this.settings);
  }

  /** The verification block of a fresh replay of `record`'s final notebook on the server (`POST /aiev/verify`). */
  verify(record: ISample): Promise<IVerification> {
    return requestBridge<IVerification>('verify', { method: 'POST', body: JSON.stringify(record) }, this.settings);
  }

  /**
   * The files named by `names` (relative to the folder of the server notebook `notebookPath`) that are files
   * there, with their sha256, not modified since `modifiedBefore`: a session's attachments.
   */
  async attachments(notebookPath: string, names: string[], modifiedBefore?: Date): Promise<ITask['attachments']> {
    const body = { notebook_path: notebookPath, names, ...(modifiedBefore ? { modified_before: modifiedBefore.getTime() } : {}) };
    const reply = await requestBridge<{ attachments: ITask['attachments'] }>('attachments', { method: 'POST', body: JSON.stringify(body) }, this.settings);
    return reply.attachments ?? [];
  }

  /** A session's stored record. */
  record(id: string): Promise<ISample> {
    return requestBridge<ISample>(`sessions/${encodeURIComponent(id)}/record`, {}, this.settings);
  }

  /** Delete a session's log and record. */
  async deleteSession(id: string): Promise<void> {
    await requestBridge<unknown>(`sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }, this.settings);
  }
}
