/** Records for the projection tests, made with the real SessionRecorder (and the real notebook harvester). */
import type * as nbformat from '@jupyterlab/nbformat';

import { parseFencedBlocks } from '../../src/agent/fenced';
import { shapeOutputs } from '../../src/agent/shaping';
import { runSource } from '../../src/agent/source';
import { actionKindOf, TOOL_DEFINITIONS } from '../../src/agent/tools';
import { sampleFromNotebook } from '../../src/trace/fromNotebook';
import { SessionRecorder } from '../../src/trace/recorder';
import type { IAction, IExecutionStep, IInstallResult, ISample, IToolDefinition } from '../../src/trace/types';

const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** A recorder with a fixed clock and the test source. */
export function recorder(id: string, mode: 'native' | 'fenced', prompt: string, tools: IToolDefinition[]): SessionRecorder {
  let tick = 0;
  return new SessionRecorder({
    source: runSource({
      app: 'jupyterlab-aiev/test',
      appVersion: '0.1.0',
      model: 'scripted',
      baseUrl: 'http://127.0.0.1:9999/v1',
      toolMode: mode,
      stream: false
    }),
    task: { prompt, attachments: [{ path: 'data/tips.csv', sha256: 'b'.repeat(64) }], tags: ['test'] },
    tools,
    outputsCapBytes: 100_000,
    id,
    now: () => new Date(Date.UTC(2025, 2, 1) + 1000 * tick++)
  });
}

/** An action as the agent records a parsed tool call. */
export function call(callId: string, tool: string, args: Record<string, unknown>, cellId: string | null = null): IAction {
  const code = typeof args.code === 'string' ? args.code : undefined;
  const kind = tool === 'final_answer' ? 'final_answer' : code !== undefined ? actionKindOf(code) : 'notebook';
  return {
    call_id: callId,
    tool,
    kind,
    cell_id: typeof args.cell_id === 'string' ? args.cell_id : cellId,
    arguments: args,
    ...(code !== undefined ? { code } : {}),
    ...(typeof args.answer === 'string' ? { answer: args.answer } : {})
  };
}

/** An action whose arguments did not parse. */
function malformed(callId: string, tool: string, raw: string): IAction {
  return { call_id: callId, tool, kind: 'notebook', cell_id: null, arguments: {}, raw_arguments: raw };
}

/** An execution step whose model_text is shaped as the agent shapes it. */
export function execution(
  callId: string,
  cellId: string,
  code: string,
  count: number,
  outputs: nbformat.IOutput[],
  extra: { error?: { ename: string; evalue: string }; install?: IInstallResult } = {}
): Omit<IExecutionStep, 'type'> {
  const status = extra.error ? 'error' : 'ok';
  const text = shapeOutputs(outputs, { budgetChars: 2000, vision: false }).text;
  const pins = (extra.install?.resolved ?? []).map(p => `${p.name}==${p.version}`).join(', ');
  const installed = extra.install ? `\ninstalled: ${pins}` : '';
  return {
    call_id: callId,
    cell_id: cellId,
    code,
    executor: 'ipykernel',
    execution_count: count,
    status,
    started_at: '2025-03-01T00:00:00.000Z',
    duration_ms: 25,
    ...(extra.error ? { error: extra.error } : {}),
    outputs,
    truncated: false,
    model_text: `cell_id: ${cellId}\nstatus: ${status}\nexecution_count: ${count}${installed}\noutput:\n${
      text || '(no output)'
    }`,
    ...(extra.install ? { install: extra.install } : {})
  };
}

export const stream = (text: string): nbformat.IStream => ({ output_type: 'stream', name: 'stdout', text });
const image = (): nbformat.IDisplayData => ({
  output_type: 'display_data',
  data: { 'image/png': PNG_1X1, 'text/plain': '<Figure size 1x1>' },
  metadata: {}
});

export const INSTALL = '%pip install seaborn';
export const LOAD_BAD = "import seaborn as sns\ntips = sns.load_dataset('tipz')";
export const LOAD_FIXED = "import seaborn as sns\ntips = sns.load_dataset('tips')\nprint('café ✓ \"quoted\"')\ntips.shape";
export const ANSWER = 'The tips dataset has 244 rows.';

/** The final notebook of the native session, nbformat 4.5. */
function nativeNotebook(): nbformat.INotebookContent {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
      language_info: { name: 'python' }
    },
    cells: [
      { cell_type: 'markdown', id: 'intro', metadata: {}, source: "# Seaborn's tips" },
      {
        cell_type: 'code',
        id: 'c1',
        metadata: { aiev: { call_id: 'call_1', kind: 'pip', step: 3 } },
        execution_count: 1,
        source: '%pip install -q seaborn==0.13.2',
        outputs: [stream('Note: you may need to restart the kernel to use updated packages.\n')]
      },
      {
        cell_type: 'code',
        id: 'c2',
        metadata: { aiev: { call_id: 'call_5', kind: 'python', step: 12 } },
        execution_count: 3,
        source: LOAD_FIXED,
        outputs: [
          stream('café ✓ "quoted"\n'),
          image(),
          { output_type: 'execute_result', execution_count: 3, data: { 'text/plain': '(244, 7)' }, metadata: {} }
        ]
      }
    ]
  };
}

