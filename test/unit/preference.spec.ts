/**
 * The `preference` projection on records made with the real SessionRecorder: pairs from a review that rejected an
 * agent's cell with the user's source, and from an approval rejection followed by the agent's next attempt the user
 * allowed; no pair when nothing says what the user preferred; one prompt for both completions, exactly the trl
 * dialogue before the rejected turn; secrets scrubbed from every part; and where the format is written (aiev export,
 * aiev harvest, batch datasets, the sidebar's export view), a line per pair and none for a record without one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { parseFencedBlocks } from '../../src/agent/fenced';
import { writeDatasets } from '../../src/batch/exports';
import type { IRolloutResult } from '../../src/batch/summary';
import { BridgeClient } from '../../src/request';
import { ExportModel } from '../../src/ui/exportModel';
import { exportCommand } from '../../src/cli/export';
import { harvestCommand } from '../../src/cli/harvest';
import { TOOL_DEFINITIONS } from '../../src/agent/tools';
import { projectLines, projectSample } from '../../src/trace/projections';
import { trlRow } from '../../src/trace/projections/trl';
import { writeSample } from '../../src/trace/logFile';
import { SessionRecorder } from '../../src/trace/recorder';
import { scrubSample } from '../../src/trace/scrub';
import type { IReviewDetail, ISample } from '../../src/trace/types';
import { call, execution, nativeSample, recorder, stream } from '../helpers/projectionSamples';

const rows = (sample: ISample): any[] => projectLines(sample, 'preference').map(line => JSON.parse(line));

/** The trl messages of a sample (what every pair's prompt and completions must be cut from). */
const dialogue = (sample: ISample): any[] => trlRow(sample).messages as any[];

/** A session step by step: each helper records what the agent records for it. */
class Session {
  readonly rec: SessionRecorder;
  private _count = 0;

  constructor(id: string, prompt = 'Compute x.') {
    this.rec = recorder(id, 'native', prompt, TOOL_DEFINITIONS);
    this.rec.user(prompt);
  }

  /** An execute_cell turn that ran (approval: the user's decision first, when the mode asked). */
  ran(callId: string, code: string, approval?: 'allow_once' | 'always_allow'): void {
    this.rec.assistant({ text: `Running ${callId}.`, actions: [call(callId, 'execute_cell', { code })] });
    if (approval) {
      this.approval(callId, code, approval);
    }
    const count = ++this._count;
    this.rec.execution(execution(callId, `cell-${callId}`, code, count, [stream(`${count}\n`)]));
  }

  /** An execute_cell turn the user rejected before it ran. */
  rejected(callId: string, code: string, reason: string | null = 'not like that'): void {
    this.rec.assistant({ text: `Trying ${callId}.`, actions: [call(callId, 'execute_cell', { code })] });
    this.approval(callId, code, 'reject', reason);
    const text = `not run: the user rejected this execute_cell call${reason ? `, saying: ${reason}` : ' (no reason given)'}.`;
    this.rec.toolResult({ call_id: callId, cell_id: null, model_text: text, is_error: true });
  }

  /** An edit_cell turn. */
  edited(callId: string, cellId: string, code: string): void {
    this.rec.assistant({ text: 'Editing.', actions: [call(callId, 'edit_cell', { cell_id: cellId, code })] });
    this.rec.toolResult({ call_id: callId, cell_id: cellId, model_text: `cell_id: ${cellId}\nedited.`, is_error: false });
  }

  approval(callId: string, code: string, decision: string, reason: string | null = null): void {
    const detail = { call_id: callId, tool: 'execute_cell', kind: 'python', mode: 'ask', asked_at: '2025-03-01T00:00:00.000Z' };
    this.rec.event('approval', { ...detail, decision, decided_by: 'user', reason, code });
  }

  review(callId: string, decision: IReviewDetail['decision'], replacement: string | null, after = ''): void {
    const detail: IReviewDetail = {
      cell_id: `cell-${callId}`,
      call_id: callId,
      tool: 'execute_cell',
      turn: 1,
      change: 'added',
      decision,
      decided_by: 'user',
      scope: 'cell',
      before: null,
      after,
      replacement
    };
    this.rec.event('review', { ...detail });
  }

  finish(answer = 'x is 2.'): ISample {
    this.rec.assistant({ text: '', actions: [call(`answer-${this._count}`, 'final_answer', { answer })] });
    this.rec.toolResult({ call_id: `answer-${this._count}`, cell_id: null, model_text: 'Final answer recorded.', is_error: false });
    return this.rec.finish({ reason: 'final_answer', answer });
  }
}

/** A record with a pair of each kind: a review with the user's source, then an approval rejection and a retry. */
function twoPairs(): ISample {
  const s = new Session('two-pairs');
  s.ran('call_1', 'a = 1');
  s.review('call_1', 'rejected', 'a = 10');
  s.rejected('call_2', '%time b = 2');
  s.ran('call_3', 'b = 2');
  return s.finish();
}

