import OpenAI, { APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool
} from 'openai/resources/chat/completions';

/** Options of `ChatClient`. */
export interface IChatClientOptions {
  /** OpenAI-compatible base URL, e.g. `http://127.0.0.1:8000/v1`. */
  baseURL: string;
  /** Sent as `Authorization: Bearer`; local servers accept any non-empty value. */
  apiKey: string;
  model: string;
  /** Stream the reply (default true). */
  stream?: boolean;
  /** Retries of HTTP 408/409/429/5xx and connection errors, with the SDK's exponential backoff (default 4). */
  maxRetries?: number;
  /** Retries of a turn whose stream was cut or whose body did not parse (default 2). */
  maxTurnRetries?: number;
  /** Per-request timeout in ms (default 600 000). */
  timeoutMs?: number;
  /** Extra sampling parameters (temperature, top_p, seed, max_tokens …). */
  sampling?: Partial<Pick<ChatCompletionCreateParamsBase, 'temperature' | 'top_p' | 'seed' | 'max_tokens'>>;
  /**
   * The `fetch` requests go through. In the browser: one through Jupyter's authenticated request path to the
   * server's model proxy (the key stays on the server). Setting it also allows the SDK to run in a browser.
   */
  fetch?: typeof fetch;
}

/** Per-request options of `ChatClient.complete`. */
export interface ICompleteOptions {
  /** Aborts the request (`ModelAbortedError`). */
  signal?: AbortSignal;
  /** The streamed text as it arrives (a retried turn starts again from nothing). */
  onDelta?: (delta: ITurnDelta) => void;
  /** Called before a turn is retried after a cut stream or an unparseable body. */
  onRetry?: (attempt: number, error: Error) => void;
  /** Called once per client for each way it adapted to the endpoint's dialect (see `ModelAdaptation`). */
  onAdaptation?: (adaptation: ModelAdaptation, detail: string) => void;
}

/**
 * How the client adapted to an OpenAI-compatible server that differs from OpenAI's API, remembered for the
 * client's life: `stream_options_rejected` (the server answered 400/422 to a request with `stream_options`, as
 * Mistral's API and older Azure versions do, and the same request without it worked: requests go without it from
 * then on, and streamed token counts are unknown); `tool_call_name_repeated` (the
 * server repeats the function name in every tool-call delta, as MiniMax behind NVIDIA NIM does: it is taken once).
 */
export type ModelAdaptation = 'stream_options_rejected' | 'tool_call_name_repeated';

/** A 400 or 422: how servers that do not know `stream_options` refuse a request carrying it. */
function isBadRequest(error: unknown): error is APIError {
  return error instanceof APIError && (error.status === 400 || error.status === 422);
}

/** A piece of a streamed turn, as it arrives (text or reasoning; tool-call arguments are not streamed out). */
export interface ITurnDelta {
  text?: string;
  reasoning?: string;
}

/** A tool call exactly as the model produced it; `arguments` is raw text, possibly not JSON. */
export interface IModelToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** One assistant turn, assembled from a streamed or a whole response. */
export interface IAssistantTurn {
  text: string;
  reasoning?: string;
  toolCalls: IModelToolCall[];
  finishReason: string | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

/** The model endpoint failed for good (retries exhausted, bad request, auth); `status` is the HTTP status if any. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** The caller aborted the request. */
export class ModelAbortedError extends Error {
  constructor() {
    super('model request aborted');
    this.name = 'ModelAbortedError';
  }
}

/** Chat Completions against any OpenAI-compatible endpoint through the `openai` SDK. */
export class ChatClient {
  constructor(private readonly _options: IChatClientOptions) {
    this._client = new OpenAI({
      baseURL: _options.baseURL,
      apiKey: _options.apiKey,
      maxRetries: _options.maxRetries ?? 4,
      timeout: _options.timeoutMs ?? 600000,
      ...(_options.fetch ? { fetch: _options.fetch, dangerouslyAllowBrowser: true } : {})
    });
  }

  /** The model name requests go to. */
  get model(): string {
    return this._options.model;
  }

  /** Whether replies are streamed. */
  get streaming(): boolean {
    return this._options.stream ?? true;
  }

