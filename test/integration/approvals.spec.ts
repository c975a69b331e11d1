/**
 * Approvals on a real kernel: code waits for the user by its kind; "allow once", "always allow" (remembered for
 * the session, by kind), a rejection whose reason the model reads as the call's result, a Stop while a prompt
 * waits; every decision a recorded `approval` event; nothing runs that was not allowed.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { ApprovalMode } from '../../src/agent/approvals';
import { AgentSession, IAgentSessionOptions } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { fileLogSink, readLogFile, recordFromLogFile } from '../../src/trace/logFile';
import type { IEventStep, IExecutionStep, ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { withTestServer } from '../helpers/jupyter';
import { until } from '../helpers/until';
import { ChatRequest, IScriptedModel, lastToolResult, ScriptEntry, startScriptedModel } from '../scripted-model/server';

const execute = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const answer = (text: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer: text } }] });
const approvals = (record: ISample) =>
  record.steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'approval').map(s => [s.detail.kind, s.detail.decision, s.detail.reason]);
const ran = (record: ISample) => record.steps.filter((s): s is IExecutionStep => s.type === 'execution').map(s => s.code);

describe('approvals on a real kernel', () => {
  const server = withTestServer();
  let counter = 0;
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map(close => close()));
  });

  async function open(script: ScriptEntry[], mode: ApprovalMode): Promise<{ session: AgentSession; model: IScriptedModel; log: string; options: IAgentSessionOptions }> {
    const model = await startScriptedModel(script);
    const dir = mkdtempSync(join(tmpdir(), 'aiev-approvals-'));
    const log = join(dir, 'events.jsonl');
    const driver = await HeadlessNotebookDriver.open({ settings: server().settings, path: `approvals-${process.pid}-${++counter}.ipynb`, interruptGraceMs: 5000 });
    const options = {
      driver,
      client: new ChatClient({ baseURL: model.baseUrl, apiKey: 'test-key', model: 'scripted', maxRetries: 0 }),
      sink: fileLogSink(log),
      source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
      toolMode: 'native' as const,
      approvalMode: mode
    };
    const session = await AgentSession.start({ ...options, prompt: 'p' });
    cleanup.push(async () => {
      await session.close();
      await driver.dispose().catch(() => undefined);
      await model.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    return { session, model, log, options };
  }

  it('ask: allow once, reject with a reason the model reads, always allow remembered for the kind', async () => {
    const { session, model, log } = await open(
      [
        execute('print(1)'),
        execute('%time x = 2'),
        (request: ChatRequest) => execute(`print(${JSON.stringify(lastToolResult(request))})`),
        execute('print(3)'),
        answer('done')
      ],
      'ask'
    );
    const outcome = session.send('Print some numbers.');
    const decide = async (code: string, decision: Parameters<AgentSession['decide']>[0]) => {
      await until(() => session.pendingApproval !== null, `the approval of ${code}`);
      expect(session.pendingApproval).toMatchObject({ tool: 'execute_cell', code, arguments: { code } });
      session.decide(decision);
    };
    await decide('print(1)', { choice: 'allow_once' });
    await decide('%time x = 2', { choice: 'reject', reason: 'no magics, please' });
    const third = await until(() => session.pendingApproval !== null, 'the third call').then(() => session.pendingApproval!);
    expect(third.code).toContain('the user rejected this execute_cell call, saying: no magics, please');
    session.decide({ choice: 'always_allow' });
    expect(await outcome).toEqual({ reason: 'final_answer', answer: 'done' });
    const record = session.record();
    expect(validateSample(record).errors).toEqual([]);
    expect(approvals(record)).toEqual([
      ['python', 'allow_once', null],
      ['magic', 'reject', 'no magics, please'],
      ['python', 'always_allow', null]
    ]);
    // print(3) ran without asking (python always allowed); the rejected magic never ran.
    expect(ran(record)).toEqual(['print(1)', third.code, 'print(3)']);
    expect(session.alwaysAllowed).toEqual(['python']);
    expect(model.requests).toHaveLength(5);
    expect(recordFromLogFile(log)).toEqual(record);
  });

  it('ask-risky: python runs freely, a shell command waits; Stop while it waits ends the run, nothing run', async () => {
    const { session } = await open([execute('print("free")'), execute('!echo risky'), answer('never')], 'ask-risky');
    const outcome = session.send('Go.');
    await until(() => session.pendingApproval !== null, 'the shell command waiting');
    expect(session.pendingApproval).toMatchObject({ kind: 'shell', code: '!echo risky' });
    await session.stop();
    expect((await outcome).reason).toBe('cancelled');
    const record = session.record();
    expect(ran(record)).toEqual(['print("free")']);
    expect(approvals(record)).toEqual([['shell', 'cancelled', null]]);
    expect(session.pendingApproval).toBeNull();
  });

  it('the mode can change while the session lives, and the change is recorded', async () => {
    const { session } = await open([execute('print(1)'), answer('a'), execute('print(2)'), answer('b')], 'ask');
    session.approvalMode = 'run';
    expect(await session.send('one')).toEqual({ reason: 'final_answer', answer: 'a' });
    session.approvalMode = 'ask';
    const second = session.send('two');
    await until(() => session.pendingApproval !== null, 'the second run asking again');
    session.decide({ choice: 'allow_once' });
    expect(await second).toEqual({ reason: 'final_answer', answer: 'b' });
    const modes = session.record().steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'approval_mode').map(s => s.detail.mode);
    expect(modes).toEqual(['run', 'ask']);
    expect(approvals(session.record())).toEqual([['python', 'allow_once', null]]);
  });

  it('a continued session keeps its mode and what was always allowed (asks no more than before the reload)', async () => {
    const { session, options, log } = await open([execute('print(1)'), answer('a'), execute('print(2)'), execute('!echo hi'), answer('b')], 'run');
    session.approvalMode = 'ask';
    const first = session.send('one');
    await until(() => session.pendingApproval !== null, 'print(1) waiting');
    session.decide({ choice: 'always_allow' });
    expect(await first).toEqual({ reason: 'final_answer', answer: 'a' });
    await session.close();

    // Continued with other settings (run freely): the session's own choices stand.
    const resumed = await AgentSession.resume({ ...options, approvalMode: 'run' }, readLogFile(log));
    cleanup.push(async () => void (await resumed.close()));
    expect(resumed.approvalMode).toBe('ask');
    expect(resumed.alwaysAllowed).toEqual(['python']);
    const second = resumed.send('two');
    await until(() => resumed.pendingApproval !== null, 'the shell command waiting');
    expect(resumed.pendingApproval).toMatchObject({ kind: 'shell', code: '!echo hi' });
    resumed.decide({ choice: 'allow_once' });
    expect(await second).toEqual({ reason: 'final_answer', answer: 'b' });
    expect(approvals(resumed.record())).toEqual([
      ['python', 'always_allow', null],
      ['shell', 'allow_once', null]
    ]);
    expect(ran(resumed.record())).toEqual(['print(1)', 'print(2)', '!echo hi']);
  });
});