/** The index of the trl message holding `callId`. */
const at = (messages: any[], callId: string): number =>
  messages.findIndex(m => (m.tool_calls ?? []).some((c: any) => c.id === callId));

describe('preference pairs from reviews', () => {
  it('a rejected cell with the user\'s source: the same turn with the code replaced, the dialogue before it as prompt', () => {
    const s = new Session('review-1');
    s.ran('call_1', 'import math');
    s.ran('call_2', 'x = math.sqrt(16) / 3');
    s.review('call_1', 'accepted', null, 'import math');
    s.review('call_2', 'rejected', 'x = math.sqrt(16) / 2', 'x = math.sqrt(16) / 3');
    const sample = s.finish();
    const messages = dialogue(sample);
    const index = at(messages, 'call_2');
    expect(rows(sample)).toEqual([
      {
        id: 'review-1#1',
        sample_id: 'review-1',
        prompt: messages.slice(0, index),
        rejected: [messages[index]],
        chosen: [
          {
            ...messages[index],
            tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'execute_cell', arguments: { code: 'x = math.sqrt(16) / 2' } } }]
          }
        ],
        tools: sample.tools,
        source: 'review'
      }
    ]);
    expect(messages[index - 1].role).toBe('tool');
  });

  it('an edit_cell rejected with a replacement: its code argument replaced, the cell id kept', () => {
    const s = new Session('review-edit');
    s.ran('call_1', 'x = 1');
    s.edited('call_2', 'cell-call_1', 'x = 3');
    s.review('call_2', 'rejected', 'x = 2');
    const [row] = rows(s.finish());
    expect(row.rejected[0].tool_calls[0].function).toEqual({ name: 'edit_cell', arguments: { cell_id: 'cell-call_1', code: 'x = 3' } });
    expect(row.chosen[0].tool_calls[0].function).toEqual({ name: 'edit_cell', arguments: { cell_id: 'cell-call_1', code: 'x = 2' } });
  });

  it('fenced mode: the code block in the text is replaced', () => {
    const text = 'Computing:\n```python\nx = 16 ** 0.5 / 3\n```';
    const rec = recorder('review-fenced', 'fenced', 'Compute x.', []);
    rec.user('Compute x.');
    const [block] = parseFencedBlocks(text);
    const action = { call_id: 'block_1_1', tool: 'execute_cell', kind: 'python' as const, cell_id: 'f11', arguments: { code: block.code }, code: block.code };
    rec.assistant({ text, actions: [action] });
    rec.execution(execution('block_1_1', 'f11', block.code, 1, [stream('1.33\n')]));
    const review: IReviewDetail = {
      ...{ cell_id: 'f11', call_id: 'block_1_1', tool: 'execute_cell', turn: 1, change: 'added', decision: 'rejected' },
      ...{ decided_by: 'user', scope: 'run', before: null, after: block.code, replacement: 'x = 16 ** 0.5 / 2' }
    };
    rec.event('review', { ...review });
    rec.assistant({ text: 'x is 1.33.', actions: [] });
    const sample = rec.finish({ reason: 'final_answer', answer: 'x is 1.33.' });
    expect(rows(sample)).toMatchObject([
      {
        prompt: [{ role: 'system' }, { role: 'user', content: 'Compute x.' }],
        rejected: [{ role: 'assistant', content: text }],
        chosen: [{ role: 'assistant', content: 'Computing:\n```python\nx = 16 ** 0.5 / 2\n```' }],
        tools: []
      }
    ]);
  });

  it('no pair: accepted, rejected without a replacement, a replacement equal to the agent\'s code', () => {
    const s = new Session('review-none');
    s.ran('call_1', 'a = 1');
    s.ran('call_2', 'b = 2');
    s.ran('call_3', 'c = 3');
    s.review('call_1', 'accepted', null);
    s.review('call_2', 'rejected', null);
    s.review('call_3', 'rejected', 'c = 3');
    expect(projectSample(s.finish(), 'preference')).toBe('');
  });

  it('the last review of a call decides (Reject, then Accept all)', () => {
    const s = new Session('review-last');
    s.ran('call_1', 'a = 1');
    s.review('call_1', 'rejected', 'a = 2');
    s.review('call_1', 'accepted', null);
    expect(rows(s.finish())).toEqual([]);
  });
});

