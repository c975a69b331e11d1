/**
 * The scripted model: a real HTTP server on 127.0.0.1 (random free port) that speaks enough of the OpenAI Chat
 * Completions API for the official `openai` SDK. It is the project's only test double; tests point the agent (or
 * the SDK) at `model.baseUrl` and everything else stays real.
 *
 *   const model = await startScriptedModel([
 *     { toolCalls: [{ name: 'run_cell', arguments: { code: '6 * 7' } }] },
 *     request => ({ content: `the kernel said ${lastToolResult(request)}` })
 *   ], { requireApiKey: 'sk-test' });
 *   const client = new OpenAI({ baseURL: model.baseUrl, apiKey: 'sk-test' });
 *   ...
 *   model.verify();      // throws on failures or unconsumed entries
 *   await model.stop();
 *
 * Routes: `POST /v1/chat/completions` consumes the next script entry (one per request, retries included; a
 * function entry is called with the parsed request body) and is recorded in `model.requests` (body, headers, turn
 * index, status, clientAborted). `GET /v1/models` lists `options.models` plus every model requested. Anything else:
 * 404. Every response carries `x-request-id: req_scripted_<n>` (the SDK's `_request_id` / `APIError.requestID`).
 *
 * Turns (see `types.ts`):
 * - reply `{ content?, reasoning?, toolCalls?, finishReason?, usage?, chunkSize?, chunkDelayMs? }`. `stream: false`
 *   gets one `chat.completion` JSON with `usage`. `stream: true` gets `text/event-stream`: a chunk with
 *   `delta: { role: 'assistant', content: '' }`, `reasoning_content` deltas, `content` deltas, per tool call a delta
 *   with `index`, `id`, `type`, `function.name` and `arguments: ''` followed by `{ index, function: { arguments } }`
 *   fragments, a chunk with an empty delta and `finish_reason`, a usage chunk (`choices: []`) when the request set
 *   `stream_options.include_usage` (every other chunk then has `usage: null`), and `data: [DONE]`.
 * - error `{ error: { status, message?, type?, code?, retryAfterMs? } }`: that status with an OpenAI-shaped body and
 *   `retry-after-ms` / `retry-after` headers when `retryAfterMs` is given. The SDK retries 408/409/429/5xx itself,
 *   and each retry consumes the next entry.
 * - cut `{ cut: true, after?, beforeHeaders?, ...reply }`: streaming sends the first `after` SSE events (default
 *   half, the role chunk counts) then closes the socket; non-streaming sends half the JSON body (full
 *   `content-length`) then closes. `beforeHeaders` closes it before any response byte (a connection error).
 * - `delayMs` on any turn waits first; the wait ends early when the client disconnects (recorded as
 *   `clientAborted`) or the server stops.
 *
 * Dialects (`options.dialect`, `model.useDialect`): the departures of real OpenAI-compatible servers from OpenAI's
 * wire format, listed with `Dialect` in `types.ts`.
 *
 * Failures (recorded in `model.failures`, answered 500 with `x-should-retry: false` so the SDK fails at once): script
 * exhausted (`scripted model: script exhausted after N requests`), a turn function that threw or returned no turn.
 * 401 (`requireApiKey` mismatch) and 400 (unparsable JSON) consume no entry.
 */
