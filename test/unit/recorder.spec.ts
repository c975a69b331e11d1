import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { runSource } from '../../src/agent/source';
import { ILogLine, parseLog } from '../../src/trace/eventLog';
import { fileLogSink, recordFromLogFile, writeSample } from '../../src/trace/logFile';
import { interactiveCounts, RECOVERED_MESSAGE, SessionRecorder } from '../../src/trace/recorder';
import { IExecutionStep, ISample, IStep, SAMPLE_SCHEMA } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';

// Assembled at run time so no key-shaped literal sits in the repository.
const API_KEY = ['sk', 'test', '4f9a1c2e7b3d8a6f0e5c9b1d'].join('-');
const SERVER_TOKEN = 'jupyter-token-8e1f2a9c3b7d';

/** A clock that ticks one second per call from a fixed instant. */
function clock(): () => Date {
  let tick = 0;
  return () => new Date(Date.UTC(2025, 0, 2, 9, 30, 0) + 1000 * tick++);
}

const ERROR_TRACEBACK = [
  '\u001b[0;31m---------------------------------------------------------------------------\u001b[0m',
  '\u001b[0;31mModuleNotFoundError\u001b[0m                       Traceback (most recent call last)',
  'Cell \u001b[0;32mIn[1], line 1\u001b[0m\n\u001b[0;32m----> 1\u001b[0m \u001b[38;5;28;01mimport\u001b[39;00m ' +
    '\u001b[38;5;21;01mseaborn\u001b[39;00m \u001b[38;5;28;01mas\u001b[39;00m \u001b[38;5;21;01msns\u001b[39;00m\n',
  "\u001b[0;31mModuleNotFoundError\u001b[0m: No module named 'seaborn'"
];

const LOAD = "import seaborn as sns\nimport os\ntips = sns.load_dataset('tips')\nprint('key', os.environ['OPENAI_API_KEY'])\ntips.describe()";

