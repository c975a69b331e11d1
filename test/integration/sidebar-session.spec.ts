/**
 * The sidebar's conversation model (`SessionModel`) over a real `AgentSession` on a real kernel, the scripted
 * model answering: what the views are given while a run goes (running cards, queued messages, streamed text,
 * tokens, the step counter) and how runs end (answers, Stop, a model that rejects the key).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import { AgentSession } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { fileLogSink } from '../../src/trace/logFile';
import type { SaveState } from '../../src/tokens';
import { IStartedSession, SessionModel } from '../../src/ui/session';
import type { IActionCard, TranscriptItem } from '../../src/ui/transcript';
import { withTestServer } from '../helpers/jupyter';
import { until } from '../helpers/until';
import { ChatRequest, IScriptedModel, lastToolResult, ScriptEntry, startScriptedModel } from '../scripted-model/server';

const trans = nullTranslator.load('jupyterlab_aiev');
const execute = (code: string, extra: object = {}) => ({ ...extra, toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const answer = (text: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer: text } }] });
const usage = (prompt_tokens: number, completion_tokens: number) => ({ usage: { prompt_tokens, completion_tokens } });
const cards = (items: TranscriptItem[]) => items.filter((item): item is IActionCard => item.kind === 'action');

/** The log goes to a file here (the bridge's store has its own tests): always saved. */
const fileSaved = { state: 'saved' as SaveState, error: null, stateChanged: new Signal<unknown, SaveState>({}) };

