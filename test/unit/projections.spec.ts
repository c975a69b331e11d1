import { parseFencedBlocks } from '../../src/agent/fenced';
import { SYSTEM_PROMPTS } from '../../src/agent/prompts';
import {
  buildDialogue,
  dialogueKey,
  EXPORT_FORMATS,
  ExportFormat,
  isExportFormat,
  isJsonlFormat,
  ProjectionError,
  projectSample,
  trainingDialogue
} from '../../src/trace/projections';
import { requestBlock, shellLinesOf } from '../../src/trace/projections/aiev';
import { OBSERVATION_SEPARATOR } from '../../src/trace/projections/sharegpt';
import type { IExecutionStep, ISample } from '../../src/trace/types';
import {
  expectedAiev,
  expectedDialogue,
  openaiExampleErrors,
  recoverAiev,
  recoverChat,
  recoverShareGpt
} from '../helpers/projectionChecks';
import {
  ANSWER,
  customToolsSample,
  FENCED_ANSWER,
  FENCED_TURN_1,
  FENCED_TURN_2,
  fencedSample,
  harvestedSample,
  INSTALL,
  LOAD_BAD,
  LOAD_FIXED,
  maxStepsSample,
  MULTI_ANSWER,
  multiTurnFencedSample,
  multiTurnSample,
  nativeSample,
  noAssistantSample,
  FOLLOW_UP,
  QUEUED
} from '../helpers/projectionSamples';

const JSONL_FORMATS = EXPORT_FORMATS.filter(isJsonlFormat);
/** The formats with a line for every sample (preference has one per pair: test/unit/preference.spec.ts). */
const LINE_FORMATS = JSONL_FORMATS.filter(f => f !== 'preference');
const line = (sample: ISample, format: ExportFormat): any => JSON.parse(projectSample(sample, format));
const executions = (sample: ISample): IExecutionStep[] =>
  sample.steps.filter((s): s is IExecutionStep => s.type === 'execution');

describe('registry', () => {
  it('lists the seven formats; all but ipynb are JSONL', () => {
    expect([...EXPORT_FORMATS]).toEqual(['openai', 'trl', 'sharegpt', 'aiev', 'hf-jupyter-agent', 'preference', 'ipynb']);
    expect(EXPORT_FORMATS.filter(f => !isJsonlFormat(f))).toEqual(['ipynb']);
    expect(isExportFormat('trl')).toBe(true);
    expect(isExportFormat('csv')).toBe(false);
    expect(() => projectSample(nativeSample(), 'csv' as ExportFormat)).toThrow(/unknown export format "csv"/);
  });

  it.each(EXPORT_FORMATS)('%s: same record → byte-identical output (also recorded again, or JSON round-tripped)', format => {
    const builders = format === 'ipynb' ? [nativeSample] : [nativeSample, fencedSample, harvestedSample];
    for (const build of builders) {
      const sample = build();
      const once = projectSample(sample, format);
      expect(projectSample(sample, format)).toBe(once);
      expect(projectSample(build(), format)).toBe(once);
      expect(projectSample(JSON.parse(JSON.stringify(sample)), format)).toBe(once);
    }
  });

  it.each(LINE_FORMATS)('%s: one line, no images, never the malformed calls, the sample id unless openai', format => {
    for (const sample of [nativeSample(), fencedSample()]) {
      const text = projectSample(sample, format);
      expect(text).not.toContain('\n');
      expect(text).not.toContain('iVBORw0KGgo');
      expect(text).not.toContain('data:image');
      expect(text).not.toContain('call_4');
      expect(text).not.toContain('call_6');
      expect(text).not.toContain('the arguments of run_cell are not valid JSON');
      expect(text).not.toContain('the tipz');
      expect(text).not.toContain('the name is tips'); // reasoning is never part of the dialogue
      if (format === 'openai') {
        expect(Object.keys(JSON.parse(text))).not.toContain('id');
      } else {
        expect(JSON.parse(text).id).toBe(sample.id);
      }
    }
  });

  it.each(LINE_FORMATS)('%s: a record without an assistant turn is a ProjectionError', format => {
    expect(() => projectSample(noAssistantSample(), format)).toThrow(ProjectionError);
    expect(() => projectSample(noAssistantSample(), format)).toThrow(/sample empty-1: no assistant turn/);
  });

  it('preference: a record without a decision, or without an assistant turn, gives no line', () => {
    expect(projectSample(noAssistantSample(), 'preference')).toBe('');
    expect(projectSample(nativeSample(), 'preference')).toBe('');
  });
});