  /**
   * One assistant turn. HTTP errors are retried by the SDK; a cut stream or an unparseable body is retried here
   * (`maxTurnRetries`). Throws `ModelError` when retries run out, `ModelAbortedError` when `signal` fires.
   */
  async complete(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionTool[] | undefined,
    options: ICompleteOptions = {}
  ): Promise<IAssistantTurn> {
    const { signal } = options;
    const maxTurnRetries = this._options.maxTurnRetries ?? 2;
    let refused: APIError | null = null; // a 400/422 to a request with stream_options, retried once without
    for (let attempt = 0; ; attempt++) {
      const request = requestSignal(signal);
      try {
        const turn = this.streaming
          ? await this._streamed(messages, tools, { ...options, signal: request.signal })
          : await this._whole(messages, tools, request.signal);
        if (refused) {
          this._adapted('stream_options_rejected', `${refused.message}; streamed without stream_options (token counts unknown)`, options);
        }
        return turn;
      } catch (error) {
        if (signal?.aborted || error instanceof APIUserAbortError) {
          throw new ModelAbortedError();
        }
        if (this.streaming && this._streamOptions && isBadRequest(error)) {
          // Mistral's API (422) and older Azure versions (400) refuse `stream_options`: try once without it.
          refused = error;
          this._streamOptions = false;
          attempt--;
          continue;
        }
        if (refused && error instanceof APIError) {
          this._streamOptions = true; // it was not stream_options after all
          error = refused;
        }
        if (error instanceof APIError && error.status !== undefined) {
          throw new ModelError(`model endpoint answered HTTP ${error.status}: ${error.message}`, error.status);
        }
        if (attempt >= maxTurnRetries) {
          throw new ModelError(`model request failed after ${attempt + 1} attempts: ${(error as Error).message}`);
        }
        options.onRetry?.(attempt + 1, error as Error);
        await sleep(500 * 2 ** attempt, signal);
      } finally {
        request.done();
      }
    }
  }

  private _params(messages: ChatCompletionMessageParam[], tools: ChatCompletionTool[] | undefined) {
    return {
      model: this._options.model,
      messages,
      ...(tools?.length ? { tools, tool_choice: 'auto' as const } : {}),
      ...this._options.sampling
    };
  }

  private async _whole(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionTool[] | undefined,
    signal?: AbortSignal
  ): Promise<IAssistantTurn> {
    const response = await this._client.chat.completions.create(
      { ...this._params(messages, tools), stream: false },
      { signal }
    );
    const choice = response.choices?.[0];
    if (!choice) {
      throw new Error('the response has no choices');
    }
    const message = choice.message as typeof choice.message & { reasoning_content?: string; reasoning?: string };
    return {
      text: message.content ?? '',
      reasoning: message.reasoning_content ?? message.reasoning ?? undefined,
      toolCalls: (message.tool_calls ?? [])
        .filter(call => call.type === 'function' || (call.type === undefined && 'function' in call))
        .map((call, index) => {
          const fn = (call as { function: { name: string; arguments?: unknown } }).function;
          // Some servers send the arguments as an object rather than a JSON string.
          const args = typeof fn.arguments === 'string' ? fn.arguments : fn.arguments === undefined ? '' : JSON.stringify(fn.arguments);
          return { id: call.id || `call_${index}`, name: fn.name, arguments: args };
        }),
      finishReason: choice.finish_reason ?? null,
      usage: response.usage
        ? { prompt_tokens: response.usage.prompt_tokens, completion_tokens: response.usage.completion_tokens }
        : undefined
    };
  }

  private async _streamed(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionTool[] | undefined,
    options: ICompleteOptions
  ): Promise<IAssistantTurn> {
    const stream = await this._client.chat.completions.create(
      {
        ...this._params(messages, tools),
        stream: true,
        ...(this._streamOptions ? { stream_options: { include_usage: true } } : {})
      },
      { signal: options.signal }
    );
    const turn = new TurnAssembler();
    for await (const chunk of stream) {
      const delta = turn.add(chunk);
      if (options.onDelta && (delta.text || delta.reasoning)) {
        options.onDelta(delta);
      }
    }
    if (turn.nameRepeated) {
      this._adapted('tool_call_name_repeated', 'the endpoint repeats the function name in every tool-call delta; it was taken once', options);
    }
    return turn.finish();
  }

