/**
 * A task suite for `aiev batch` tests and its scripted model: 12 tasks (and one malformed line) whose rollouts are
 * solved at once, only after the verify gate's feedback, never, only for some samples (by the request's seed), or
 * "solved" by a cell later overwritten (the gate must catch it). The model is one stateless turn function: what it
 * answers depends only on the conversation (the task's marker in the first user message, how many gate feedback
 * messages came, how many model turns since the last user message), so any number of rollouts may interleave.
 *
 * With K = 3, `--seed 0`, `--gate-rounds 1` the exact numbers are (n = 3 for every task, c correct at the end, c0
 * at the first final answer): at-once x4 (c0 = c = 3), feedback x3 (c0 = 0, c = 3), deleted x1 (c0 = 0, c = 3),
 * never x2 (0, 0), seeded x2 (only sample 0, whose seed is 0: c0 = c = 1). Hence `EXPECTED`.
 */
import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';

import type { IBatchSummary } from '../../src/batch/summary';
import type { ChatRequest, IScriptedModel, TurnFunction } from '../scripted-model/server';

/** How a task's rollouts behave. */
type Behaviour = 'at-once' | 'feedback' | 'never' | 'deleted' | 'seeded';

const BEHAVIOURS: [string, Behaviour][] = [
  ['square-1', 'at-once'],
  ['square-2', 'at-once'],
  ['square-3', 'at-once'],
  ['square-4', 'at-once'],
  ['fix-1', 'feedback'],
  ['fix-2', 'feedback'],
  ['fix-3', 'feedback'],
  ['never-1', 'never'],
  ['never-2', 'never'],
  ['deleted-1', 'deleted'],
  ['lucky-1', 'seeded'],
  ['lucky-2', 'seeded']
];

/** The suite as a JSONL text: the 12 tasks, with a malformed line (line 6) among them. */
export function suiteText(): string {
  const lines = BEHAVIOURS.map(([id]) =>
    JSON.stringify({ id, prompt: `[task ${id}] Define sq(x), the square of x, and show sq(3).`, tests: ['assert sq(3) == 9', 'assert sq(-2) == 4'], tags: ['suite'] })
  );
  lines.splice(5, 0, '{"id": "broken", "prompt": ');
  return lines.join('\n') + '\n';
}

/** The task ids of the suite, in order. */
export const SUITE_TASKS = BEHAVIOURS.map(([id]) => id);

/** The summary figures the suite gives with K = 3, seed 0, one gate round. */
export const EXPECTED = {
  tasks: 12,
  pass_at_1: (4 + 3 + 1 + 2 / 3) / 12,
  pass_at_2: (4 + 3 + 1 + 2 * (2 / 3)) / 12,
  pass_at_3: 10 / 12,
  pass_at_1_first_answer: (4 + 2 / 3) / 12,
  verified_rate: (12 + 9 + 3 + 2) / 36,
  correct: { 'square-1': 3, 'fix-1': 3, 'never-1': 0, 'deleted-1': 3, 'lucky-1': 1 } as Record<string, number>,
  correct_first: { 'square-1': 3, 'fix-1': 0, 'never-1': 0, 'deleted-1': 0, 'lucky-1': 1 } as Record<string, number>
};

const RIGHT = 'def sq(x):\n    return x * x\n\nprint(sq(3))';
// Right for 2 and for the example the model tried, wrong for 3: the tests catch it.
const WRONG = 'def sq(x):\n    return x + x\n\nprint(sq(2))';

function text(content: ChatRequest['messages'][number]['content']): string {
  return typeof content === 'string' ? content : (content ?? []).map(part => ('text' in part ? part.text : '')).join('');
}

