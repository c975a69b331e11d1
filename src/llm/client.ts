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
    const { signal, onDelta } = options;
    const maxTurnRetries = this._options.maxTurnRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return this.streaming
          ? await this._streamed(messages, tools, signal, onDelta)
          : await this._whole(messages, tools, signal);
      } catch (error) {
        if (signal?.aborted || error instanceof APIUserAbortError) {
          throw new ModelAbortedError();
        }
        if (error instanceof APIError && error.status !== undefined) {
          throw new ModelError(`model endpoint answered HTTP ${error.status}: ${error.message}`, error.status);
        }
        if (attempt >= maxTurnRetries) {
          throw new ModelError(`model request failed after ${attempt + 1} attempts: ${(error as Error).message}`);
        }
        options.onRetry?.(attempt + 1, error as Error);
        await sleep(500 * 2 ** attempt, signal);
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
        .filter(call => call.type === 'function')
        .map(call => ({ id: call.id, name: call.function.name, arguments: call.function.arguments ?? '' })),
      finishReason: choice.finish_reason ?? null,
      usage: response.usage
        ? { prompt_tokens: response.usage.prompt_tokens, completion_tokens: response.usage.completion_tokens }
        : undefined
    };
  }

  private async _streamed(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionTool[] | undefined,
    signal?: AbortSignal,
    onDelta?: (delta: ITurnDelta) => void
  ): Promise<IAssistantTurn> {
    const stream = await this._client.chat.completions.create(
      { ...this._params(messages, tools), stream: true, stream_options: { include_usage: true } },
      { signal }
    );
    const turn = new TurnAssembler();
    for await (const chunk of stream) {
      const delta = turn.add(chunk);
      if (onDelta && (delta.text || delta.reasoning)) {
        onDelta(delta);
      }
    }
    return turn.finish();
  }

  private readonly _client: OpenAI;
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
      const slot = this._calls.get(call.index) ?? { id: '', name: '', arguments: '' };
      slot.id ||= call.id ?? '';
      slot.name += call.function?.name ?? '';
      slot.arguments += call.function?.arguments ?? '';
      this._calls.set(call.index, slot);
    }
    if (choice.finish_reason) {
      this._finishReason = choice.finish_reason;
    }
    return { ...(text ? { text } : {}), ...(reasoning ? { reasoning } : {}) };
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
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new ModelAbortedError());
      },
      { once: true }
    );
  });
}