/**
 * Native mode, every kind of turn: two calls in one turn (an install and a failing load), an edit with a malformed
 * call beside it, run_cell, a turn with only a malformed call, read_notebook, final_answer.
 */
export function nativeSample(id = 'native-1'): ISample {
  const prompt = "How many rows does seaborn's tips dataset have?";
  const rec = recorder(id, 'native', prompt, TOOL_DEFINITIONS);
  rec.user(prompt);
  rec.assistant({
    text: 'I will install seaborn, then load the data.',
    actions: [
      call('call_1', 'execute_cell', { code: INSTALL }, 'c1'),
      call('call_2', 'execute_cell', { code: LOAD_BAD }, 'c2')
    ],
    finish_reason: 'tool_calls'
  });
  rec.event('silent_execution', { purpose: 'before install', status: 'ok', error: null });
  const install = { resolved: [{ name: 'seaborn', version: '0.13.2' }], removed: [], restart_required: false };
  rec.execution(execution('call_1', 'c1', INSTALL, 1, [stream('Successfully installed seaborn-0.13.2\n')], { install }));
  const error = { ename: 'ValueError', evalue: "'tipz' is not one of the example datasets." };
  rec.execution(
    execution('call_2', 'c2', LOAD_BAD, 2, [{ output_type: 'error', ...error, traceback: ['ValueError: ...'] }], { error })
  );
  rec.assistant({
    text: 'Typo in the dataset name; fixing the cell.',
    reasoning: 'the name is tips',
    actions: [
      call('call_3', 'edit_cell', { cell_id: 'c2', code: LOAD_FIXED }),
      malformed('call_4', 'run_cell', '{"cell_id": "c2"')
    ]
  });
  const edited = 'cell_id: c2\nedited (not run; call run_cell to run it).';
  rec.toolResult({ call_id: 'call_3', cell_id: 'c2', model_text: edited, is_error: false });
  const refusal =
    'error: the arguments of run_cell are not valid JSON (Unexpected end of JSON input). Send them again as one JSON object.';
  rec.event('tool_error', { call_id: 'call_4', tool: 'run_cell', message: refusal });
  rec.toolResult({ call_id: 'call_4', cell_id: null, model_text: refusal, is_error: true });
  rec.assistant({ text: 'Running it again.', actions: [call('call_5', 'run_cell', { cell_id: 'c2' })] });
  rec.execution(
    execution('call_5', 'c2', LOAD_FIXED, 3, [
      stream('café ✓ "quoted"\n'),
      image(),
      { output_type: 'execute_result', execution_count: 3, data: { 'text/plain': '(244, 7)' }, metadata: {} }
    ])
  );
  rec.assistant({ text: 'Let me double-check.', actions: [malformed('call_6', 'execute_cell', '{"code": "len(tips)')] });
  const refused = 'error: the arguments of execute_cell are not valid JSON.';
  rec.toolResult({ call_id: 'call_6', cell_id: null, model_text: refused, is_error: true });
  rec.assistant({ text: '', actions: [call('call_7', 'read_notebook', {})] });
  const listing = `--- cell c1 [code]\n${INSTALL}\n--- cell c2 [code]\n${LOAD_FIXED}`;
  rec.toolResult({ call_id: 'call_7', cell_id: null, model_text: listing, is_error: false });
  rec.assistant({ text: 'Done.', actions: [call('call_8', 'final_answer', { answer: ANSWER })] });
  rec.toolResult({ call_id: 'call_8', cell_id: null, model_text: 'Final answer recorded.', is_error: false });
  rec.setEnvironment({
    python: '3.12.3',
    implementation: 'CPython',
    platform: 'Linux-x86_64',
    kernel: { name: 'python3', language: 'python', protocol_version: '5.3', ipykernel: '6.29.5' },
    packages_before: [{ name: 'pandas', version: '2.2.2' }],
    packages_after: [
      { name: 'pandas', version: '2.2.2' },
      { name: 'seaborn', version: '0.13.2' }
    ],
    installed_during_session: [{ name: 'seaborn', version: '0.13.2' }]
  });
  rec.setNotebook(nativeNotebook());
  return rec.finish({ reason: 'final_answer', answer: ANSWER });
}

