/**
 * The session module on a real Jupyter server and kernel, the scripted model answering: several user turns on one
 * kernel and one record, messages queued while the agent works, Stop and a follow-up, continuing from the event
 * log (also a log cut in the middle of a turn), the kernel's secrets, inspect_variables, and cells a person edited.
 */
import { execFileSync, spawnSync } from 'child_process';
import { getEventListeners } from 'events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { AgentSession, IAgentSessionOptions } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { fileLogSink, readLogFile, recordFromLogFile, writeSample } from '../../src/trace/logFile';
import type { IExecutionStep, ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { executions, streamText } from '../helpers/agentHarness';
import { ITestServer, withTestServer } from '../helpers/jupyter';
import { until } from '../helpers/until';
import { ChatRequest, IScriptedModel, lastToolResult, ScriptEntry, startScriptedModel } from '../scripted-model/server';

const AIEV = join(__dirname, '..', '..', 'dist', 'aiev.cjs');

/** A live session on a fresh notebook of `server`, and what the test needs to look at it. */
interface IOpenSession {
  session: AgentSession;
  driver: HeadlessNotebookDriver;
  model: IScriptedModel;
  logPath: string;
  options: IAgentSessionOptions;
  dir: string;
  close(): Promise<void>;
}

let counter = 0;

async function openSession(server: ITestServer, script: ScriptEntry[], prompt: string): Promise<IOpenSession> {
  const model = await startScriptedModel(script);
  const dir = mkdtempSync(join(tmpdir(), 'aiev-session-'));
  const logPath = join(dir, 'session.events.jsonl');
  const driver = await HeadlessNotebookDriver.open({ settings: server.settings, path: `session-${process.pid}-${++counter}.ipynb`, interruptGraceMs: 5000 });
  const options: IAgentSessionOptions = {
    driver,
    client: new ChatClient({ baseURL: model.baseUrl, apiKey: 'test-key', model: 'scripted', maxRetries: 1 }),
    sink: fileLogSink(logPath),
    source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
    toolMode: 'native',
    cellTimeoutMs: 60000
  };
  const session = await AgentSession.start({ ...options, prompt });
  return {
    session,
    driver,
    model,
    logPath,
    options,
    dir,
    close: async () => {
      await session.close();
      await driver.dispose().catch(() => undefined);
      await model.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const execute = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const answer = (text: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer: text } }] });
const roles = (request: ChatRequest) => request.messages.map(m => m.role);

function expectValid(sample: ISample): void {
  expect(validateSample(sample).errors).toEqual([]);
}