/** The scripted model's answer to any request of the suite's rollouts. */
export const suiteModel: TurnFunction = request => {
  const messages = request.messages;
  const first = text(messages.find(m => m.role === 'user')?.content ?? '');
  const id = /\[task ([\w-]+)\]/.exec(first)?.[1] ?? '';
  const behaviour = BEHAVIOURS.find(([task]) => task === id)?.[1];
  const rounds = messages.filter(m => m.role === 'user' && text(m.content).includes('It did not pass')).length;
  const lastUser = messages.map(m => m.role).lastIndexOf('user');
  const step = messages.slice(lastUser + 1).filter(m => m.role === 'assistant').length;
  const cellOf = (index: number) => /cell_id: (\S+)/.exec(text(messages.filter(m => m.role === 'tool')[index]?.content ?? ''))?.[1];
  const execute = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
  const answer = { toolCalls: [{ name: 'final_answer', arguments: { answer: 'sq(3) is 9' } }] };
  const solveWith = (code: string) => (step === 0 ? execute(code) : answer);
  switch (behaviour) {
    case 'at-once':
      return solveWith(RIGHT);
    case 'feedback':
      return solveWith(rounds ? RIGHT : WRONG);
    case 'never':
      return solveWith(WRONG);
    case 'seeded':
      return solveWith(request.seed === 0 ? RIGHT : WRONG);
    case 'deleted':
      if (rounds === 0) {
        // sq defined in cell A, used in cell B, then A overwritten: the session's kernel still has sq.
        return [
          execute('def sq(x):\n    return x * x'),
          execute('print(sq(3))'),
          { toolCalls: [{ name: 'edit_cell', arguments: { cell_id: cellOf(0), code: '# scratch' } }] },
          { toolCalls: [{ name: 'run_cell', arguments: { cell_id: cellOf(0) } }] },
          answer
        ][Math.min(step, 4)];
      }
      // After the feedback: define it again, then run the cell that uses it again (so it comes after).
      return [execute('def sq(x):\n    return x * x'), { toolCalls: [{ name: 'run_cell', arguments: { cell_id: cellOf(1) } }] }, answer][Math.min(step, 2)];
    default:
      return { content: `unknown task '${id}'` };
  }
};

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'aiev.cjs');

interface ICliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Start the CLI in `cwd` against `model`. */
const started = new Set<ChildProcess>();

/** Kill every CLI process `startCli` started that still runs (a test that timed out). */
export function killClis(): void {
  started.forEach(child => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  started.clear();
}

export function startCli(args: string[], cwd: string, model: IScriptedModel): ChildProcess {
  const env = { ...process.env, OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: 'batch-test-key-0123456789' };
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  return child;
}

/** Its output once it exited. */
export function finished(child: ChildProcess): Promise<ICliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', chunk => (stdout += chunk));
  child.stderr!.on('data', chunk => (stderr += chunk));
  return new Promise(resolve => child.on('close', code => resolve({ code, stdout, stderr })));
}

/** The suite's arguments: K=3, seed 0, one gate round, 3 rollouts at a time. */
export const SUITE_ARGS = ['--samples', '3', '--seed', '0', '--gate-rounds', '1', '--concurrency', '3', '--max-steps', '10'];

/** Check a summary against the numbers the suite implies. */
export function expectSuiteSummary(summary: IBatchSummary): void {
  expect(summary.tasks).toBe(EXPECTED.tasks);
  expect(summary.skipped_lines).toEqual([{ line: 6, message: expect.stringMatching(/^not JSON/) }]);
  expect(summary.rollouts).toEqual({ total: 36, done: 36, cancelled: 0, error: 0 });
  expect(summary.pass_at_k['1']).toBeCloseTo(EXPECTED.pass_at_1, 10);
  expect(summary.pass_at_k['2']).toBeCloseTo(EXPECTED.pass_at_2, 10);
  expect(summary.pass_at_k['3']).toBeCloseTo(EXPECTED.pass_at_3, 10);
  expect(summary.pass_at_1_first_answer).toBeCloseTo(EXPECTED.pass_at_1_first_answer, 10);
  expect(summary.pass_at_1_after_feedback).toBeCloseTo(EXPECTED.pass_at_1, 10);
  expect(Object.keys(summary.pass_at_1_by_round)).toEqual(['0', '1']);
  expect(summary.verified_rate).toBeCloseTo(EXPECTED.verified_rate, 10);
  for (const [task, correct] of Object.entries(EXPECTED.correct)) {
    const row = summary.per_task.find(t => t.task === task)!;
    expect([task, row.correct, row.correct_first]).toEqual([task, correct, EXPECTED.correct_first[task]]);
  }
}