export const FENCED_TURN_1 =
  'First the package:\n```sh\npip install tabulate\n```\n' +
  'then the table:\n```python\nfrom tabulate import tabulate\nprint(tabulate([[1, 2]]))\n```';
export const FENCED_TURN_2 = 'And the version:\n```python\nimport tabulate\nprint(tabulate.__version__)\n```';
export const FENCED_ANSWER = 'The table prints, with tabulate 0.9.0 installed.';

/** Fenced mode: two blocks in one turn (an sh install and Python), one more block, then a plain answer. */
export function fencedSample(id = 'fenced-1'): ISample {
  const prompt = 'Print a small table with tabulate.';
  const rec = recorder(id, 'fenced', prompt, []);
  rec.user(prompt);
  const turn = (step: number, text: string): { callId: string; cellId: string; code: string }[] => {
    const planned = parseFencedBlocks(text).map((block, index) => ({
      callId: `block_${step}_${index + 1}`,
      cellId: `f${step}${index + 1}`,
      code: block.code
    }));
    rec.assistant({
      text,
      actions: planned.map(p => ({
        call_id: p.callId,
        tool: 'execute_cell',
        kind: actionKindOf(p.code),
        cell_id: p.cellId,
        arguments: { code: p.code },
        code: p.code
      }))
    });
    return planned;
  };
  const [install, table] = turn(1, FENCED_TURN_1);
  const resolved = { resolved: [{ name: 'tabulate', version: '0.9.0' }], removed: [], restart_required: false };
  const installed = [stream('Successfully installed tabulate-0.9.0\n')];
  rec.execution(execution(install.callId, install.cellId, install.code, 1, installed, { install: resolved }));
  rec.execution(execution(table.callId, table.cellId, table.code, 2, [stream('-  -\n1  2\n-  -\n')]));
  const [version] = turn(2, FENCED_TURN_2);
  rec.execution(execution(version.callId, version.cellId, version.code, 3, [stream('0.9.0\n')]));
  turn(3, FENCED_ANSWER);
  return rec.finish({ reason: 'final_answer', answer: FENCED_ANSWER });
}

/** Native mode with the caller's own tools and arguments (different keys and value types from sample to sample). */
export function customToolsSample(id: string, args: Record<string, unknown>[]): ISample {
  const tools: IToolDefinition[] = [
    {
      type: 'function',
      function: {
        name: 'run_code',
        description: 'Run code.',
        parameters: {
          type: 'object',
          properties: { code: { type: 'string' }, timeout: { type: 'integer' } },
          required: ['code']
        }
      }
    },
    {
      type: 'function',
      function: {
        name: 'lookup',
        description: 'Look something up.',
        parameters: { type: 'object', properties: { query: { type: 'string' } } }
      }
    },
    { type: 'function', function: { name: 'ping', description: 'No arguments.', parameters: { type: 'object', properties: {} } } }
  ];
  const rec = recorder(id, 'native', `Task ${id}`, tools);
  rec.user(`Task ${id}`);
  args.forEach((a, index) => {
    const name = 'code' in a ? 'run_code' : 'query' in a ? 'lookup' : 'ping';
    const callId = `call_${index}`;
    rec.assistant({ text: index ? '' : 'Starting.', actions: [call(callId, name, a, `k${index}`)] });
    if (name === 'run_code') {
      rec.execution(execution(callId, `k${index}`, a.code as string, index + 1, [stream(`${index}\n`)]));
    } else {
      rec.toolResult({ call_id: callId, cell_id: null, model_text: `result ${index}`, is_error: false });
    }
  });
  rec.assistant({ text: `All done for ${id}.`, actions: [] });
  return rec.finish({ reason: 'final_answer', answer: `All done for ${id}.` });
}

/** A run stopped by the step cap: the last turn's results were never answered by the model. */
export function maxStepsSample(id = 'capped-1'): ISample {
  const rec = recorder(id, 'native', 'Loop forever.', TOOL_DEFINITIONS);
  rec.user('Loop forever.');
  for (let i = 1; i <= 2; i++) {
    rec.assistant({ text: `Attempt ${i}.`, actions: [call(`call_${i}`, 'execute_cell', { code: `x = ${i}` }, `m${i}`)] });
    rec.execution(execution(`call_${i}`, `m${i}`, `x = ${i}`, i, []));
  }
  return rec.finish({ reason: 'max_steps', message: 'no final answer within 2 model turns' });
}

/** A run whose model failed before its first turn: nothing to learn, no notebook. */
export function noAssistantSample(id = 'empty-1'): ISample {
  const rec = recorder(id, 'native', 'Hello?', TOOL_DEFINITIONS);
  rec.user('Hello?');
  rec.event('model_error', { message: 'connection refused', status: null });
  return rec.finish({ reason: 'model_error', message: 'connection refused' });
}

