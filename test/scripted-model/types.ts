/**
 * Types of the scripted model server: the script a test writes and what the server records.
 * See `server.ts` for how each turn goes out on the wire.
 */
import type { IncomingHttpHeaders } from 'http';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';

/** The parsed JSON body of one `POST /v1/chat/completions` (untrusted: whatever the client sent). */
export type ChatRequest = ChatCompletionCreateParams;

/** One tool call of a scripted assistant reply. */
export interface IScriptedToolCall {
  /** The call id; `call_<n>` (counting every call this server made, from 1) when omitted. */
  id?: string;
  /** The function name. */
  name: string;
  /** A string goes out verbatim (so malformed JSON can be sent); an object is `JSON.stringify`-ed. */
  arguments: string | object;
}

/** Token counts reported in `usage`; estimated (about 4 characters a token) when omitted. */
export interface IScriptedUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** Fields every turn may have. */
export interface ITurnTiming {
  /** Wait this long before answering; ends early when the client disconnects or the server stops. */
  delayMs?: number;
}

/** A normal assistant reply. */
export interface IReplyTurn extends ITurnTiming {
  content?: string;
  /** Sent as `reasoning_content` (vLLM / DeepSeek style) in the message or the deltas. */
  reasoning?: string;
  toolCalls?: IScriptedToolCall[];
  /** Default: `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  usage?: IScriptedUsage;
  /** Streaming: most characters per content, reasoning or arguments delta; default 8. */
  chunkSize?: number;
  /** Streaming: pause between SSE events (lets a test cancel mid-stream); default 0. */
  chunkDelayMs?: number;
  /** Answer with an empty `choices` list (whole reply) or chunks that carry none (stream), as broken servers do. */
  emptyChoices?: boolean;
}

/** An HTTP error with an OpenAI-shaped body `{"error": {"message", "type", "code"}}`. */
export interface IErrorTurn extends ITurnTiming {
  error: {
    status: number;
    message?: string;
    /** Default from the status: `rate_limit_exceeded`, `server_error`, `invalid_request_error`, ... */
    type?: string;
    code?: string | null;
    /** Sent as `retry-after-ms` and, rounded up to seconds, `retry-after`. */
    retryAfterMs?: number;
  };
}

/**
 * A connection cut mid-answer. Streaming: the reply's SSE events up to `after` (default: half of them), then the
 * socket is destroyed with no finish_reason and no `[DONE]`. Non-streaming: half the JSON body, then destroyed.
 */
export interface ICutTurn extends Omit<IReplyTurn, 'finishReason' | 'usage'> {
  cut: true;
  /** Streaming: how many SSE events (the role chunk included) go out before the cut. */
  after?: number;
  /** Destroy the socket before any response header: the client sees a connection error (which the SDK retries). */
  beforeHeaders?: boolean;
}

/** What the model answers to one request. */
export type Turn = IReplyTurn | IErrorTurn | ICutTurn;

/** Computes a turn from the request it answers (`index`: position of this entry in the script, from 0). */
export type TurnFunction = (request: ChatRequest, index: number) => Turn | Promise<Turn>;

/** One script entry: consumed by exactly one chat.completions request, in order. */
export type ScriptEntry = Turn | TurnFunction;

/** One `POST /v1/chat/completions` the server received, as the test can inspect it. */
export interface IRecordedRequest {
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: ChatRequest;
  /** Index of the script entry this request consumed; `null` when it consumed none (401, script exhausted). */
  turnIndex: number | null;
  /** HTTP status sent (200 for streams and cuts); `0` until the headers go out or when dropped before them. */
  status: number;
  /** True when the client closed the connection before the server finished answering (cancellation). */
  clientAborted: boolean;
}

/**
 * How the server departs from OpenAI's wire format, as real OpenAI-compatible servers do:
 * - `openai`: OpenAI's own format (the default);
 * - `repeated-name`: every tool-call delta repeats the call's id, type and function name (MiniMax behind NVIDIA NIM);
 * - `whole-tool-call`: each tool call in one delta with all its arguments, and `finish_reason: "stop"` (Ollama);
 * - `stop-finish`: `finish_reason: "stop"` although the turn calls tools (some vLLM versions);
 * - `no-index`: tool-call deltas without `index` (the first delta of a call carries its id);
 * - `no-usage`: no usage chunk even when `stream_options.include_usage` asks for it;
 * - `rejects-stream-options`: a request with `stream_options` gets 422 "Extra inputs are not permitted" and consumes
 *   no script entry (Mistral's API; older Azure versions answer 400 alike);
 * - `object-arguments`: whole (non-streamed) replies carry tool-call arguments as a JSON object, not a string.
 */
export type Dialect =
  | 'openai'
  | 'repeated-name'
  | 'whole-tool-call'
  | 'stop-finish'
  | 'no-index'
  | 'no-usage'
  | 'rejects-stream-options'
  | 'object-arguments';

/** Options of `startScriptedModel`. */
export interface IScriptedModelOptions {
  /** The wire dialect (default `openai`); `IScriptedModel.useDialect` changes it later. */
  dialect?: Dialect;
  /** When set, requests whose `Authorization` is not `Bearer <this>` get 401 and consume no script entry. */
  requireApiKey?: string;
  /** Names listed by `GET /v1/models` (plus every model requested so far); default `['scripted-model']`. */
  models?: string[];
  /** Listen on this port (a server configured to call a fixed URL, e.g. the UI tests' lab); default a free one. */
  port?: number;
}

/** A running scripted model server. */
export interface IScriptedModel {
  /** E.g. `http://127.0.0.1:PORT/v1`: the OpenAI SDK's `baseURL`. */
  readonly baseUrl: string;
  /** Every chat.completions request with a JSON body, in arrival order (SDK retries included); live. */
  readonly requests: IRecordedRequest[];
  /** Script entries not yet consumed. */
  readonly remaining: number;
  /** Problems found while serving: turn functions that threw, exhaustion, unknown routes, unparsable bodies. */
  readonly failures: string[];
  /** Append entries to the script. */
  push(...entries: ScriptEntry[]): void;
  /** Drop the script entries not consumed yet (a test that failed half-way leaves none to the next); returns how many. */
  dropRemaining(): number;
  /** Speak another dialect from the next request on. */
  useDialect(dialect: Dialect): void;
  /** Throw an Error listing `failures` and unconsumed entries, if any. */
  verify(): void;
  /** Stop listening, end pending delays and destroy open connections. */
  stop(): Promise<void>;
}