  /** Reports an adaptation the first time this client makes it. */
  private _adapted(adaptation: ModelAdaptation, detail: string, options: ICompleteOptions): void {
    if (!this._adaptations.has(adaptation)) {
      this._adaptations.add(adaptation);
      options.onAdaptation?.(adaptation, detail);
    }
  }

  private readonly _client: OpenAI;
  /** Whether streamed requests ask for a usage chunk (`stream_options`); off once the server refused it. */
  private _streamOptions = true;
  private readonly _adaptations = new Set<ModelAdaptation>();
}

/** Accumulates streamed chunks into one turn: content, reasoning and tool calls by index. */
export class TurnAssembler {
  /** Adds one chunk; returns the text and reasoning it carried. */
  add(chunk: ChatCompletionChunk): ITurnDelta {
    if (chunk.usage) {
      this._usage = { prompt_tokens: chunk.usage.prompt_tokens, completion_tokens: chunk.usage.completion_tokens };
    }
    const choice = chunk.choices?.[0];
    if (!choice) {
      return {};
    }
    const delta = choice.delta as typeof choice.delta & { reasoning_content?: string; reasoning?: string };
    const text = delta.content ?? '';
    const reasoning = delta.reasoning_content ?? delta.reasoning ?? '';
    this._text += text;
    this._reasoning += reasoning;
    for (const call of delta.tool_calls ?? []) {
      const index = this._indexOf(call);
      const slot = this._calls.get(index) ?? { id: '', name: '', arguments: '' };
      slot.id ||= call.id ?? '';
      // The name is an identifier sent once; some servers repeat it in every delta (take it once).
      const name = call.function?.name;
      if (name && !slot.name) {
        slot.name = name;
      } else if (name) {
        this._nameRepeated = true;
      }
      const args = call.function?.arguments as unknown;
      slot.arguments += typeof args === 'string' ? args : args === undefined || args === null ? '' : JSON.stringify(args);
      this._calls.set(index, slot);
    }
    if (choice.finish_reason) {
      this._finishReason = choice.finish_reason;
    }
    return { ...(text ? { text } : {}), ...(reasoning ? { reasoning } : {}) };
  }

  /** True when a tool-call delta repeated a function name already taken. */
  get nameRepeated(): boolean {
    return this._nameRepeated;
  }

  /**
   * The slot of a tool-call delta: its `index`; without one (some servers omit it), a delta with a new id starts the
   * next call and any other continues the last one.
   */
  private _indexOf(call: { index?: number; id?: string }): number {
    if (typeof call.index === 'number') {
      return call.index;
    }
    const last = Math.max(-1, ...this._calls.keys());
    const current = this._calls.get(last);
    return call.id && current && current.id && current.id !== call.id ? last + 1 : Math.max(last, 0);
  }

  /** The assembled turn; throws when the stream ended without a finish reason (a cut connection). */
  finish(): IAssistantTurn {
    if (this._finishReason === null) {
      throw new Error('the stream ended before the model finished (no finish_reason)');
    }
    return {
      text: this._text,
      reasoning: this._reasoning || undefined,
      toolCalls: [...this._calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, call]) => ({ ...call, id: call.id || `call_${index}` })),
      finishReason: this._finishReason,
      usage: this._usage
    };
  }

  private _text = '';
  private _reasoning = '';
  private _calls = new Map<number, IModelToolCall>();
  private _finishReason: string | null = null;
  private _usage: IAssistantTurn['usage'];
  private _nameRepeated = false;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(new ModelAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * A signal for one request that aborts when `parent` does. The SDK leaves the abort listener it adds on the signal it
 * is given; a request's own signal takes it, and `done` takes the link to `parent` off once the request is over, so a
 * turn's signal does not gather a listener per request (Node warns past 10).
 */
function requestSignal(parent: AbortSignal | undefined): { signal: AbortSignal | undefined; done: () => void } {
  if (!parent) {
    return { signal: undefined, done: () => undefined };
  }
  const controller = new AbortController();
  const abort = () => controller.abort(parent.reason);
  if (parent.aborted) {
    abort();
  } else {
    parent.addEventListener('abort', abort, { once: true });
  }
  return { signal: controller.signal, done: () => parent.removeEventListener('abort', abort) };
}