describe('dialogue', () => {
  it('rebuilds native turns exactly: system prompt by id, calls in order, tool contents = model_text', () => {
    const sample = nativeSample();
    const { messages, mode } = buildDialogue(sample);
    expect(mode).toBe('native');
    const turn = (calls: number): string[] => ['assistant', ...Array(calls).fill('tool')];
    expect(messages.map(m => m.role)).toEqual(['system', 'user', ...[2, 2, 1, 1, 1, 1].flatMap(turn)]);
    expect(messages[0].content).toBe(SYSTEM_PROMPTS['native-v1']);
    expect(messages[1].content).toBe(sample.task.prompt);
    const [install, bad, fixed] = executions(sample);
    expect(messages[3]).toMatchObject({ content: install.model_text, call: { id: 'call_1', name: 'execute_cell' } });
    expect(messages[4]).toMatchObject({ content: bad.model_text, call: { id: 'call_2' } });
    expect(messages[9]).toMatchObject({ content: fixed.model_text, call: { id: 'call_5', name: 'run_cell', code: LOAD_FIXED } });
    expect(messages[9].content).toContain('[image/png 1x1 output omitted');
    expect(messages[2].calls?.map(c => c.code)).toEqual([INSTALL, LOAD_BAD]);
  });

  it('rebuilds fenced turns exactly: one result turn of "Result of code block N" sections', () => {
    const sample = fencedSample();
    const { messages } = buildDialogue(sample);
    const [install, table, version] = executions(sample);
    expect(messages.map(m => [m.role, m.content])).toEqual([
      ['system', SYSTEM_PROMPTS['fenced-v1']],
      ['user', sample.task.prompt],
      ['assistant', FENCED_TURN_1],
      ['user', `Result of code block 1:\n${install.model_text}\n\nResult of code block 2:\n${table.model_text}`],
      ['assistant', FENCED_TURN_2],
      ['user', `Result of code block 1:\n${version.model_text}`],
      ['assistant', FENCED_ANSWER]
    ]);
  });

  it('training drops malformed calls with their results, whole turns left without calls, and trailing results', () => {
    const { messages } = trainingDialogue(nativeSample());
    const ids = messages.flatMap(m => [...(m.calls ?? []).map(c => c.id), ...(m.call ? [`→${m.call.id}`] : [])]);
    expect(ids.join(' ')).toBe('call_1 call_2 →call_1 →call_2 call_3 →call_3 call_5 →call_5 call_7 →call_7 call_8');
    expect(messages.map(m => m.content)).not.toContain('Let me double-check.');
    expect(messages[messages.length - 1]).toMatchObject({ role: 'assistant', content: 'Done.' });
  });

  it('a capped run ends at its last assistant turn; its calls stay, their results go', () => {
    const { messages } = trainingDialogue(maxStepsSample());
    expect(messages.map(m => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(messages[4].calls?.map(c => c.id)).toEqual(['call_2']);
  });

  it('a harvested notebook gets its markdown answer as a final_answer call', () => {
    const sample = harvestedSample();
    const { messages } = trainingDialogue(sample);
    const last = messages[messages.length - 1];
    expect(last.role).toBe('assistant');
    expect(last.calls?.map(c => [c.name, c.arguments])).toEqual([['final_answer', { answer: 'The mean is 2.' }]]);
    expect(messages.filter(m => m.role === 'tool').map(m => m.content)).toEqual(['(no output)', '2']);
  });

  it('a record naming an unknown system prompt without its own text is a ProjectionError', () => {
    const sample = nativeSample();
    sample.source.system_prompt_id = 'native-v9';
    expect(() => trainingDialogue(sample)).toThrow(ProjectionError);
    sample.task.system = 'Custom system text.';
    expect(trainingDialogue(sample).messages[0].content).toBe('Custom system text.');
  });

  it('dialogueKey ignores ids and whitespace, not content', () => {
    const a = nativeSample('a');
    const b = nativeSample('b');
    (b.steps[0] as { text: string }).text = `  ${(b.steps[0] as { text: string }).text}\n`;
    expect(dialogueKey(a)).toBe(dialogueKey(b));
    expect(dialogueKey(a)).not.toBe(dialogueKey(fencedSample()));
    expect(() => dialogueKey(noAssistantSample())).not.toThrow();
  });
});

describe('openai', () => {
  it('passes the fine-tuning rules for every kind of record', () => {
    const custom = customToolsSample('c', [{ code: '1', timeout: 5 }, { query: 'q' }, {}]);
    for (const sample of [nativeSample(), fencedSample(), maxStepsSample(), harvestedSample(), custom]) {
      expect(openaiExampleErrors(line(sample, 'openai'))).toEqual([]);
    }
  });

  it('the checker catches what the rules forbid', () => {
    const good = line(nativeSample(), 'openai');
    const broken = (mutate: (example: any) => void): string[] => {
      const copy = JSON.parse(JSON.stringify(good));
      mutate(copy);
      return openaiExampleErrors(copy);
    };
    expect(broken(e => (e.id = 'x'))).toContain('unknown top-level key id');
    expect(broken(e => e.messages.pop())).toEqual(expect.arrayContaining([expect.stringMatching(/last message/)]));
    expect(broken(e => (e.messages[2].tool_calls[0].function.arguments = '{"code": '))).toEqual(
      expect.arrayContaining([expect.stringMatching(/not JSON/)])
    );
    expect(broken(e => e.messages.splice(3, 1))).toEqual(expect.arrayContaining([expect.stringMatching(/unanswered/)]));
    expect(broken(e => (e.messages[3].tool_call_id = 'nope'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/no open tool call/)])
    );
    expect(broken(e => (e.messages = e.messages.filter((m: any) => m.role !== 'assistant')))).toContain('no assistant message');
  });

  it('round-trips the dialogue: roles, texts, call ids, names, arguments, results', () => {
    for (const sample of [nativeSample(), fencedSample(), harvestedSample()]) {
      expect(recoverChat(line(sample, 'openai'))).toEqual(expectedDialogue(sample));
    }
  });

  it('arguments are JSON strings, tool-only turns have no content, tools only when offered', () => {
    const example = line(nativeSample(), 'openai');
    expect(example.messages[2]).toEqual({
      role: 'assistant',
      content: 'I will install seaborn, then load the data.',
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'execute_cell', arguments: JSON.stringify({ code: INSTALL }) } },
        { id: 'call_2', type: 'function', function: { name: 'execute_cell', arguments: JSON.stringify({ code: LOAD_BAD }) } }
      ]
    });
    const readNotebook = example.messages.find((m: any) => m.tool_calls?.[0]?.function.name === 'read_notebook');
    expect(Object.keys(readNotebook)).toEqual(['role', 'tool_calls']);
    expect(example.tools.map((t: any) => t.function.name)).toContain('final_answer');
    expect(Object.keys(line(fencedSample(), 'openai'))).toEqual(['messages']);
  });
});