describe('preference pairs from approvals', () => {
  it('a rejected call against the next attempt the user allowed, both after the same prompt', () => {
    const s = new Session('approval-1');
    s.ran('call_1', 'import math', 'allow_once');
    s.rejected('call_2', '%time x = math.sqrt(16)', 'no magics, please');
    s.ran('call_3', 'x = math.sqrt(16)', 'allow_once');
    const sample = s.finish();
    const messages = dialogue(sample);
    const [row, ...more] = rows(sample);
    expect(more).toEqual([]);
    expect(row).toEqual({
      id: 'approval-1#1',
      sample_id: 'approval-1',
      prompt: messages.slice(0, at(messages, 'call_2')),
      rejected: [messages[at(messages, 'call_2')]],
      chosen: [messages[at(messages, 'call_3')]],
      tools: sample.tools,
      source: 'approval'
    });
    expect(row.rejected[0].tool_calls[0].function.arguments).toEqual({ code: '%time x = math.sqrt(16)' });
    expect(row.chosen[0].tool_calls[0].function.arguments).toEqual({ code: 'x = math.sqrt(16)' });
    // The rejection's answer (with the reason) is neither in the prompt nor in a completion.
    expect(JSON.stringify(row)).not.toContain('no magics');
  });

  it('a call that ran without asking (always allowed) counts as accepted; two rejections pair with the same attempt', () => {
    const s = new Session('approval-2');
    s.rejected('call_1', '%time x = 4');
    s.rejected('call_2', '!echo 4');
    s.ran('call_3', 'x = 4');
    const sample = s.finish();
    const messages = dialogue(sample);
    expect(rows(sample).map(r => [r.id, r.prompt.length, r.rejected[0].tool_calls[0].id, r.chosen[0].tool_calls[0].id])).toEqual([
      ['approval-2#1', at(messages, 'call_1'), 'call_1', 'call_3'],
      ['approval-2#2', at(messages, 'call_2'), 'call_2', 'call_3']
    ]);
  });

  it('no pair: no later attempt, the user spoke first, the run stopped, the attempt rejected in review', () => {
    const none = new Session('approval-none');
    none.rejected('call_1', '%time x = 4');
    expect(rows(none.finish())).toEqual([]);

    const spoke = new Session('approval-spoke');
    spoke.rejected('call_1', '%time x = 4');
    spoke.rec.assistant({ text: 'What should I run instead?', actions: [] });
    spoke.rec.user('Just assign it.');
    spoke.ran('call_2', 'x = 4', 'allow_once');
    expect(rows(spoke.finish())).toEqual([]);

    const stopped = new Session('approval-stopped');
    stopped.rejected('call_1', '%time x = 4');
    stopped.rec.assistant({ text: 'Retrying.', actions: [call('call_2', 'execute_cell', { code: 'x = 4' })] });
    stopped.approval('call_2', 'x = 4', 'cancelled');
    stopped.rec.toolResult({ call_id: 'call_2', cell_id: null, model_text: 'not run: the run was stopped', is_error: true });
    expect(rows(stopped.finish())).toEqual([]);

    const reviewed = new Session('approval-reviewed');
    reviewed.rejected('call_1', '%time x = 4');
    reviewed.ran('call_2', 'x = 5', 'allow_once');
    reviewed.review('call_2', 'rejected', null);
    expect(rows(reviewed.finish())).toEqual([]);
  });

  it('a retry rejected in review with the user\'s source gives the review pair only', () => {
    const s = new Session('approval-and-review');
    s.rejected('call_1', '%time x = 4');
    s.ran('call_2', 'x = 5', 'allow_once');
    s.review('call_2', 'rejected', 'x = 4');
    expect(rows(s.finish()).map(r => [r.source, r.rejected[0].tool_calls[0].id, r.chosen[0].tool_calls[0].function.arguments])).toEqual([
      ['review', 'call_2', { code: 'x = 4' }]
    ]);
  });

  it('pairs of both kinds come in dialogue order, numbered from 1', () => {
    expect(rows(twoPairs()).map(r => [r.id, r.source, r.rejected[0].tool_calls[0].id])).toEqual([
      ['two-pairs#1', 'review', 'call_1'],
      ['two-pairs#2', 'approval', 'call_2']
    ]);
  });
});