describe('AgentSession on a real kernel', () => {
  const server = withTestServer();

  it('continues after a final answer: same kernel, same record, one user step per message, cells with provenance', async () => {
    const run = await openSession(server(), [execute('x = 6 * 7\nprint(x)'), answer('42'), execute('print(x + 1)'), answer('43')], 'Compute 6 * 7.');
    try {
      const first = await run.session.send('Compute 6 * 7.');
      expect(first).toEqual({ reason: 'final_answer', answer: '42' });
      const second = await run.session.send('Add one to it.');
      expect(second).toEqual({ reason: 'final_answer', answer: '43' });
      const record = run.session.record();
      expectValid(record);
      expect(record.steps.filter(s => s.type === 'user').map(s => (s.type === 'user' ? s.text : ''))).toEqual(['Compute 6 * 7.', 'Add one to it.']);
      // The same kernel: x survived between the turns.
      expect(streamText(executions(record)[1])).toBe('43\n');
      expect(record.outcome).toEqual(second);
      // The follow-up request carried the whole first turn, its final_answer call and result included.
      expect(roles(run.model.requests[2].body)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool', 'user']);
      // The log rebuilds the record, one record id across both turns.
      expect(recordFromLogFile(run.logPath)).toEqual(record);
      const cells = run.driver.toJSON().cells;
      expect(cells.map(c => (c.metadata as any).aiev)).toEqual([
        { session: record.id, turn: 1, step: 1, model: 'scripted', tool: 'execute_cell', call_id: expect.any(String) },
        { session: record.id, turn: 2, step: 3, model: 'scripted', tool: 'execute_cell', call_id: expect.any(String) }
      ]);
      expect(record.notebook?.cells.map(c => c.source)).toEqual(['x = 6 * 7\nprint(x)', 'print(x + 1)']);
    } finally {
      await run.close();
    }
  });

  it('leaves no listener on its driver after a turn (a long session does not pile them up)', async () => {
    const run = await openSession(server(), Array.from({ length: 12 }, (_, i) => answer(String(i))), 'p');
    try {
      const before = getEventListeners(run.driver.lost, 'abort').length;
      for (let i = 0; i < 12; i++) {
        expect(await run.session.send(`turn ${i}`)).toEqual({ reason: 'final_answer', answer: String(i) });
      }
      expect(getEventListeners(run.driver.lost, 'abort').length).toBe(before);
    } finally {
      await run.close();
    }
  });

  it('queues a message sent while a cell runs and gives it to the next model turn', async () => {
    let seen: ChatRequest | undefined;
    const script: ScriptEntry[] = [
      execute('import time\ntime.sleep(1.5)\nprint("slept")'),
      request => {
        seen = request;
        return answer('done');
      }
    ];
    const run = await openSession(server(), script, 'Sleep a little.');
    try {
      const first = run.session.send('Sleep a little.');
      await until(() => run.session.record().steps.some(s => s.type === 'assistant'), 'the cell started');
      expect(run.session.busy).toBe(true);
      const queued = run.session.send('Then say done.');
      expect(run.session.queued).toEqual(['Then say done.']);
      const [a, b] = await Promise.all([first, queued]);
      expect(a).toEqual({ reason: 'final_answer', answer: 'done' });
      expect(b).toEqual(a);
      expect(run.session.queued).toEqual([]);
      // The message came after the tool result, as a user message of the same conversation.
      expect(roles(seen!)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
      expect(seen!.messages[4].content).toBe('Then say done.');
      expect(run.model.requests).toHaveLength(2);
      expectValid(run.session.record());
    } finally {
      await run.close();
    }
  });

  it('Stop interrupts a long cell and leaves an idle kernel; a follow-up continues the same conversation', async () => {
    let afterStop: ChatRequest | undefined;
    const script: ScriptEntry[] = [
      execute('y = 5\nimport time\ntime.sleep(60)'),
      request => {
        afterStop = request;
        return execute('print(y * 2)');
      },
      request => answer(lastToolResult(request).split('output:\n')[1].trim())
    ];
    const run = await openSession(server(), script, 'Sleep long.');
    try {
      const first = run.session.send('Sleep long.');
      await until(() => run.session.record().steps.some(s => s.type === 'assistant'), 'the cell started');
      await new Promise(resolve => setTimeout(resolve, 500));
      const stoppedAt = Date.now();
      await run.session.stop();
      expect(Date.now() - stoppedAt).toBeLessThan(20000);
      expect(await first).toEqual({ reason: 'cancelled', message: 'stopped by the user' });
      expect(run.session.busy).toBe(false);
      const interrupted = executions(run.session.record())[0];
      expect(interrupted.status).toBe('interrupted');
      const next = await run.session.send('Now double y.');
      // y was set before the sleep: the kernel kept its state through the interrupt.
      expect(next).toEqual({ reason: 'final_answer', answer: '10' });
      expect(roles(afterStop!)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
      expect(afterStop!.messages[3].content).toContain('status: interrupted');
      expectValid(run.session.record());
    } finally {
      await run.close();
    }
  });

  it('continues from its event log on the same kernel: the model gets the whole conversation again', async () => {
    const requests: ChatRequest[] = [];
    const keep = (entry: object): ScriptEntry => request => {
      requests.push(request);
      return entry;
    };
    const run = await openSession(server(), [keep(execute('z = 11')), keep(answer('set'))], 'Set z.');
    try {
      await run.session.send('Set z.');
      const before = await run.session.close();
      const lines = readLogFile(run.logPath);
      run.model.push(keep(execute('print(z * 3)')), keep(answer('33')));
      const resumed = await AgentSession.resume(run.options, lines);
      expect(resumed.id).toBe(before.id);
      expect(await resumed.send('Triple z.')).toEqual({ reason: 'final_answer', answer: '33' });
      // The third request starts with exactly the messages of the second one, plus what the second turn added.
      expect(requests[2].messages.slice(0, requests[1].messages.length)).toEqual(requests[1].messages);
      expect(roles(requests[2])).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool', 'user']);
      const record = resumed.record();
      expectValid(record);
      expect(record.steps.find(s => s.type === 'event' && s.event === 'resumed')).toMatchObject({ detail: { cut: false } });
      expect(recordFromLogFile(run.logPath)).toEqual(record);
      await resumed.close();
    } finally {
      await run.close();
    }
  });

  it('continues a log cut in the middle of a turn: the call that never ran is answered as not run', async () => {
    const run = await openSession(server(), [execute('print(1)'), answer('one')], 'Print 1.');
    try {
      await run.session.send('Print 1.');
      await run.session.close();
      const lines = readLogFile(run.logPath);
      // Cut right after the first assistant turn, as a reload during its cell would.
      const cut = lines.slice(0, lines.findIndex(line => line.kind === 'assistant') + 1);
      let seen: ChatRequest | undefined;
      run.model.push(request => {
        seen = request;
        return answer('resumed');
      });
      const resumed = await AgentSession.resume(run.options, cut);
      expect(resumed.record().outcome).toBeNull();
      expect(await resumed.send('Go on.')).toEqual({ reason: 'final_answer', answer: 'resumed' });
      expect(roles(seen!)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
      expect(seen!.messages[3].content).toMatch(/^not run: the session was interrupted/);
      const record = resumed.record();
      expectValid(record);
      expect(record.steps.find(s => s.type === 'event' && s.event === 'resumed')).toMatchObject({ detail: { cut: true } });
      await resumed.close();
    } finally {
      await run.close();
    }
  });

  it('inspect_variables lists names, types and a DataFrame\'s columns by a silent execution the record keeps', async () => {
    let listing = '';
    const script: ScriptEntry[] = [
      execute("import pandas as pd\ndf = pd.DataFrame({'price': [1.5, 2.5], 'item': ['tea', 'jam']})\nn = 3"),
      { toolCalls: [{ name: 'inspect_variables', arguments: {} }] },
      request => {
        listing = lastToolResult(request);
        return answer('ok');
      }
    ];
    const run = await openSession(server(), script, 'What is in the kernel?');
    try {
      await run.session.send('What is in the kernel?');
      // (pandas 3 names its module `pandas` and strings `str`; pandas 2 `pandas.core.frame` and `object`)
      expect(listing).toMatch(/^df: pandas(\.core\.frame)?\.DataFrame shape \[2,2\]$/m);
      expect(listing).toMatch(/columns: price \(float64\), item \((object|str)\)/);
      expect(listing).toMatch(/^ +0 +1\.5 +tea$/m);
      expect(listing).toContain('n: int');
      expect(listing).not.toContain('pd:');
      const record = run.session.record();
      const silent = record.steps.find(s => s.type === 'event' && s.detail.purpose === 'inspect_variables');
      expect(silent).toMatchObject({ detail: { status: 'ok', code: expect.stringContaining('def __aiev_inspect') } });
      expect((silent as any).detail.stdout).toContain('"price"');
      // The listing is an answer to the call; nothing was added to the notebook for it.
      expect(run.driver.cells()).toHaveLength(1);
      expectValid(record);
    } finally {
      await run.close();
    }
  });

  it('never overwrites a cell a person changed: the model is told and shown its current source', async () => {
    let cellId = '';
    let refusal = '';
    let rerun = '';
    let run!: IOpenSession;
    const script: ScriptEntry[] = [
      execute('a = 1'),
      request => {
        cellId = /^cell_id: (.*)$/m.exec(lastToolResult(request))![1];
        // The user edits the cell through the notebook model while the agent is thinking.
        run.driver.setCellSource(cellId, 'a = 2  # mine');
        return { toolCalls: [{ name: 'edit_cell', arguments: { cell_id: cellId, code: 'a = 3' } }] };
      },
      request => {
        refusal = lastToolResult(request);
        run.driver.setCellSource(cellId, 'a = 4  # mine again');
        return { toolCalls: [{ name: 'run_cell', arguments: { cell_id: cellId } }] };
      },
      request => {
        rerun = lastToolResult(request);
        return answer('kept');
      }
    ];
    run = await openSession(server(), script, 'Set a.');
    try {
      await run.session.send('Set a.');
      expect(refusal).toMatch(/^error: the user changed cell .* since you last saw it, so it was not overwritten/);
      expect(refusal).toContain('a = 2  # mine');
      expect(rerun).toContain('note: the user changed this cell since you last saw it; it ran its current source:\na = 4  # mine again');
      expect(run.driver.cells()[0].source).toBe('a = 4  # mine again');
      const record = run.session.record();
      expect(record.steps.filter(s => s.type === 'event' && s.event === 'user_edit')).toHaveLength(2);
      expect(executions(record)[1].code).toBe('a = 4  # mine again');
      expectValid(record);
    } finally {
      await run.close();
    }
  });
});

describe("AgentSession: the kernel's secrets", () => {
  // A secret with no known key shape, set where the Jupyter server (and so its kernels) runs, not in this process.
  const VALUE = ['tulip', 'granite', 'morning', '42'].join('-');
  const server = withTestServer({ SOME_SECRET: VALUE });

  it('are scrubbed from the model, the log, the record and every export format; the record still verifies', async () => {
    let seen = '';
    const script: ScriptEntry[] = [
      execute('import os\nprint("the secret is", os.environ["SOME_SECRET"])'),
      request => {
        seen = lastToolResult(request);
        return answer('printed');
      }
    ];
    const run = await openSession(server(), script, 'Print the secret.');
    try {
      await run.session.send('Print the secret.');
      const record = run.session.record();
      expectValid(record);
      expect(seen).toContain('the secret is [REDACTED]');
      expect(record.environment?.secret_env_names).toEqual(['SOME_SECRET']);
      const step = executions(record)[0] as IExecutionStep;
      expect(streamText(step)).toBe('the secret is [REDACTED]\n');
      const out = join(run.dir, 'secret.aiev.json');
      writeSample(out, record);
      execFileSync(process.execPath, [AIEV, 'export', out, '--format', 'all', '--out-dir', join(run.dir, 'exports')]);
      const files = [run.logPath, out, ...readdirSync(join(run.dir, 'exports')).map(name => join(run.dir, 'exports', name))];
      expect(files.length).toBeGreaterThanOrEqual(8);
      for (const file of files) {
        expect(readFileSync(file, 'utf8')).not.toContain(VALUE);
      }
      // The verifier's fresh kernel prints the real value again; it scrubs the variables the record names, so the
      // replayed output equals the recorded one. Without the name in the record it would not.
      const verify = (path: string) => {
        const env = { ...process.env, SOME_SECRET: VALUE };
        const result = spawnSync(process.execPath, [AIEV, 'verify', path], { env, encoding: 'utf8' });
        return { code: result.status, stderr: result.stderr };
      };
      expect(verify(out)).toEqual({ code: 0, stderr: expect.stringContaining('aiev verify: verified') });
      const unnamed = join(run.dir, 'unnamed.aiev.json');
      writeSample(unnamed, { ...record, environment: { ...record.environment!, secret_env_names: [] } });
      expect(verify(unnamed)).toEqual({ code: 1, stderr: expect.stringContaining('aiev verify: diverged') });
    } finally {
      await run.close();
    }
  });
});
