/**
 * `ChatClient` against the scripted model over real HTTP: the signal a turn gives it gathers no listener per request
 * (a long turn makes dozens), and aborting it still stops a request mid-stream.
 */
import { getEventListeners } from 'events';

import { ChatClient, ModelAbortedError } from '../../src/llm/client';
import { startScriptedModel } from '../scripted-model/server';

const user = [{ role: 'user' as const, content: 'hi' }];

describe('ChatClient and the signal it is given', () => {
  it('leaves no listener on it after many requests, streaming or not', async () => {
    const model = await startScriptedModel(Array.from({ length: 24 }, (_, i) => ({ content: `answer ${i}` })));
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const signal = new AbortController().signal;
    try {
      for (const stream of [true, false]) {
        const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'test-key', model: 'scripted', stream });
        for (let i = 0; i < 12; i++) {
          expect((await client.complete(user, undefined, { signal })).text).toMatch(/^answer \d+$/);
        }
      }
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      await new Promise(resolve => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings).not.toContain('MaxListenersExceededWarning');
      model.verify();
    } finally {
      process.off('warning', onWarning);
      await model.stop();
    }
  });

  it('still stops a streaming request when it aborts: the model sees the disconnect', async () => {
    const model = await startScriptedModel([{ content: 'a long answer that keeps coming', chunkSize: 2, chunkDelayMs: 200 }]);
    const controller = new AbortController();
    try {
      const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'test-key', model: 'scripted', stream: true, maxRetries: 0 });
      const turn = client.complete(user, undefined, {
        signal: controller.signal,
        onDelta: () => controller.abort()
      });
      await expect(turn).rejects.toBeInstanceOf(ModelAbortedError);
      const deadline = Date.now() + 10000;
      while (!model.requests[0]?.clientAborted && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 50));
      }
      expect(model.requests[0].clientAborted).toBe(true);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      await model.stop();
    }
  });
});
