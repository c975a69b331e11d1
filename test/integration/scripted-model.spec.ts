import OpenAI, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  InternalServerError,
  OpenAIError
} from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';

import {
  IScriptedModel,
  IScriptedModelOptions,
  lastToolResult,
  ScriptEntry,
  startScriptedModel
} from '../scripted-model/server';

/** The real SDK against the scripted model server: both transports, errors, retries, cuts, cancellation. */
describe('scripted model server', () => {
  const running: IScriptedModel[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map(model => model.stop()));
  });

  async function start(script: ScriptEntry[], options?: IScriptedModelOptions): Promise<IScriptedModel> {
    const model = await startScriptedModel(script, options);
    running.push(model);
    return model;
  }

  function client(model: IScriptedModel, maxRetries = 2, apiKey = 'sk-test'): OpenAI {
    return new OpenAI({ baseURL: model.baseUrl, apiKey, maxRetries, timeout: 10000 });
  }

  const user: ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];

  it('answers a non-streaming request with one chat.completion', async () => {
    const model = await start([{ content: 'Hello there.' }]);
    const completion = await client(model).chat.completions.create({ model: 'm-1', messages: user });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('m-1');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello there.' });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage?.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    expect(completion._request_id).toBe('req_scripted_1');
    expect(model.requests.map(r => r.body)).toEqual([expect.objectContaining({ model: 'm-1', messages: user })]);
    expect(model.requests[0]).toMatchObject({ turnIndex: 0, status: 200, clientAborted: false });
    expect(model.requests[0].headers.authorization).toBe('Bearer sk-test');
    model.verify();
  });

  it('streams text as several content deltas, a finish chunk, a usage chunk and [DONE]', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. ✓ 🦊';
    const model = await start([{ content: text, reasoning: 'Think first, then answer.' }, { content: text }]);
    const stream = await client(model).chat.completions.create({
      model: 'm',
      messages: user,
      stream: true,
      stream_options: { include_usage: true }
    });
    const chunks = await collect(stream);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const deltas = chunks.flatMap(c => c.choices.map(choice => choice.delta.content ?? '')).filter(Boolean);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(text);
    const reasoning = chunks.map(c => (c.choices[0]?.delta as { reasoning_content?: string })?.reasoning_content ?? '');
    expect(reasoning.join('')).toBe('Think first, then answer.');
    const finish = chunks.filter(c => c.choices[0]?.finish_reason);
    expect(finish.map(c => c.choices[0].finish_reason)).toEqual(['stop']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBeGreaterThan(0);

    // Without stream_options.include_usage: no usage chunk, and the finish chunk is the last one.
    const plain = await collect(
      await client(model).chat.completions.create({ model: 'm', messages: user, stream: true })
    );
    expect(plain[plain.length - 1].choices[0].finish_reason).toBe('stop');
    expect(plain.every(c => c.usage === undefined)).toBe(true);
    model.verify();
  });

  const malformed = '{"code": "print(1)",';

  it('returns tool calls without streaming, arguments exactly as scripted', async () => {
    const model = await start([
      {
        toolCalls: [
          { name: 'run_cell', arguments: { code: 'x = 6 * 7\nx' } },
          { id: 'call_custom', name: 'broken', arguments: malformed }
        ]
      }
    ]);
    const completion = await client(model).chat.completions.create({ model: 'm', messages: user });
    const message = completion.choices[0].message;
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    expect(message.tool_calls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'run_cell', arguments: '{"code":"x = 6 * 7\\nx"}' } },
      { id: 'call_custom', type: 'function', function: { name: 'broken', arguments: malformed } }
    ]);
  });

  it('streams tool calls OpenAI-style and they reassemble exactly', async () => {
    const args = { code: 'import math\nprint(math.pi)', note: 'ünïcødé 🦊' };
    const model = await start([
      {
        content: 'Running it.',
        toolCalls: [
          { name: 'run_cell', arguments: args },
          { name: 'broken', arguments: malformed }
        ]
      }
    ]);
    const chunks = await collect(
      await client(model).chat.completions.create({ model: 'm', messages: user, stream: true })
    );
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    for (const chunk of chunks) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (!calls[delta.index]) {
          // The first delta of a call carries its id, type and name, and empty arguments.
          expect(delta).toMatchObject({ id: expect.any(String), type: 'function', function: { arguments: '' } });
          calls[delta.index] = { id: delta.id, name: delta.function?.name, arguments: '' };
        } else {
          expect(Object.keys(delta).sort()).toEqual(['function', 'index']);
          expect(Object.keys(delta.function!)).toEqual(['arguments']);
        }
        calls[delta.index].arguments += delta.function?.arguments ?? '';
      }
    }
    expect(calls).toEqual([
      { id: 'call_1', name: 'run_cell', arguments: JSON.stringify(args) },
      { id: 'call_2', name: 'broken', arguments: malformed }
    ]);
    const fragments = chunks.filter(c => c.choices[0]?.delta.tool_calls?.[0]?.index === 0);
    expect(fragments.length).toBeGreaterThan(3);
    expect(chunks.map(c => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['tool_calls']);
  });

  it('lets the SDK retry 429s, each retry consuming the next entry and honouring retry-after-ms', async () => {
    const rateLimited: ScriptEntry = { error: { status: 429, message: 'slow down', retryAfterMs: 5 } };
    const model = await start([rateLimited, rateLimited, { content: 'finally' }]);
    const started = Date.now();
    const completion = await client(model, 2).chat.completions.create({ model: 'm', messages: user });
    expect(completion.choices[0].message.content).toBe('finally');
    expect(model.requests.map(r => r.status)).toEqual([429, 429, 200]);
    expect(model.remaining).toBe(0);
    // The SDK's own backoff for two retries is at least 1.1 s; retry-after-ms made it wait 5 ms.
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('surfaces a 500 as an APIError when retries are off', async () => {
    const model = await start([{ error: { status: 500, message: 'model fell over' } }, { content: 'unused' }]);
    const failure = await client(model, 0)
      .chat.completions.create({ model: 'm', messages: user })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(APIError);
    expect(failure).toBeInstanceOf(InternalServerError);
    expect(failure).toMatchObject({ status: 500, type: 'server_error', error: { message: 'model fell over' } });
    expect(model.requests).toHaveLength(1);
    expect(model.remaining).toBe(1);
    expect(() => model.verify()).toThrow('scripted model: 1 of 2 script entries never consumed');
  });

  it('cuts a stream mid-answer: iteration throws (a plain TypeError, not retried) instead of hanging', async () => {
    const model = await start([{ cut: true, after: 3, content: 'This answer never finishes.', chunkSize: 4 }]);
    const stream = await client(model, 2).chat.completions.create({ model: 'm', messages: user, stream: true });
    const seen: string[] = [];
    const failure = await within(5000, (async () => {
      for await (const chunk of stream) {
        seen.push(chunk.choices[0]?.delta.content ?? '');
      }
    })()).catch((e: unknown) => e);
    // undici's own TypeError (from Node's realm: `instanceof Error` is false inside jest's sandbox), cause SocketError.
    expect(failure).not.toBeInstanceOf(OpenAIError);
    expect(failure).toMatchObject({ name: 'TypeError', message: 'terminated', cause: { code: 'UND_ERR_SOCKET' } });
    expect(seen.join('')).toBe('This ans');
    expect(model.requests).toHaveLength(1);
  });

  it('cuts a non-streaming body halfway: the request rejects without a retry', async () => {
    const model = await start([{ cut: true, content: 'Half of this arrives.' }, { content: 'unused' }]);
    const failure = await within(5000, client(model, 2).chat.completions.create({ model: 'm', messages: user })).catch(
      (e: unknown) => e
    );
    expect(failure).not.toBeInstanceOf(OpenAIError);
    expect(failure).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(model.requests).toHaveLength(1);
  });

  it('drops a connection before any header: APIConnectionError, which the SDK retries', async () => {
    const drop: ScriptEntry = { cut: true, beforeHeaders: true };
    const model = await start([drop, drop, { content: 'third time lucky' }, drop]);
    const completion = await client(model, 2).chat.completions.create({ model: 'm', messages: user });
    expect(completion.choices[0].message.content).toBe('third time lucky');
    const failure = await client(model, 0)
      .chat.completions.create({ model: 'm', messages: user, stream: true })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(APIConnectionError);
    expect(model.requests).toHaveLength(4);
  });

  it('fails fast with a clear 500 when the script runs out', async () => {
    const model = await start([{ content: 'only one' }]);
    const openai = client(model, 2);
    await openai.chat.completions.create({ model: 'm', messages: user });
    const failure = await within(5000, openai.chat.completions.create({ model: 'm', messages: user })).catch(
      (e: unknown) => e
    );
    expect(failure).toBeInstanceOf(InternalServerError);
    expect((failure as Error).message).toContain('scripted model: script exhausted after 1 requests');
    expect(model.requests).toHaveLength(2); // x-should-retry: false, so no SDK retries
    expect(() => model.verify()).toThrow(/script exhausted/);
  });

  it('computes a turn from the tool result the model saw', async () => {
    const model = await start([
      { toolCalls: [{ name: 'run_cell', arguments: { code: '6 * 7' } }] },
      request => {
        const value = Number(lastToolResult(request));
        return { content: value === 42 ? 'The kernel says 42.' : `unexpected ${value}` };
      }
    ]);
    const openai = client(model);
    const first = await openai.chat.completions.create({ model: 'm', messages: user });
    const call = first.choices[0].message.tool_calls![0];
    const second = await openai.chat.completions.create({
      model: 'm',
      messages: [
        ...user,
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '42' }
      ]
    });
    expect(second.choices[0].message.content).toBe('The kernel says 42.');
    model.verify();
  });

  it('records a turn function that throws as a failure', async () => {
    const model = await start([
      request => {
        lastToolResult(request);
        return { content: 'unreachable' };
      }
    ]);
    const failure = await client(model).chat.completions.create({ model: 'm', messages: user }).catch(e => e);
    expect(failure).toBeInstanceOf(InternalServerError);
    expect(model.requests).toHaveLength(1);
    expect(model.failures).toEqual(['scripted model: turn 0 threw: scripted model: the request has no tool message']);
  });

  it('requires the API key when asked, without consuming the script', async () => {
    const model = await start([{ content: 'authorised' }], { requireApiKey: 'sk-right', models: ['tiny'] });
    const failure = await client(model, 2, 'sk-wrong')
      .chat.completions.create({ model: 'm', messages: user })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect(model.remaining).toBe(1);
    const openai = client(model, 0, 'sk-right');
    const completion = await openai.chat.completions.create({ model: 'big', messages: user });
    expect(completion.choices[0].message.content).toBe('authorised');
    expect(model.requests.map(r => [r.status, r.turnIndex, r.headers.authorization])).toEqual([
      [401, null, 'Bearer sk-wrong'],
      [200, 0, 'Bearer sk-right']
    ]);
    // GET /v1/models: the configured names, then every model requested.
    const models = await openai.models.list();
    expect(models.data.map(m => m.id)).toEqual(['tiny', 'm', 'big']);
    await expect(client(model, 0, 'sk-wrong').models.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('lets a client cancel during a delay: APIUserAbortError, and the server sees the disconnect', async () => {
    const model = await start([{ delayMs: 30000, content: 'too late' }]);
    const controller = new AbortController();
    const pending = client(model).chat.completions.create(
      { model: 'm', messages: user },
      { signal: controller.signal }
    );
    setTimeout(() => controller.abort(), 50);
    const failure = await within(5000, pending).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(APIUserAbortError);
    await waitFor(() => model.requests[0]?.clientAborted);
    expect(model.requests).toHaveLength(1);
  });

  it('lets a client cancel mid-stream: the SDK ends the iteration silently', async () => {
    const model = await start([{ content: 'x'.repeat(400), chunkSize: 4, chunkDelayMs: 10 }]);
    const controller = new AbortController();
    const stream = await client(model).chat.completions.create(
      { model: 'm', messages: user, stream: true },
      { signal: controller.signal }
    );
    let received = 0;
    await within(5000, (async () => {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content?.length ?? 0;
        if (received >= 40) {
          controller.abort();
        }
      }
    })());
    // No throw: a caller must check its own signal to tell a cancelled stream from a finished one.
    expect(received).toBeLessThan(400);
    await waitFor(() => model.requests[0]?.clientAborted);
  });

  it('stops promptly with a request waiting and a stream open', async () => {
    const model = await startScriptedModel([
      { delayMs: 30000, content: 'never' },
      { content: 'y'.repeat(400), chunkSize: 4, chunkDelayMs: 50 }
    ]);
    const openai = client(model, 0);
    const waiting = openai.chat.completions.create({ model: 'm', messages: user }).catch((e: unknown) => e);
    const stream = await openai.chat.completions.create({ model: 'm', messages: user, stream: true });
    const streaming = collect(stream).catch((e: unknown) => e);
    await waitFor(() => model.requests.length === 2);
    await within(2000, model.stop());
    await model.stop(); // idempotent
    expect(await within(2000, waiting)).toBeInstanceOf(APIConnectionError);
    expect(await within(2000, streaming)).toMatchObject({ message: 'terminated' });
  });

  it('pins an SDK quirk: the .stream() helper keeps only the last reasoning_content delta', async () => {
    const model = await start([{ reasoning: 'abcdefghijklmnop', content: 'ok', chunkSize: 4 }]);
    const final = await client(model).chat.completions.stream({ model: 'm', messages: user }).finalChatCompletion();
    expect(final.choices[0].message.content).toBe('ok');
    expect((final.choices[0].message as { reasoning_content?: string }).reasoning_content).toBe('mnop');
  });
});

/** Every chunk of a stream. */
async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return chunks;
}

/** `work`, or a rejection after `ms` (so a hang fails the test instead of timing it out). */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `condition` every 10 ms for up to 2 s. */
async function waitFor(condition: () => boolean | undefined): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited >= 2000) {
      throw new Error('condition not met within 2 s');
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}
