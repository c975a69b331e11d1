/**
 * The OpenAI Chat Completions wire format of a scripted reply: one `chat.completion` object (non-streaming) or the
 * `chat.completion.chunk` events of a stream, and the OpenAI-shaped error body.
 */
import { ChatRequest, Dialect, IErrorTurn, IReplyTurn, IScriptedUsage } from './types';

/** A tool call with its id assigned and its arguments as the exact string sent. */
export interface IResolvedToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A reply turn made concrete for one request. */
export interface IResolvedReply {
  /** `chatcmpl-...` id shared by the completion or all chunks. */
  id: string;
  model: string;
  created: number;
  content: string | undefined;
  reasoning: string | undefined;
  toolCalls: IResolvedToolCall[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  emptyChoices: boolean;
}

type Json = Record<string, unknown>;

/** Resolve a reply turn: ids for tool calls (from `nextCallId`), argument strings, finish reason and usage. */
export function resolveReply(
  turn: IReplyTurn,
  request: ChatRequest,
  id: string,
  nextCallId: () => string
): IResolvedReply {
  const toolCalls = (turn.toolCalls ?? []).map(call => ({
    id: call.id ?? nextCallId(),
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments)
  }));
  const generated = (turn.content ?? '') + (turn.reasoning ?? '') + toolCalls.map(c => c.name + c.arguments).join('');
  const usage: IScriptedUsage = turn.usage ?? {
    prompt_tokens: estimateTokens(JSON.stringify(request.messages ?? [])),
    completion_tokens: estimateTokens(generated)
  };
  return {
    id,
    model: typeof request.model === 'string' ? request.model : 'scripted-model',
    created: Math.floor(Date.now() / 1000),
    content: turn.content,
    reasoning: turn.reasoning,
    toolCalls,
    finishReason: turn.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    emptyChoices: turn.emptyChoices ?? false
  };
}

/** The non-streaming `chat.completion` object. */
export function completionBody(reply: IResolvedReply, dialect: Dialect = 'openai'): Json {
  const message: Json = {
    role: 'assistant',
    content: reply.content ?? (reply.toolCalls.length ? null : ''),
    refusal: null
  };
  if (reply.reasoning !== undefined) {
    message.reasoning_content = reply.reasoning;
  }
  if (reply.toolCalls.length) {
    message.tool_calls = reply.toolCalls.map(call => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: dialect === 'object-arguments' ? parsedOrText(call.arguments) : call.arguments }
    }));
  }
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: reply.emptyChoices ? [] : [{ index: 0, message, logprobs: null, finish_reason: reply.finishReason }],
    usage: reply.usage
  };
}

/**
 * The `data:` payloads of a stream, `[DONE]` excluded: the role chunk, reasoning and content deltas, tool calls
 * (first delta of a call: index, id, type, name and empty arguments; then argument fragments with only the index),
 * then, when `withFinish`, the finish_reason chunk and (if `includeUsage`) the usage chunk with empty choices.
 */
export function streamEvents(
  reply: IResolvedReply,
  options: { chunkSize?: number; includeUsage: boolean; withFinish: boolean; dialect?: Dialect }
): Json[] {
  const dialect = options.dialect ?? 'openai';
  if (reply.emptyChoices) {
    return [{ id: reply.id, object: 'chat.completion.chunk', created: reply.created, model: reply.model, choices: [] }];
  }
  const size = Math.max(1, options.chunkSize ?? 8);
  const chunk = (delta: Json, finishReason: string | null = null): Json => ({
    id: reply.id,
    object: 'chat.completion.chunk',
    created: reply.created,
    model: reply.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(options.includeUsage ? { usage: null } : {})
  });
  const events: Json[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of split(reply.reasoning ?? '', size)) {
    events.push(chunk({ reasoning_content: piece }));
  }
  for (const piece of split(reply.content ?? '', size)) {
    events.push(chunk({ content: piece }));
  }
  reply.toolCalls.forEach((call, index) => {
    const at = dialect === 'no-index' ? {} : { index };
    const head = { ...at, id: call.id, type: 'function' };
    if (dialect === 'whole-tool-call') {
      events.push(chunk({ tool_calls: [{ ...head, function: { name: call.name, arguments: call.arguments } }] }));
      return;
    }
    events.push(chunk({ tool_calls: [{ ...head, function: { name: call.name, arguments: '' } }] }));
    for (const piece of split(call.arguments, size)) {
      const delta = dialect === 'repeated-name' ? { ...head, function: { name: call.name, arguments: piece } } : { ...at, function: { arguments: piece } };
      events.push(chunk({ tool_calls: [delta] }));
    }
  });
  const stops = dialect === 'whole-tool-call' || dialect === 'stop-finish';
  if (options.withFinish) {
    events.push(chunk({}, stops && reply.finishReason === 'tool_calls' ? 'stop' : reply.finishReason));
    if (options.includeUsage && dialect !== 'no-usage') {
      events.push({ ...chunk({}), choices: [], usage: reply.usage });
    }
  }
  return events;
}

/** The OpenAI-shaped error body of an error turn. */
export function errorBody(error: IErrorTurn['error']): Json {
  return openAIError(error.status, error.message ?? `scripted error ${error.status}`, error.type, error.code);
}

/** `{"error": {"message", "type", "param", "code"}}` with a type derived from the status when not given. */
export function openAIError(status: number, message: string, type?: string, code?: string | null): Json {
  return {
    error: { message, type: type ?? defaultErrorType(status), param: null, code: code === undefined ? null : code }
  };
}

function defaultErrorType(status: number): string {
  if (status === 401) {
    return 'invalid_request_error';
  }
  if (status === 429) {
    return 'rate_limit_exceeded';
  }
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** The arguments as the object they encode, or the text itself when it is not JSON (a malformed call stays malformed). */
function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** About 4 characters a token, at least 1 for non-empty text. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Split into pieces of at most `size` code points (never inside a surrogate pair); none for ''. */
function split(text: string, size: number): string[] {
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; i += size) {
    pieces.push(points.slice(i, i + size).join(''));
  }
  return pieces;
}