describe('preference and redaction', () => {
  const KEY = 'sk-proj-' + 'Ab3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ';
  const TOKEN = 'hf_' + 'aB3dE5gH7jK9mN1pQ3sT5vX7zB9dF1hJ2lM';

  it('scrubbed secrets stay scrubbed: in the replacement, the prompt and both completions', () => {
    const s = new Session('secrets', `Use the key ${KEY}.`);
    s.ran('call_1', `client = Client(api_key="${KEY}")`);
    s.review('call_1', 'rejected', `client = Client(token="${TOKEN}")`);
    s.rejected('call_2', `!curl -H "Authorization: Bearer ${TOKEN}" https://example.org`);
    s.ran('call_3', 'client.ping()');
    const sample = s.finish();
    const raw = projectSample(sample, 'preference');
    expect(raw).toContain(KEY);
    expect(raw).toContain(TOKEN);
    const clean = projectSample(scrubSample(sample, { env: {} }), 'preference');
    expect(clean.split('\n')).toHaveLength(2);
    expect(clean).not.toContain(KEY.slice(8, 20));
    expect(clean).not.toContain(TOKEN.slice(3, 15));
    const [review, approval] = clean.split('\n').map(line => JSON.parse(line));
    expect(review.prompt[1].content).toBe('Use the key [REDACTED:openai_key].');
    expect(review.rejected[0].tool_calls[0].function.arguments.code).toBe('client = Client(api_key="[REDACTED:openai_key]")');
    expect(review.chosen[0].tool_calls[0].function.arguments.code).toMatch(/^client = Client\(token="\[REDACTED:\w+\]"\)$/);
    expect(approval.rejected[0].tool_calls[0].function.arguments.code).toMatch(/^!curl -H "Authorization: Bearer \[REDACTED:\w+\]"/);
  });
});

describe('aiev export / harvest --format preference', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-preference-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('export: a line per pair, and a record without one gives an empty file, not an error, saying so', async () => {
    writeSample(join(dir, 'pairs.aiev.json'), twoPairs());
    writeSample(join(dir, 'none.aiev.json'), nativeSample('none'));
    const log: string[] = [];
    for (const name of ['pairs', 'none']) {
      const argv = [join(dir, `${name}.aiev.json`), '--format', 'preference', '--out', join(dir, `${name}.jsonl`)];
      expect(await exportCommand(argv, line => log.push(line))).toBe(0);
    }
    expect(readFileSync(join(dir, 'pairs.jsonl'), 'utf8').split('\n').map(l => l && JSON.parse(l).id)).toEqual(['two-pairs#1', 'two-pairs#2', '']);
    expect(readFileSync(join(dir, 'none.jsonl'), 'utf8')).toBe('');
    expect(log.filter(line => line.includes('→'))).toEqual([
      `aiev export: preference → 2 pairs in ${join(dir, 'pairs.jsonl')} (0 secrets scrubbed)`,
      `aiev export: preference → 0 pairs in ${join(dir, 'none.jsonl')} (0 secrets scrubbed)`
    ]);
  });

  it('harvest: rows are pairs, the ids file names each row\'s sample, the summary counts both', async () => {
    writeSample(join(dir, 'in', 'a.aiev.json'), twoPairs());
    writeSample(join(dir, 'in', 'b.aiev.json'), nativeSample('none'));
    const log: string[] = [];
    const out = join(dir, 'prefs.jsonl');
    expect(await harvestCommand([join(dir, 'in'), '--format', 'preference', '--out', out], line => log.push(line))).toBe(0);
    expect(readFileSync(out, 'utf8').trimEnd().split('\n').map(l => JSON.parse(l).id)).toEqual(['two-pairs#1', 'two-pairs#2']);
    expect(readFileSync(join(dir, 'prefs.ids'), 'utf8')).toBe('two-pairs\ntwo-pairs\n');
    const summary = JSON.parse(readFileSync(join(dir, 'prefs.summary.json'), 'utf8'));
    expect([summary.written, summary.preference_pairs]).toEqual([2, 2]);
    expect(log[log.length - 1]).toMatch(/^aiev harvest: 2 preference pairs from 2 samples → /);
  });

  it('batch: dataset.preference.jsonl has a row per pair, no blank line for a rollout without one', () => {
    writeSample(join(dir, 'a.json'), twoPairs());
    writeSample(join(dir, 'b.json'), nativeSample('none'));
    const result = (record: string, sample: number) => ({ task: 't', sample, status: 'done', record }) as IRolloutResult;
    const written = writeDatasets({ outDir: dir, formats: ['preference', 'trl'], tasks: [], results: [result('a.json', 0), result('b.json', 1)], allVerdicts: true });
    expect(written.map(d => [d.format, d.rows, d.skipped])).toEqual([['preference', 2, 0], ['trl', 2, 0]]);
    expect(readFileSync(join(dir, 'dataset.preference.jsonl'), 'utf8').split('\n').map(l => l && JSON.parse(l).id)).toEqual(['two-pairs#1', 'two-pairs#2', '']);
  });

  it('the sidebar export view offers preference and makes the same file', () => {
    const record = twoPairs();
    const model = new ExportModel({ client: new BridgeClient(), notebookPath: 'work/tips.ipynb', record: () => record });
    expect(model.allFormats).toContain('preference');
    model.toggleFormat('preference');
    const file = model.files().find(f => f.format === 'preference')!;
    expect(file.name).toBe('work/tips.aiev-twopairs.preference.jsonl');
    expect(file.text).toBe(projectLines(scrubSample(record), 'preference').map(line => `${line}\n`).join(''));
    expect(file.text.split('\n')).toHaveLength(3);
  });
});