/** A person's executed notebook through the real harvester: its answer is markdown, not a model turn. */
export function harvestedSample(): ISample {
  const cell = (id: string, source: string, count: number, outputs: nbformat.IOutput[]): nbformat.ICodeCell => ({
    cell_type: 'code',
    id,
    metadata: {},
    source,
    execution_count: count,
    outputs
  });
  const notebook: nbformat.INotebookContent = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      { cell_type: 'markdown', id: 'm0', metadata: {}, source: 'Compute the mean of 1, 2, 3.' },
      cell('h1', 'import statistics', 1, []),
      { cell_type: 'markdown', id: 'm1', metadata: {}, source: 'Now the mean:' },
      cell('h2', 'statistics.mean([1, 2, 3])', 2, [
        { output_type: 'execute_result', execution_count: 2, data: { 'text/plain': '2' }, metadata: {} }
      ]),
      { cell_type: 'markdown', id: 'm2', metadata: {}, source: 'The mean is 2.' }
    ]
  };
  const tools = TOOL_DEFINITIONS.filter(t => ['execute_cell', 'final_answer'].includes(t.function.name));
  return sampleFromNotebook(notebook, {
    path: 'class/mean.ipynb',
    bytes: JSON.stringify(notebook),
    modelText: outputs => shapeOutputs(outputs, { budgetChars: 2000 }).text || '(no output)',
    tools,
    appVersion: '0.1.0'
  });
}

export const FOLLOW_UP = 'Now the mean tip, please.';
export const QUEUED = 'And round it to two decimals.';
export const MULTI_ANSWER = 'The mean tip is 3.00.';

/**
 * Several user turns, native mode: an answer by final_answer, a follow-up, a message the user sent while the
 * agent worked (it arrives after a tool result), and a final answer in plain text.
 */
export function multiTurnSample(id = 'multi-1'): ISample {
  const prompt = 'Load the tips dataset.';
  const rec = recorder(id, 'native', prompt, TOOL_DEFINITIONS);
  rec.user(prompt);
  rec.assistant({ text: '', actions: [call('call_1', 'execute_cell', { code: LOAD_FIXED }, 'm1')] });
  rec.execution(execution('call_1', 'm1', LOAD_FIXED, 1, [stream('café ✓ "quoted"\n')]));
  rec.assistant({ text: 'Loaded.', actions: [call('call_2', 'final_answer', { answer: ANSWER })] });
  rec.toolResult({ call_id: 'call_2', cell_id: null, model_text: 'Final answer recorded.', is_error: false });
  rec.finish({ reason: 'final_answer', answer: ANSWER });
  rec.user(FOLLOW_UP);
  const mean = "print(tips['tip'].mean())";
  rec.assistant({ text: 'Computing it.', actions: [call('call_3', 'execute_cell', { code: mean }, 'm2')] });
  rec.execution(execution('call_3', 'm2', mean, 2, [stream('2.99827868852459\n')]));
  rec.user(QUEUED);
  const rounded = "print(round(tips['tip'].mean(), 2))";
  rec.assistant({ text: '', actions: [call('call_4', 'execute_cell', { code: rounded }, 'm3')] });
  rec.execution(execution('call_4', 'm3', rounded, 3, [stream('3.0\n')]));
  rec.assistant({ text: MULTI_ANSWER, actions: [] });
  rec.setNotebook(nativeNotebook());
  return rec.finish({ reason: 'final_answer', answer: MULTI_ANSWER });
}

/** Several user turns, fenced mode: a plain answer, a follow-up, a message sent while the agent worked. */
export function multiTurnFencedSample(id = 'multi-fenced-1'): ISample {
  const prompt = 'Print 6 * 7.';
  const rec = recorder(id, 'fenced', prompt, []);
  const block = (step: number, code: string): void => {
    const callId = `block_${step}_1`;
    rec.assistant({
      text: `Running:\n\`\`\`python\n${code}\n\`\`\``,
      actions: [{ call_id: callId, tool: 'execute_cell', kind: 'python', cell_id: `f${step}`, arguments: { code }, code }]
    });
    rec.execution(execution(callId, `f${step}`, code, step, [stream(`${step}\n`)]));
  };
  rec.user(prompt);
  block(1, 'print(6 * 7)');
  rec.assistant({ text: 'It is 42.', actions: [] });
  rec.finish({ reason: 'final_answer', answer: 'It is 42.' });
  rec.user(FOLLOW_UP);
  block(3, 'print(6 * 8)');
  rec.user(QUEUED);
  block(5, 'print(6 * 9)');
  rec.assistant({ text: MULTI_ANSWER, actions: [] });
  return rec.finish({ reason: 'final_answer', answer: MULTI_ANSWER });
}