/** Runs a realistic session through the recorder: error, install, fix, events, tool results, finish. */
function recordSession(dir: string): { recorder: SessionRecorder; sample: ISample; logPath: string } {
  const logPath = join(dir, 'nested', 'run', 'session.events.jsonl');
  const recorder = new SessionRecorder({
    sink: fileLogSink(logPath),
    source: runSource({
      app: 'jupyterlab-aiev/cli',
      appVersion: '0.1.0',
      model: 'qwen2.5-coder-7b-instruct',
      baseUrl: 'http://localhost:8000/v1',
      toolMode: 'native',
      stream: false,
      sampling: { temperature: 0.2, top_p: 0.95 }
    }),
    task: {
      prompt: "Describe seaborn's tips dataset.",
      system: `You are a data analyst. (debug: key=${API_KEY})`,
      attachments: [],
      tags: ['eda']
    },
    tools: [
      {
        type: 'function',
        function: {
          name: 'run_cell',
          description: 'Create or replace a code cell and run it.',
          parameters: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] }
        }
      }
    ],
    secrets: [API_KEY, SERVER_TOKEN],
    outputsCapBytes: 200_000,
    id: 'sample-0001',
    now: clock()
  });
  recorder.user("Describe seaborn's tips dataset.");
  recorder.assistant({
    text: 'I will load the dataset.',
    actions: [
      { call_id: 'call_1', tool: 'run_cell', kind: 'python', cell_id: 'c1', arguments: { code: LOAD }, code: LOAD }
    ],
    usage: { prompt_tokens: 812, completion_tokens: 64 },
    finish_reason: 'tool_calls'
  });
  recorder.execution({
    call_id: 'call_1',
    cell_id: 'c1',
    code: LOAD,
    executor: 'ipykernel',
    execution_count: 1,
    status: 'error',
    started_at: '2025-01-02T09:30:02.100Z',
    duration_ms: 41,
    error: { ename: 'ModuleNotFoundError', evalue: "No module named 'seaborn'" },
    outputs: [{ output_type: 'error', ename: 'ModuleNotFoundError', evalue: "No module named 'seaborn'", traceback: ERROR_TRACEBACK }],
    truncated: false,
    model_text: "status: error\nModuleNotFoundError: No module named 'seaborn'"
  });
  recorder.assistant({
    text: 'seaborn is missing; installing it.',
    actions: [
      {
        call_id: 'call_2',
        tool: 'run_cell',
        kind: 'pip',
        cell_id: 'c2',
        arguments: { code: '%pip install seaborn' },
        code: '%pip install seaborn'
      }
    ]
  });
  recorder.event('silent_execution', { purpose: 'before install', status: 'ok', error: null });
  recorder.execution({
    call_id: 'call_2',
    cell_id: 'c2',
    code: '%pip install seaborn',
    executor: 'ipykernel',
    execution_count: 2,
    status: 'ok',
    started_at: '2025-01-02T09:30:05.000Z',
    duration_ms: 5210,
    outputs: [
      {
        output_type: 'stream',
        name: 'stdout',
        text: ['Collecting seaborn\n', 'Successfully installed seaborn-0.13.2\n', 'Note: you may need to restart the kernel.\n']
      }
    ],
    truncated: false,
    model_text: 'status: ok\nSuccessfully installed seaborn-0.13.2\ninstalled: seaborn==0.13.2',
    install: { resolved: [{ name: 'seaborn', version: '0.13.2' }], removed: [], restart_required: false }
  });
  recorder.assistant({
    text: 'Re-running the cell.',
    actions: [{ call_id: 'call_3', tool: 'run_cell', kind: 'python', cell_id: 'c1', arguments: { cell_id: 'c1' } }]
  });
  recorder.execution({
    call_id: 'call_3',
    cell_id: 'c1',
    code: LOAD,
    executor: 'ipykernel',
    execution_count: 3,
    status: 'ok',
    started_at: '2025-01-02T09:30:12.000Z',
    duration_ms: 388,
    outputs: [
      { output_type: 'stream', name: 'stdout', text: `key ${API_KEY}\n` },
      {
        output_type: 'execute_result',
        execution_count: 3,
        data: { 'text/plain': ['       total_bill\n', 'count  244.000000'], 'text/html': '<table></table>' },
        metadata: {}
      },
      { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=' }, metadata: { 'image/png': { width: 640 } } }
    ],
    truncated: false,
    model_text: `status: ok\nkey ${API_KEY}\n       total_bill\ncount  244.000000`
  });
  recorder.event('model_error', { message: `401 Incorrect API key provided: ${API_KEY}`, status: 401 });
  recorder.event('model_retry', { attempt: 1, url: `http://127.0.0.1:8888/api?token=${SERVER_TOKEN}` });
  recorder.assistant({
    text: '',
    actions: [{ call_id: 'call_4', tool: 'read_notebook', kind: 'notebook', cell_id: null, arguments: {} }]
  });
  recorder.toolResult({ call_id: 'call_4', cell_id: null, model_text: 'c1 (code): import seaborn…\nc2 (code): %pip…', is_error: false });
  recorder.assistant({
    text: 'Done.',
    actions: [
      {
        call_id: 'call_5',
        tool: 'final_answer',
        kind: 'final_answer',
        cell_id: null,
        arguments: { answer: '244 rows; mean bill 19.79.' },
        answer: '244 rows; mean bill 19.79.'
      }
    ],
    finish_reason: 'tool_calls'
  });
  recorder.toolResult({ call_id: 'call_5', cell_id: null, model_text: 'Final answer recorded.', is_error: false });
  recorder.setEnvironment({
    python: '3.12.3',
    implementation: 'CPython',
    platform: 'Linux-6.1-x86_64',
    kernel: { name: 'python3', language: 'python', protocol_version: '5.3', ipykernel: '6.29.5' },
    packages_before: [{ name: 'pandas', version: '2.2.3' }],
    packages_after: [
      { name: 'pandas', version: '2.2.3' },
      { name: 'seaborn', version: '0.13.2' }
    ],
    installed_during_session: [{ name: 'seaborn', version: '0.13.2' }]
  });
  recorder.setNotebook({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      aiev: { server: `http://127.0.0.1:8888/?token=${SERVER_TOKEN}` }
    },
    cells: [
      { cell_type: 'code', id: 'c2', source: '%pip install seaborn==0.13.2', metadata: {}, outputs: [], execution_count: null },
      { cell_type: 'code', id: 'c1', source: LOAD, metadata: { aiev: { call_id: 'call_3' } }, outputs: [], execution_count: 3 }
    ]
  });
  const sample = recorder.finish({ reason: 'final_answer', answer: '244 rows; mean bill 19.79.' });
  return { recorder, sample, logPath };
}