describe('trl and hf-jupyter-agent', () => {
  it.each(['trl', 'hf-jupyter-agent'] as const)('%s round-trips the dialogue with arguments as objects', format => {
    for (const sample of [nativeSample(), fencedSample(), harvestedSample()]) {
      const row = line(sample, format);
      expect(recoverChat(row)).toEqual(expectedDialogue(sample));
      for (const m of row.messages.filter((m: any) => m.tool_calls)) {
        expect(typeof m.content).toBe('string');
        m.tool_calls.forEach((c: any) => expect(typeof c.function.arguments).toBe('object'));
      }
      row.messages.filter((m: any) => m.role === 'tool').forEach((m: any) => expect(typeof m.name).toBe('string'));
    }
  });

  it('hf-jupyter-agent fills question, answer, files, pinned packages, executor', () => {
    const row = line(nativeSample(), 'hf-jupyter-agent');
    expect(Object.keys(row).join(' ')).toBe('id messages question answer files_used packages_used executor_type tools');
    expect(row).toMatchObject({
      question: "How many rows does seaborn's tips dataset have?",
      answer: ANSWER,
      files_used: ['data/tips.csv'],
      packages_used: ['seaborn==0.13.2'],
      executor_type: 'ipykernel'
    });
    expect(line(fencedSample(), 'hf-jupyter-agent')).toMatchObject({
      packages_used: ['tabulate==0.9.0'],
      tools: [],
      answer: FENCED_ANSWER
    });
    expect(line(maxStepsSample(), 'hf-jupyter-agent').answer).toBe('');
  });
});

