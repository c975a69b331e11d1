import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

import { ChatClient, ModelError } from '../../src/llm/client';
import { bridgeFetch } from '../../src/request';
import { ITestServer, startTestServer } from '../helpers/jupyter';
import { IScriptedModel, startScriptedModel } from '../scripted-model/server';

const KEY = 'sk-proxy-spec-0123456789abcdef';

/**
 * The openai SDK in Node talking to the bridge's model proxy (python_kernel_bridge/proxy.py) on a real Jupyter
 * server, which forwards to the scripted model with the key only the server knows.
 */
describe('the model proxy with the openai SDK', () => {
  let model: IScriptedModel;
  let server: ITestServer;
  beforeAll(async () => {
    model = await startScriptedModel([], { requireApiKey: KEY });
    server = await startTestServer({ OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: KEY });
  });
  afterAll(async () => {
    await server?.stop();
    await model?.stop();
  });

  const proxyUrl = () => `${server.settings.baseUrl}aiev/llm/v1`;
  const user: ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];

  /** The SDK as the sidebar builds it: every request through `ServerConnection.makeRequest` (`bridgeFetch`). */
  function sdkThroughMakeRequest(maxRetries = 0): OpenAI {
    return new OpenAI({ baseURL: proxyUrl(), apiKey: 'unused', maxRetries, fetch: bridgeFetch(server.settings) });
  }

  it('streams and answers whole through ServerConnection.makeRequest, the key added on the server', async () => {
    model.push({ content: 'streamed reply', chunkSize: 4 }, { content: 'whole reply' });
    const before = model.requests.length;
    const stream = await sdkThroughMakeRequest().chat.completions.create({ model: 'scripted', messages: user, stream: true });
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('streamed reply');
    const whole = await sdkThroughMakeRequest().chat.completions.create({ model: 'scripted', messages: user });
    expect(whole.choices[0].message.content).toBe('whole reply');
    const sent = model.requests.slice(before);
    expect(sent.map(r => r.headers.authorization)).toEqual([`Bearer ${KEY}`, `Bearer ${KEY}`]);
    expect(JSON.stringify(sent.map(r => r.headers))).not.toContain(server.token); // Jupyter's token stays here
  });

  it("works with ChatClient given the Jupyter token as its key (the SDK's Bearer is Jupyter's token auth)", async () => {
    model.push({ toolCalls: [{ name: 'execute_cell', arguments: { code: 'print(1)' } }] });
    const client = new ChatClient({ baseURL: proxyUrl(), apiKey: server.token, model: 'scripted', maxRetries: 0 });
    const turn = await client.complete(user, undefined);
    expect(turn.toolCalls).toEqual([expect.objectContaining({ name: 'execute_cell', arguments: '{"code":"print(1)"}' })]);
  });

  it("lets the SDK's retries work: a 429 with retry-after-ms is retried and succeeds", async () => {
    model.push({ error: { status: 429, message: 'slow down', retryAfterMs: 50 } }, { content: 'after the wait' });
    const reply = await sdkThroughMakeRequest(2).chat.completions.create({ model: 'scripted', messages: user });
    expect(reply.choices[0].message.content).toBe('after the wait');
    expect(model.requests.slice(-2).map(r => r.status)).toEqual([429, 200]);
  });

  it('says which variable to check when the endpoint rejects the key', async () => {
    model.push({ error: { status: 401, message: 'Incorrect API key' } });
    const client = new ChatClient({ baseURL: proxyUrl(), apiKey: server.token, model: 'scripted', maxRetries: 0 });
    const error = await client.complete(user, undefined).catch(e => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error.status).toBe(401);
    expect(error.message).toContain('the model endpoint rejected the API key (HTTP 401); check OPENAI_API_KEY on the server: Incorrect API key');
  });

  it('an abort mid-stream (Stop) reaches the model as a disconnect', async () => {
    model.push({ content: 'a long answer that keeps coming', chunkSize: 2, chunkDelayMs: 200 });
    const controller = new AbortController();
    const stream = await sdkThroughMakeRequest().chat.completions.create(
      { model: 'scripted', messages: user, stream: true },
      { signal: controller.signal }
    );
    const received: string[] = [];
    try {
      for await (const chunk of stream) {
        received.push(chunk.choices[0]?.delta?.content ?? '');
        if (received.join('').length >= 2) {
          controller.abort(); // the SDK ends the iteration (or throws, depending on timing)
        }
      }
    } catch {
      // aborted
    }
    expect(received.join('')).not.toBe('a long answer that keeps coming');
    const deadline = Date.now() + 10000;
    while (!model.requests[model.requests.length - 1].clientAborted && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    expect(model.requests[model.requests.length - 1].clientAborted).toBe(true);
    model.verify();
  });
});