/** An execution step with only what the counts look at. */
function run(cellId: string, status: IExecutionStep['status']): IStep {
  return {
    type: 'execution',
    call_id: `call_${cellId}`,
    cell_id: cellId,
    code: `# cell ${cellId}`,
    executor: 'ipykernel',
    execution_count: null,
    status,
    started_at: '2025-01-02T09:30:00.000Z',
    duration_ms: 1,
    outputs: [],
    truncated: false,
    model_text: ''
  };
}

describe('SessionRecorder', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-recorder-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a record that validates, with the interactive counts filled', () => {
    const { sample } = recordSession(dir);
    const result = validateSample(sample);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(sample.schema).toEqual(SAMPLE_SCHEMA);
    expect(sample.id).toBe('sample-0001');
    expect(sample.created_at).toBe('2025-01-02T09:30:00.000Z');
    expect(sample.steps.map(step => step.type)).toEqual([
      'user',
      'assistant',
      'execution',
      'assistant',
      'event',
      'execution',
      'assistant',
      'execution',
      'event',
      'event',
      'assistant',
      'tool_result',
      'assistant',
      'tool_result'
    ]);
    expect(sample.verification).toEqual({
      interactive: { turns: 5, executions: 3, errors: 1, fixes: 1 },
      replay: null,
      tests: null,
      verdict: 'unverified',
      criteria_version: '0.2'
    });
    expect(sample.outcome).toEqual({ reason: 'final_answer', answer: '244 rows; mean bill 19.79.' });
    expect(sample.outputs_cap_bytes).toBe(200_000);
    expect(sample.environment?.installed_during_session).toEqual([{ name: 'seaborn', version: '0.13.2' }]);
    expect(sample.notebook?.cells.map(cell => cell.id)).toEqual(['c2', 'c1']);
  });

  it('fills step times from the clock and keeps only the known usage fields', () => {
    const { sample } = recordSession(dir);
    expect(sample.steps[0]).toEqual({ type: 'user', text: "Describe seaborn's tips dataset.", time: '2025-01-02T09:30:01.000Z' });
    expect(sample.steps[1]).toMatchObject({ usage: { prompt_tokens: 812, completion_tokens: 64 }, finish_reason: 'tool_calls' });
    expect(sample.steps[3]).not.toHaveProperty('usage');
    expect(sample.steps[3]).not.toHaveProperty('reasoning');
  });

  it('writes one log line per call, header first, and rebuilds an equal record from the log', () => {
    const { sample, logPath } = recordSession(dir);
    const text = readFileSync(logPath, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map(line => JSON.parse(line) as ILogLine);
    // Header + 14 steps + environment + notebook + finish.
    expect(lines).toHaveLength(18);
    expect(lines.map(line => line.seq)).toEqual(lines.map((_, index) => index));
    expect(lines[0].kind).toBe('header');
    expect(Object.keys(lines[0].payload as object).sort()).toEqual(
      ['created_at', 'id', 'license', 'outputs_cap_bytes', 'schema', 'source', 'task', 'tools'].sort()
    );
    expect(lines.slice(-3).map(line => line.kind)).toEqual(['environment', 'notebook', 'finish']);
    expect(recordFromLogFile(logPath)).toEqual(sample);
  });

  it('tolerates a truncated last line and recovers an unfinished run', () => {
    const { sample, logPath } = recordSession(dir);
    const text = readFileSync(logPath, 'utf8');
    const withoutFinish = text.slice(0, text.trimEnd().lastIndexOf('\n') + 1);
    const finishLine = text.slice(withoutFinish.length);
    writeFileSync(logPath, withoutFinish + finishLine.slice(0, 25));
    const recovered = recordFromLogFile(logPath);
    expect(recovered.outcome).toEqual({ reason: 'error', message: RECOVERED_MESSAGE });
    expect(recovered.steps).toEqual(sample.steps);
    expect(recovered.notebook).toEqual(sample.notebook);
    expect(validateSample(recovered).errors).toEqual([]);
  });

  it('rejects a log whose damage is not at the end', () => {
    const { logPath } = recordSession(dir);
    const lines = readFileSync(logPath, 'utf8').split('\n');
    lines[3] = lines[3].slice(0, 10);
    writeFileSync(logPath, lines.join('\n'));
    expect(() => recordFromLogFile(logPath)).toThrow(/line 4 is not JSON/);
    expect(() => parseLog('')).not.toThrow();
    writeFileSync(logPath, '');
    expect(() => recordFromLogFile(logPath)).toThrow(/no header/);
  });

  it('gives a live snapshot with a null outcome before finish', () => {
    const logPath = join(dir, 'live.jsonl');
    const recorder = new SessionRecorder({
      sink: fileLogSink(logPath),
      source: {
        app: 'test',
        app_version: '0',
        model: 'm',
        provider_host: 'h',
        tool_mode: 'fenced',
        stream: true,
        sampling: {},
        system_prompt_id: 'p'
      },
      task: { prompt: 'p', attachments: [], tags: [] },
      tools: [],
      outputsCapBytes: 1000,
      now: clock()
    });
    recorder.user('p');
    const snapshot = recorder.snapshot();
    expect(snapshot.outcome).toBeNull();
    expect(snapshot.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(recorder.finished).toBe(false);
    expect(validateSample(snapshot).errors).toEqual([]);
    expect(recordFromLogFile(logPath)).toEqual({
      ...snapshot,
      outcome: { reason: 'error', message: RECOVERED_MESSAGE }
    });
    recorder.finish({ reason: 'max_steps' });
    expect(recorder.finished).toBe(true);
    expect(() => recorder.finish({ reason: 'error' })).toThrow(/twice/);
  });

  it('sets the task attachments at the end, in the log too', () => {
    const logPath = join(dir, 'attached.jsonl');
    const recorder = new SessionRecorder({
      sink: fileLogSink(logPath),
      source: { app: 't', app_version: '0', model: 'm', provider_host: 'h', tool_mode: 'native', stream: true, sampling: {}, system_prompt_id: 'p' },
      task: { prompt: 'p', attachments: [], tags: ['x'] },
      tools: [],
      outputsCapBytes: 1000,
      now: clock()
    });
    const attachments = [{ path: 'data.csv', sha256: 'c'.repeat(64) }];
    recorder.setAttachments(attachments);
    const sample = recorder.finish({ reason: 'final_answer', answer: '' });
    expect(sample.task).toEqual({ prompt: 'p', attachments, tags: ['x'] });
    expect(recordFromLogFile(logPath)).toEqual(sample);
  });

  it('continues after finish: a user turn reopens the record, the next finish ends it, the log rebuilds it', () => {
    const { recorder, sample, logPath } = recordSession(dir);
    expect(recorder.finished).toBe(true);
    recorder.user('And the median bill?');
    expect(recorder.finished).toBe(false);
    expect(recorder.snapshot().outcome).toBeNull();
    // Cut here (a reload): the log rebuilds the record with the second turn open, so it says it was recovered.
    expect(recordFromLogFile(logPath).outcome).toEqual({ reason: 'error', message: RECOVERED_MESSAGE });
    recorder.assistant({ text: '17.80', actions: [] });
    const second = recorder.finish({ reason: 'final_answer', answer: '17.80' });
    expect(second.id).toBe(sample.id);
    expect(second.steps.filter(step => step.type === 'user').map(step => (step.type === 'user' ? step.text : ''))).toEqual([
      "Describe seaborn's tips dataset.",
      'And the median bill?'
    ]);
    expect(second.outcome).toEqual({ reason: 'final_answer', answer: '17.80' });
    expect(recordFromLogFile(logPath)).toEqual(second);
    expect(validateSample(second).errors).toEqual([]);
    expect(() => recorder.finish({ reason: 'error' })).toThrow(/twice/);
  });

  it('resumes from its log lines: same record and sequence, new lines to the new sink, secrets added later scrubbed', () => {
    const { sample, logPath } = recordSession(dir);
    const lines = parseLog(readFileSync(logPath, 'utf8'));
    const appended: ILogLine[] = [];
    const resumed = SessionRecorder.resume(lines, { sink: { append: line => appended.push(line) }, now: clock() });
    expect(resumed.id).toBe(sample.id);
    expect(resumed.lineCount).toBe(lines.length);
    resumed.addSecrets(['kernel-only-value-5f2c']);
    resumed.user('print the kernel-only-value-5f2c again');
    expect(appended.map(line => [line.seq, line.kind])).toEqual([[lines.length, 'user']]);
    expect(JSON.stringify(appended)).not.toContain('kernel-only-value-5f2c');
    expect(resumed.snapshot().steps.slice(0, -1)).toEqual(sample.steps);
    expect(resumed.snapshot().steps.at(-1)).toMatchObject({ type: 'user', text: 'print the [REDACTED] again' });
  });

  it('returns copies: mutating a returned step does not change the record', () => {
    const { recorder } = recordSession(dir);
    const step = recorder.user('extra');
    step.text = 'changed';
    const steps = recorder.snapshot().steps;
    expect(steps[steps.length - 1]).toMatchObject({ type: 'user', text: 'extra' });
  });

  it('never writes a secret: log and final JSON are redacted, and redactions list where', () => {
    const { sample, logPath } = recordSession(dir);
    const out = join(dir, 'deep', 'er', 'sample.json');
    writeSample(out, sample);
    for (const file of [logPath, out]) {
      const raw = readFileSync(file, 'utf8');
      expect(raw).not.toContain(API_KEY);
      expect(raw).not.toContain(SERVER_TOKEN);
      expect(raw).toContain('[REDACTED]');
    }
    expect(sample.redactions).toEqual([
      { kind: 'api_key', location: 'task.system' },
      { kind: 'api_key', location: 'steps[7].outputs[0].text' },
      { kind: 'api_key', location: 'steps[7].model_text' },
      { kind: 'api_key', location: 'steps[8].detail.message' },
      { kind: 'api_key', location: 'steps[9].detail.url' },
      { kind: 'api_key', location: 'notebook.metadata.aiev.server' }
    ]);
    expect(sample.steps[8]).toMatchObject({ detail: { message: '401 Incorrect API key provided: [REDACTED]' } });
  });

  it('writes the final JSON atomically with 2-space indent and no temporary file left', () => {
    const { sample } = recordSession(dir);
    const out = join(dir, 'a', 'b', 'sample.json');
    writeSample(out, sample);
    writeSample(out, sample);
    const raw = readFileSync(out, 'utf8');
    expect(raw).toBe(JSON.stringify(sample, null, 2) + '\n');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['sample.json']);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('can redact extra secrets when writing', () => {
    const { sample } = recordSession(dir);
    const out = join(dir, 'sample.json');
    writeSample(out, sample, { secrets: ['seaborn-0.13.2'] });
    const written = JSON.parse(readFileSync(out, 'utf8')) as ISample;
    expect(JSON.stringify(written)).not.toContain('seaborn-0.13.2');
    expect(written.redactions).toContainEqual({ kind: 'api_key', location: 'steps[5].outputs[0].text[1]' });
    expect(sample.redactions).not.toContainEqual({ kind: 'api_key', location: 'steps[5].outputs[0].text[1]' });
  });
});

describe('interactiveCounts', () => {
  const counts = (...steps: IStep[]) => interactiveCounts(steps);

  it('counts one fix for repeated failures of a cell then its success', () => {
    expect(counts(run('a', 'error'), run('a', 'timeout'), run('a', 'ok'))).toEqual({
      turns: 0,
      executions: 3,
      errors: 2,
      fixes: 1
    });
  });

  it('counts a success in a new cell right after a failure as a fix, and that error only once', () => {
    expect(counts(run('a', 'error'), run('b', 'ok'), run('a', 'ok')).fixes).toBe(1);
  });

  it('does not count unrelated successes', () => {
    expect(counts(run('a', 'ok'), run('b', 'ok')).fixes).toBe(0);
    expect(counts(run('a', 'error'), run('b', 'ok'), run('c', 'ok')).fixes).toBe(1);
  });

  it('keeps an older failure open until its own cell succeeds', () => {
    expect(counts(run('a', 'error'), run('b', 'error'), run('b', 'ok'), run('c', 'ok')).fixes).toBe(1);
    expect(counts(run('a', 'error'), run('b', 'error'), run('b', 'ok'), run('a', 'ok')).fixes).toBe(2);
    expect(counts(run('a', 'error'), run('b', 'kernel_died'), run('c', 'ok')).fixes).toBe(1);
  });
});