describe('SessionModel over a real AgentSession', () => {
  const server = withTestServer();
  let counter = 0;
  const open: { model: IScriptedModel; driver: HeadlessNotebookDriver; conversation: SessionModel; dir: string }[] = [];

  /** A conversation whose agent session starts on a fresh notebook with the first message. */
  async function conversation(script: ScriptEntry[], requireApiKey?: string): Promise<{ conversation: SessionModel; model: IScriptedModel }> {
    const model = await startScriptedModel(script, requireApiKey ? { requireApiKey } : {});
    const dir = mkdtempSync(join(tmpdir(), 'aiev-sidebar-'));
    const driver = await HeadlessNotebookDriver.open({ settings: server().settings, path: `sidebar-${process.pid}-${++counter}.ipynb`, interruptGraceMs: 5000 });
    const start = async (prompt: string): Promise<IStartedSession> => ({
      session: await AgentSession.start({
        driver,
        client: new ChatClient({ baseURL: model.baseUrl, apiKey: 'test-key', model: 'scripted', maxRetries: 0 }),
        sink: fileLogSink(join(dir, 'events.jsonl')),
        source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
        toolMode: 'native',
        maxSteps: 5,
        cellTimeoutMs: 60000,
        prompt
      }),
      save: fileSaved
    });
    const model_ = SessionModel.live({ notebookPath: driver.path, start, trans, maxSteps: 5 });
    open.push({ model, driver, conversation: model_, dir });
    return { conversation: model_, model };
  }

  afterEach(async () => {
    for (const { model, driver, conversation: c, dir } of open.splice(0)) {
      await c.close().catch(() => undefined);
      await driver.dispose().catch(() => undefined);
      await model.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows the running cell, queues a message sent meanwhile, then delivers it; counts turns and tokens', async () => {
    const { conversation: c, model } = await conversation([
      execute('import time\ntime.sleep(1.5)\nfirst = 20', usage(100, 7)),
      (request: ChatRequest) => {
        expect(request.messages[request.messages.length - 1]).toMatchObject({ role: 'user', content: 'Also add 22.' });
        return { ...execute('print(first + 22)'), ...usage(150, 9) };
      },
      (request: ChatRequest) => ({ ...answer(`It is ${lastToolResult(request).split('output:\n')[1].trim()}.`), ...usage(200, 11) })
    ]);
    const seen = new Set<string>();
    c.changed.connect(() => {
      const states = cards(c.transcript()).map(card => card.state).join(',');
      seen.add(`${c.phase}:${c.busy}:${states}`);
    });
    c.send('Set first to 20.');
    expect(c.phase).toBe('starting');
    expect(c.busy).toBe(true);
    await until(() => cards(c.transcript())[0]?.state === 'running', 'the first cell runs');
    c.send('Also add 22.');
    expect(c.queued).toEqual(['Also add 22.']);
    const queued = c.transcript().filter(item => item.kind === 'user' && item.queued);
    expect(queued).toHaveLength(1);

    await until(() => !c.busy && c.transcript().some(item => item.kind === 'answer'), 'the answer');
    const items = c.transcript();
    expect(items.map(item => item.kind)).toEqual(['user', 'action', 'user', 'action', 'answer']);
    expect(items.filter(item => item.kind === 'user').map(item => (item as { text: string }).text)).toEqual(['Set first to 20.', 'Also add 22.']);
    expect(cards(items).map(card => [card.state, card.execution?.execution_count])).toEqual([
      ['ok', 1],
      ['ok', 2]
    ]);
    expect(items[4]).toMatchObject({ kind: 'answer', text: 'It is 42.' });
    expect(c.counts).toEqual({ turns: 3, tokensIn: 450, tokensOut: 27 });
    expect(c.runTurns).toEqual({ turns: 3, max: 5 });
    expect(c.elapsedMs).toBeGreaterThanOrEqual(1500);
    expect([...seen].some(state => state.startsWith('live:true:running'))).toBe(true);
    model.verify();
  });

  it('streams the model text in flight, then keeps it as the assistant step', async () => {
    const { conversation: c } = await conversation([{ content: 'Forty-two is the answer to all of it.', chunkSize: 4, chunkDelayMs: 40 }]);
    const partial: string[] = [];
    c.changed.connect(() => {
      const streaming = c.transcript().find(item => item.kind === 'assistant' && item.streaming);
      if (streaming && streaming.kind === 'assistant') {
        partial.push(streaming.text);
      }
    });
    c.send('What is the answer?');
    await until(() => !c.busy && c.steps.some(step => step.type === 'assistant'), 'the answer');
    expect(partial.length).toBeGreaterThan(3);
    expect(partial[0].length).toBeLessThan(partial[partial.length - 1].length);
    expect(c.transcript().filter(item => item.kind === 'assistant')).toEqual([
      expect.objectContaining({ text: 'Forty-two is the answer to all of it.', streaming: false })
    ]);
  });

  it('Stop interrupts a running cell: the card says interrupted, the run says stopped, a follow-up goes on', async () => {
    const { conversation: c } = await conversation([
      execute('import time\ntime.sleep(60)'),
      answer('still here')
    ]);
    c.send('Sleep.');
    await until(() => cards(c.transcript())[0]?.state === 'running', 'the cell runs');
    await c.stop();
    await until(() => !c.busy, 'idle');
    const items = c.transcript();
    expect(cards(items)[0].state).toBe('interrupted');
    expect(items[items.length - 1]).toMatchObject({ kind: 'notice', notice: { level: 'info', text: 'Stopped. Send a message to continue this session.' } });
    c.send('Are you there?');
    await until(() => c.transcript().some(item => item.kind === 'answer'), 'the answer after the stop');
    expect(c.steps.filter(step => step.type === 'user')).toHaveLength(2);
  });

  it('a model that rejects the key is said once, with its message and what to check', async () => {
    const { conversation: c } = await conversation([], 'not-this-key');
    c.send('Hello');
    await until(() => c.phase === 'live' && !c.busy, 'the run ends');
    const notices = c.transcript().flatMap(item => (item.kind === 'notice' ? [item.notice] : []));
    expect(notices).toEqual([
      {
        level: 'error',
        text: 'The model endpoint rejected the API key (HTTP 401): scripted model: incorrect API key provided. Check the key the Jupyter server reads from OPENAI_API_KEY.'
      }
    ]);
  });
});