describe('sharegpt', () => {
  it('alternates human/observation with gpt/function_call and ends with the model', () => {
    for (const sample of [nativeSample(), fencedSample(), maxStepsSample(), harvestedSample()]) {
      const row = line(sample, 'sharegpt');
      row.conversations.forEach((turn: any, index: number) =>
        expect(index % 2 ? ['gpt', 'function_call'] : ['human', 'observation']).toContain(turn.from)
      );
      expect(row.conversations.length % 2).toBe(0);
    }
  });

  it('round-trips the dialogue (without call ids, and without the text of tool-calling turns)', () => {
    for (const sample of [nativeSample(), fencedSample(), harvestedSample()]) {
      expect(recoverShareGpt(line(sample, 'sharegpt'))).toEqual(expectedDialogue(sample, { withIds: false, callText: false }));
    }
  });

  it('several calls are one JSON list; their results one observation; tools a JSON string', () => {
    const row = line(nativeSample(), 'sharegpt');
    expect(row.conversations[1]).toEqual({
      from: 'function_call',
      value: JSON.stringify([
        { name: 'execute_cell', arguments: { code: INSTALL } },
        { name: 'execute_cell', arguments: { code: LOAD_BAD } }
      ])
    });
    const [install, bad] = executions(nativeSample());
    const observation = `${install.model_text}${OBSERVATION_SEPARATOR}${bad.model_text}`;
    expect(row.conversations[2]).toEqual({ from: 'observation', value: observation });
    expect(JSON.parse(row.conversations[3].value)).toEqual({ name: 'edit_cell', arguments: { cell_id: 'c2', code: LOAD_FIXED } });
    expect(row.system).toBe(SYSTEM_PROMPTS['native-v1']);
    expect(JSON.parse(row.tools).map((t: any) => t.name).join(' ')).toBe(
      'execute_cell edit_cell run_cell read_notebook inspect_variables restart_kernel final_answer'
    );
    expect(line(fencedSample(), 'sharegpt').tools).toBe('');
  });
});

describe('aiev', () => {
  it('a fenced record is its training dialogue as is', () => {
    const sample = fencedSample();
    const expected = trainingDialogue(sample).messages.map(m => ({ role: m.role, content: m.content }));
    expect(line(sample, 'aiev').messages).toEqual(expected);
  });

  it('a native record reads back, with the agent\'s fenced parser, as the cells that ran and their results', () => {
    for (const sample of [nativeSample(), harvestedSample()]) {
      const row = line(sample, 'aiev');
      const recovered = recoverAiev(row);
      const expected = expectedAiev(sample);
      expect(recovered.system).toBe(expected.system);
      expect(recovered.prompt).toBe(expected.prompt);
      expect(recovered.rounds.map(({ code, results }) => ({ code, results }))).toEqual(expected.rounds);
      expect(recovered.final.endsWith(expected.final)).toBe(true);
      expect(parseFencedBlocks(recovered.final)).toEqual([]);
      expect(row.messages.map((m: any) => m.role).slice(-1)).toEqual(['assistant']);
    }
  });

  it('renders installs as sh pip blocks, the rest as python; final answer plain', () => {
    const { messages } = line(nativeSample(), 'aiev');
    expect(messages[2].content).toBe(
      `I will install seaborn, then load the data.\n\n\`\`\`sh\npip install seaborn\n\`\`\`\n\n\`\`\`python\n${LOAD_BAD}\n\`\`\``
    );
    expect(messages[4].content).toBe(`Running it again.\n\n\`\`\`python\n${LOAD_FIXED}\n\`\`\``);
    expect(messages[messages.length - 1]).toEqual({ role: 'assistant', content: `Done.\n\n${ANSWER}` });
    expect(messages.map((m: any) => m.content).join('\n')).not.toMatch(/read_notebook|--- cell c1/);
  });

  it('maps IPython shell lines to sh blocks and back through the agent parser', () => {
    expect(shellLinesOf('%pip install -q a==1\n!ls -la')).toEqual(['pip install -q a==1', 'ls -la']);
    expect(shellLinesOf('!python -m pip install b')).toEqual(['pip install b']);
    expect(shellLinesOf('%pip install a\nimport a')).toBeNull();
    expect(shellLinesOf('%timeit 1')).toBeNull();
    for (const code of ['%pip install -q a==1\n!ls -la', 'x = 1\nprint(x)']) {
      expect(parseFencedBlocks(requestBlock(code)).map(b => b.code)).toEqual([code]);
    }
    expect(requestBlock('s = """```"""')).toBe('````python\ns = """```"""\n````');
  });
});