import { createServer, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

import {
  ChatRequest,
  Dialect,
  ICutTurn,
  IErrorTurn,
  IRecordedRequest,
  IReplyTurn,
  IScriptedModel,
  IScriptedModelOptions,
  ScriptEntry,
  Turn
} from './types';
import { completionBody, errorBody, openAIError, resolveReply, streamEvents } from './wire';

export * from './inspect';
export * from './types';

/** Start a scripted model server on 127.0.0.1 (a free port unless `options.port`); resolves once it listens. */
export async function startScriptedModel(
  script: ScriptEntry[],
  options: IScriptedModelOptions = {}
): Promise<IScriptedModel> {
  const model = new ScriptedModel(script, options);
  await model.listen();
  return model;
}

const CHAT_PATH = '/v1/chat/completions';

/** Where the HTTP status of an answer is noted (a recorded chat request, or a throwaway). */
interface IStatusSink {
  status: number;
}

class ScriptedModel implements IScriptedModel {
  baseUrl = '';
  readonly requests: IRecordedRequest[] = [];
  readonly failures: string[] = [];

  constructor(script: ScriptEntry[], options: IScriptedModelOptions) {
    this.script = [...script];
    this.options = options;
    this.dialect = options.dialect ?? 'openai';
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get remaining(): number {
    return this.script.length - this.consumed;
  }

  push(...entries: ScriptEntry[]): void {
    this.script.push(...entries);
  }

  dropRemaining(): number {
    const dropped = this.remaining;
    this.script.splice(this.consumed);
    return dropped;
  }

  useDialect(dialect: Dialect): void {
    this.dialect = dialect;
  }

  verify(): void {
    const problems = [...this.failures];
    if (this.remaining > 0) {
      problems.push(`${this.remaining} of ${this.script.length} script entries never consumed`);
    }
    if (problems.length) {
      throw new Error(`scripted model: ${problems.join('; ')}`);
    }
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        const { port } = this.server.address() as AddressInfo;
        this.baseUrl = `http://127.0.0.1:${port}/v1`;
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    this.stopping.abort();
    return new Promise(resolve => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    const sink: IStatusSink = { status: 0 };
    res.setHeader('x-request-id', `req_scripted_${++this.received}`);
    try {
      const raw = await readBody(req);
      if (method === 'GET' && path === '/v1/models') {
        if (this.authorized(req, res, sink)) {
          this.sendJson(res, sink, 200, this.modelList());
        }
      } else if (method === 'POST' && path === CHAT_PATH) {
        await this.chat(raw, req, res);
      } else {
        this.fail(res, sink, 404, `scripted model: no route for ${method} ${path}`, false);
      }
    } catch (e) {
      this.failures.push(`scripted model: error answering ${method} ${path}: ${String(e)}`);
      if (!res.headersSent) {
        this.sendJson(res, sink, 500, openAIError(500, `scripted model: ${String(e)}`));
      } else {
        res.destroy();
      }
    }
  }

  private async chat(raw: string, req: IncomingMessage, res: ServerResponse) {
    let request: ChatRequest;
    try {
      request = JSON.parse(raw) as ChatRequest;
    } catch {
      this.fail(res, { status: 0 }, 400, `scripted model: request body is not JSON: ${raw.slice(0, 200)}`, false);
      return;
    }
    const record: IRecordedRequest = {
      headers: req.headers,
      body: request,
      turnIndex: null,
      status: 0,
      clientAborted: false
    };
    this.requests.push(record);
    res.on('close', () => {
      record.clientAborted = !res.writableFinished && !this.cutByServer.has(res);
    });
    if (!this.authorized(req, res, record)) {
      return;
    }
    if (this.dialect === 'rejects-stream-options' && request.stream_options !== undefined) {
      // Mistral's API: an unknown request field is a 422 validation error (not OpenAI's error shape); no entry consumed.
      const detail = [{ type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted' }];
      this.sendJson(res, record, 422, { object: 'error', message: { detail }, type: 'invalid_request_message_error', param: null, code: null });
      return;
    }
    if (this.consumed >= this.script.length) {
      const message = `scripted model: script exhausted after ${this.script.length} requests`;
      this.fail(res, record, 500, message, true, ` (chat request ${this.requests.length} had no turn)`);
      return;
    }
    const index = this.consumed++;
    record.turnIndex = index;
    const entry = this.script[index];
    let turn: Turn;
    try {
      turn = typeof entry === 'function' ? await entry(request, index) : entry;
      if (!turn || typeof turn !== 'object') {
        throw new Error(`returned ${String(turn)} instead of a turn`);
      }
    } catch (e) {
      this.fail(res, record, 500, `scripted model: turn ${index} threw: ${(e as Error)?.message ?? e}`, true);
      return;
    }
    if (!(await this.pause(turn.delayMs ?? 0, res))) {
      return;
    }
    if ('error' in turn) {
      this.sendError(res, record, turn);
    } else if ('cut' in turn && turn.cut) {
      await this.sendCut(res, record, request, turn);
    } else if (request.stream) {
      await this.sendStream(res, record, request, turn as IReplyTurn);
    } else {
      const reply = resolveReply(turn as IReplyTurn, request, this.completionId(), () => this.callId());
      this.sendJson(res, record, 200, completionBody(reply, this.dialect));
    }
  }

  private async sendStream(res: ServerResponse, record: IRecordedRequest, request: ChatRequest, turn: IReplyTurn) {
    const reply = resolveReply(turn, request, this.completionId(), () => this.callId());
    const includeUsage = Boolean(request.stream_options?.include_usage);
    const events = streamEvents(reply, { chunkSize: turn.chunkSize, includeUsage, withFinish: true, dialect: this.dialect });
    this.startStream(res, record);
    for (const event of events) {
      if (!(await this.sendEvent(res, JSON.stringify(event), turn.chunkDelayMs))) {
        return;
      }
    }
    if (await this.sendEvent(res, '[DONE]', 0)) {
      res.end();
    }
  }

  private async sendCut(res: ServerResponse, record: IRecordedRequest, request: ChatRequest, turn: ICutTurn) {
    this.cutByServer.add(res);
    if (turn.beforeHeaders) {
      res.destroy();
      return;
    }
    const reply = resolveReply(turn, request, this.completionId(), () => this.callId());
    if (!request.stream) {
      const body = Buffer.from(JSON.stringify(completionBody(reply)));
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      await write(res, body.subarray(0, Math.floor(body.length / 2)));
      cutConnection(res);
      return;
    }
    const includeUsage = Boolean(request.stream_options?.include_usage);
    const events = streamEvents(reply, { chunkSize: turn.chunkSize, includeUsage, withFinish: false, dialect: this.dialect });
    const after = Math.max(0, Math.min(turn.after ?? Math.ceil(events.length / 2), events.length));
    this.startStream(res, record);
    res.flushHeaders();
    for (const event of events.slice(0, after)) {
      if (!(await this.sendEvent(res, JSON.stringify(event), turn.chunkDelayMs))) {
        return;
      }
    }
    cutConnection(res);
  }

  private sendError(res: ServerResponse, record: IRecordedRequest, turn: IErrorTurn) {
    const headers: OutgoingHttpHeaders = {};
    const wait = turn.error.retryAfterMs;
    if (wait !== undefined) {
      headers['retry-after-ms'] = String(wait);
      headers['retry-after'] = String(Math.ceil(wait / 1000));
    }
    this.sendJson(res, record, turn.error.status, errorBody(turn.error), headers);
  }

  /** Answer `status` with an OpenAI-shaped error and record it (plus `detail`) as a failure. */
  private fail(res: ServerResponse, sink: IStatusSink, status: number, message: string, noRetry: boolean, detail = '') {
    this.failures.push(message + detail);
    const headers: OutgoingHttpHeaders = noRetry ? { 'x-should-retry': 'false' } : {};
    this.sendJson(res, sink, status, openAIError(status, message), headers);
  }

  private authorized(req: IncomingMessage, res: ServerResponse, sink: IStatusSink): boolean {
    const key = this.options.requireApiKey;
    if (key === undefined || req.headers.authorization === `Bearer ${key}`) {
      return true;
    }
    const body = openAIError(401, 'scripted model: incorrect API key provided', undefined, 'invalid_api_key');
    this.sendJson(res, sink, 401, body);
    return false;
  }

  private modelList(): object {
    const names = new Set(this.options.models ?? ['scripted-model']);
    for (const { body } of this.requests) {
      if (typeof body.model === 'string') {
        names.add(body.model);
      }
    }
    const data = [...names].map(id => ({ id, object: 'model', created: 0, owned_by: 'scripted-model' }));
    return { object: 'list', data };
  }

  private sendJson(
    res: ServerResponse,
    sink: IStatusSink,
    status: number,
    body: object,
    headers: OutgoingHttpHeaders = {}
  ) {
    const text = JSON.stringify(body);
    sink.status = status;
    const length = Buffer.byteLength(text);
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': length });
    res.end(text);
  }

  private startStream(res: ServerResponse, record: IRecordedRequest) {
    record.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive'
    });
  }

  /** Write one SSE event after `delayMs`; false when the client or the server went away. */
  private async sendEvent(res: ServerResponse, data: string, delayMs = 0): Promise<boolean> {
    if (!(await this.pause(delayMs, res))) {
      return false;
    }
    return write(res, `data: ${data}\n\n`);
  }

  /** Wait `ms`; resolves false at once if the response is closed or the server stops meanwhile. */
  private pause(ms: number, res: ServerResponse): Promise<boolean> {
    const gone = () => res.destroyed || this.stopping.signal.aborted;
    if (ms <= 0 || gone()) {
      return Promise.resolve(!gone());
    }
    return new Promise(resolve => {
      const finish = (completed: boolean) => {
        clearTimeout(timer);
        res.off('close', onGone);
        this.stopping.signal.removeEventListener('abort', onGone);
        resolve(completed && !gone());
      };
      const onGone = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      res.once('close', onGone);
      this.stopping.signal.addEventListener('abort', onGone, { once: true });
    });
  }

  private completionId(): string {
    return `chatcmpl-scripted-${++this.completions}`;
  }

  private callId(): string {
    return `call_${++this.calls}`;
  }

  private readonly script: ScriptEntry[];
  private readonly options: IScriptedModelOptions;
  private dialect: Dialect;
  private readonly server: Server;
  private readonly stopping = new AbortController();
  private readonly cutByServer = new WeakSet<ServerResponse>();
  private consumed = 0;
  private received = 0;
  private completions = 0;
  private calls = 0;
}

/** The whole request body as UTF-8 text. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Write and wait until flushed to the socket; false when the response is already gone or the write failed. */
function write(res: ServerResponse, data: string | Buffer): Promise<boolean> {
  if (res.destroyed) {
    return Promise.resolve(false);
  }
  return new Promise(resolve => res.write(data, error => resolve(!error)));
}

/** Close the connection once what was written is flushed, leaving the HTTP response unfinished. */
function cutConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) {
    res.destroy();
    return;
  }
  socket.end(() => socket.destroy());
}
