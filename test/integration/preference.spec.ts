/**
 * The preference export of a real session, read by its real consumers: a session on a real Jupyter server and
 * IPython kernel in approval mode 'ask' (the scripted model), one call rejected with a reason the model then answers
 * with a retry the user allows, and after the run the user's own version of a cell, kept by rejecting the agent's
 * (cell review); `aiev export --format preference` and `aiev harvest --format preference` (the built
 * CLI); then in the project venv `datasets.load_dataset("json")` gives the rows back, and the dataset steps TRL's
 * DPOTrainer runs (`_prepare_dataset`: explicit prompt, conversational, each of prompt, prompt+chosen and
 * prompt+rejected through the chat template with the tools) accept them, with a tokenizer built locally (no Hub).
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { AgentSession } from '../../src/agent/session';
import type { INotebookDriver } from '../../src/notebook/tokens';
import { writeSample } from '../../src/trace/logFile';
import type { ISample } from '../../src/trace/types';
import { runScripted } from '../helpers/agentHarness';
import { withTestServer } from '../helpers/jupyter';
import { until } from '../helpers/until';
import { ChatRequest, lastToolResult } from '../scripted-model/server';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'aiev.cjs');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

const REASON = 'no magics, please';
const REJECTED = '%time x = 6 * 7';
const RETRY = 'x = 6 * 7\nprint(x)';
const USERS = 'import math';

/** The DPO dataset checks (see its docstring). */
const DPO_CHECKS = join(ROOT, 'test', 'helpers', 'dpo_checks.py');

describe('preference export of a real session: an approval rejected then a retry allowed, a cell rewritten and rejected', () => {
  const server = withTestServer();
  let dir: string;
  let recordPath: string;
  let record: ISample;

  beforeAll(async () => {
    execFileSync(join(ROOT, '.venv', 'bin', 'jlpm'), ['build:cli'], { cwd: ROOT, stdio: 'ignore' });
    dir = mkdtempSync(join(tmpdir(), 'aiev-preference-'));
    const script = [
      { toolCalls: [{ name: 'execute_cell', arguments: { code: 'import time' } }] },
      { toolCalls: [{ name: 'execute_cell', arguments: { code: REJECTED } }] },
      // The retry answers the rejection: it runs only when the model was told the user's reason.
      (request: ChatRequest) => ({
        toolCalls: [{ name: 'execute_cell', arguments: { code: lastToolResult(request).includes(REASON) ? RETRY : 'print("reason not seen")' } }]
      }),
      { toolCalls: [{ name: 'final_answer', arguments: { answer: 'x is 42.' } }] }
    ];
    const decisions = [
      ['import time', { choice: 'allow_once' }],
      [REJECTED, { choice: 'reject', reason: REASON }],
      [RETRY, { choice: 'allow_once' }]
    ] as const;
    let decided: Promise<void> = Promise.resolve();
    const decideEach = async (session: AgentSession): Promise<void> => {
      for (const [code, decision] of decisions) {
        await until(() => session.pendingApproval?.code === code, `the approval of ${code}`);
        session.decide(decision);
      }
    };
    // After the run the user rewrites the agent's first cell and rejects it: their version is the preferred one.
    const review = async (session: AgentSession, driver: INotebookDriver): Promise<void> => {
      const first = session.reviewItems.find(item => item.after === 'import time')!;
      driver.setCellSource(first.cellId, USERS);
      await session.review({ cellId: first.cellId }, 'rejected');
    };
    const run = await runScripted(server(), script, { approvalMode: 'ask', onStart: session => (decided = decideEach(session)), afterRun: review });
    await decided;
    expect(run.outcome).toEqual({ reason: 'final_answer', answer: 'x is 42.' });
    record = run.sample;
    recordPath = join(dir, 'session.aiev.json');
    writeSample(recordPath, record);
  }, 180000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });

  it('aiev export and aiev harvest write both pairs; datasets loads them back; TRL\'s DPO dataset steps accept them', () => {
    const out = join(dir, 'session.preference.jsonl');
    const exported = cli('export', recordPath, '--format', 'preference', '--out', out);
    expect(exported.status).toBe(0);
    expect(exported.stderr).toContain(`aiev export: preference → 2 pairs in ${out}`);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map(line => JSON.parse(line));
    const codeOf = (message: any) => message.tool_calls[0].function.arguments.code;
    expect(lines.map(pair => [pair.id, pair.sample_id, pair.source, codeOf(pair.rejected[0]), codeOf(pair.chosen[0])])).toEqual([
      [`${record.id}#1`, record.id, 'review', 'import time', USERS],
      [`${record.id}#2`, record.id, 'approval', REJECTED, RETRY]
    ]);
    expect(lines.map(pair => pair.prompt.map((m: any) => m.role))).toEqual([
      ['system', 'user'],
      ['system', 'user', 'assistant', 'tool']
    ]);
    expect(lines[1].prompt[2]).toEqual(lines[0].rejected[0]);
    expect(lines[0].tools.map((t: any) => t.function.name)).toContain('execute_cell');

    const harvested = join(dir, 'dataset.jsonl');
    const harvest = cli('harvest', recordPath, '--format', 'preference', '--out', harvested);
    expect(harvest.status).toBe(0);
    expect(harvest.stderr).toContain('aiev harvest: 2 preference pairs from 1 samples');
    expect(readFileSync(harvested, 'utf8')).toBe(readFileSync(out, 'utf8'));

    const report = JSON.parse(
      execFileSync(PYTHON, [DPO_CHECKS, out], {
        encoding: 'utf8',
        env: { ...process.env, HF_DATASETS_CACHE: join(dir, 'hf-cache'), HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', PYTHONWARNINGS: 'ignore', TRANSFORMERS_VERBOSITY: 'error' }
      })
    );
    expect(report.missing_trainer_checks).toEqual([]);
    expect(report.num_rows).toBe(2);
    expect(report.rows).toEqual(lines);
    expect([report.has_prompt, report.conversational, report.extract_prompt_unchanged]).toEqual([true, [true, true], [true, true]]);
    // The prompt alone (with the generation prompt) is a prefix of prompt+chosen and of prompt+rejected: nothing of
    // it is cut, and each completion is the assistant turn as the template renders it.
    const rendered = (code: string) => `\n<tool_call>{"name": "execute_cell", "arguments": {"code": ${JSON.stringify(code)}}}</tool_call><|im_end|>\n`;
    expect(report.tokenized.map((t: any) => t.prompt_len === t.prompt_ids_len)).toEqual([true, true]);
    expect(report.tokenized.map((t: any) => [t.chosen, t.rejected])).toEqual([
      [rendered(USERS), rendered('import time')],
      [rendered(RETRY), rendered(REJECTED)]
    ]);
    for (const [index, templated] of report.templated.entries()) {
      expect(templated.prompt).toMatch(/^<\|im_start\|>system\nTools: \[.*"execute_cell"/);
      expect(templated.prompt.endsWith('<|im_start|>assistant\n')).toBe(true);
      expect(templated.chosen).toBe(report.tokenized[index].chosen);
    }
  }, 180000);
});