describe('ipynb', () => {
  it('is the final notebook with metadata.aiev, keys sorted, one-space indent, final newline', () => {
    const sample = nativeSample();
    const text = projectSample(sample, 'ipynb');
    const notebook = JSON.parse(text);
    expect(notebook.metadata.aiev).toEqual({ id: 'native-1', verdict: 'unverified' });
    expect(notebook.cells.map((c: any) => c.id)).toEqual(['intro', 'c1', 'c2']);
    expect(notebook.cells[2].outputs[1].data['image/png']).toBeDefined();
    expect(Object.keys(notebook)).toEqual(['cells', 'metadata', 'nbformat', 'nbformat_minor']);
    expect(text.startsWith('{\n "cells": [\n  {\n')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(sample.notebook?.metadata.aiev).toBeUndefined();
  });

  it('a record without a notebook is a clear ProjectionError', () => {
    expect(() => projectSample(fencedSample(), 'ipynb')).toThrow(/sample fenced-1: the record has no final notebook/);
  });
});

describe('several user turns', () => {
  const samples = () => [multiTurnSample(), multiTurnFencedSample()];
  const userTexts = [FOLLOW_UP, QUEUED];

  it('the dialogue keeps every user message in order, and ends with the last answer', () => {
    for (const sample of samples()) {
      const dialogue = trainingDialogue(sample);
      const users = dialogue.messages.filter(m => m.role === 'user').map(m => m.content);
      expect(users[0]).toBe(sample.task.prompt);
      expect(users).toContain(FOLLOW_UP);
      // Native: the mid-run message is a user message of its own; fenced: it joins the results turn before it.
      const queued = users.find(text => text.includes(QUEUED));
      expect(queued === QUEUED).toBe(sample.source.tool_mode === 'native');
      expect(users.join('\n')).toMatch(new RegExp(`${FOLLOW_UP}[\\s\\S]*${QUEUED}`));
      expect(dialogue.messages[dialogue.messages.length - 1]).toMatchObject({ role: 'assistant', content: MULTI_ANSWER });
    }
  });

  it('openai passes the fine-tuning rules and round-trips the dialogue; trl and hf too', () => {
    for (const sample of samples()) {
      expect(openaiExampleErrors(line(sample, 'openai'))).toEqual([]);
      expect(recoverChat(line(sample, 'openai'))).toEqual(expectedDialogue(sample));
      expect(recoverChat(line(sample, 'trl'))).toEqual(expectedDialogue(sample));
      expect(line(sample, 'hf-jupyter-agent')).toMatchObject({ question: sample.task.prompt, answer: MULTI_ANSWER });
    }
  });

  it('sharegpt alternates: the final_answer acknowledgement is left out, a mid-run message joins its observation', () => {
    for (const sample of samples()) {
      const turns = line(sample, 'sharegpt').conversations as { from: string; value: string }[];
      turns.forEach((turn, index) => expect(index % 2 ? ['gpt', 'function_call'] : ['human', 'observation']).toContain(turn.from));
      expect(turns.length % 2).toBe(0);
      expect(turns.map(t => t.value).join('\n')).not.toContain('Final answer recorded.');
      expect(turns.filter(t => t.from === 'human').map(t => t.value)).toContain(FOLLOW_UP);
      const joined = turns.find(t => t.value.includes(QUEUED));
      expect(joined?.from).toBe(sample.source.tool_mode === 'native' ? 'observation' : 'human');
      expect(joined?.value.includes(`User: ${QUEUED}`)).toBe(sample.source.tool_mode === 'native');
    }
  });

  it('aiev alternates user and assistant turns and keeps both follow-ups', () => {
    for (const sample of samples()) {
      const messages = line(sample, 'aiev').messages as { role: string; content: string }[];
      messages.slice(1).forEach((m, index) => expect(m.role).toBe(index % 2 ? 'assistant' : 'user'));
      const all = messages.map(m => m.content).join('\n');
      userTexts.forEach(text => expect(all).toContain(text));
      expect(messages[messages.length - 1].content).toBe(MULTI_ANSWER);
    }
  });

  it('the ipynb of a multi-turn record is its final notebook', () => {
    expect(JSON.parse(projectSample(multiTurnSample(), 'ipynb')).nbformat).toBe(4);
  });
});
