/** `aiev batch`'s pure parts: task lines, pass@k, the summary, the verify gate's verdict and feedback. */
import { mayHaveInstalled } from '../../src/agent/environment';
import { gateFeedback, replayPassed } from '../../src/agent/verifyGate';
import { parseBatchFormats } from '../../src/batch/exports';
import { IRolloutResult, latestResults, passAtK, summarize, summaryTable } from '../../src/batch/summary';
import { parseFieldMap, parseTasks } from '../../src/batch/tasks';
import type { ISample, IVerification } from '../../src/trace/types';

describe('task lines', () => {
  it('reads project, HumanEval and MBPP lines, and reports bad ones by line number', () => {
    const text = [
      JSON.stringify({ id: 'a/1', prompt: 'Do it', tests: 'assert x == 1', setup: ['x = 0'], tags: ['t'] }),
      '',
      JSON.stringify({ task_id: 'HumanEval/0', prompt: 'def add(a, b):\n    """Add."""\n', test: 'def check(candidate):\n    assert candidate(1, 2) == 3\n', entry_point: 'add' }),
      JSON.stringify({ task_id: 11, text: 'Write a function to double.', test_list: ['assert double(2) == 4'], test_setup_code: 'import math' }),
      '{"id": ',
      JSON.stringify({ prompt: 'no id' }),
      JSON.stringify({ id: 'a/1', prompt: 'again' }),
      JSON.stringify({ id: 'x', prompt: 'p', tests: [1] }),
      '[1]'
    ].join('\n');
    const { tasks, errors } = parseTasks(text);
    expect(tasks.map(t => [t.id, t.slug, t.line])).toEqual([
      ['a/1', 'a_1', 1],
      ['HumanEval/0', 'HumanEval_0', 3],
      ['11', '11', 4]
    ]);
    expect(tasks[0]).toMatchObject({ prompt: 'Do it', tests: ['assert x == 1'], setup: ['x = 0'], tags: ['t'] });
    expect(tasks[1].prompt).toContain('`add`');
    expect(tasks[1].prompt).toContain('def add(a, b):');
    expect(tasks[1].tests).toEqual(['def check(candidate):\n    assert candidate(1, 2) == 3\n\ncheck(add)']);
    expect(tasks[2].tests).toEqual(['import math\nassert double(2) == 4']);
    expect(tasks[2].prompt).toBe('Write a function to double.\nYour code should pass these tests:\nassert double(2) == 4');
    expect(errors.map(e => e.line)).toEqual([5, 6, 7, 8, 9]);
    expect(errors[0].message).toMatch(/^not JSON/);
    expect(errors[1].message).toMatch(/needs an 'id'/);
    expect(errors[2].message).toMatch(/repeats an earlier line/);
    expect(errors[3].message).toMatch(/'tests' must be a string or a list of strings/);
    expect(errors[4].message).toMatch(/is a JSON object/);
  });

  it('--map copies fields from other names, and says when one is missing', () => {
    const map = parseFieldMap(['id=problem_id', 'prompt=meta.question']);
    const { tasks, errors } = parseTasks(
      [JSON.stringify({ problem_id: 'p1', meta: { question: 'Why?' } }), JSON.stringify({ problem_id: 'p2' })].join('\n'),
      { map }
    );
    expect(tasks.map(t => [t.id, t.prompt])).toEqual([['p1', 'Why?']]);
    expect(errors).toEqual([{ line: 2, message: "--map prompt=meta.question: the line has no 'meta.question'" }]);
    expect(() => parseFieldMap(['nothing'])).toThrow(/FIELD=SOURCE/);
  });

  it('attachments must be files inside the tasks folder', () => {
    const { errors } = parseTasks([JSON.stringify({ id: 'a', prompt: 'p', attachments: ['../secret'] }), JSON.stringify({ id: 'b', prompt: 'p', attachments: ['missing.csv'] })].join('\n'), {
      attachmentsDir: __dirname
    });
    expect(errors.map(e => e.message)).toEqual([
      "attachment '../secret' must be a path inside the tasks file's folder",
      `attachment 'missing.csv' is not a file in ${__dirname}`
    ]);
  });

  it('--format takes the seven formats, rollouts, lists and all', () => {
    expect(parseBatchFormats('trl,rollouts')).toEqual(['trl', 'rollouts']);
    expect(parseBatchFormats('all')).toHaveLength(8);
    expect(() => parseBatchFormats('csv')).toThrow(/not 'csv'/);
  });
});

describe('pass@k', () => {
  it('is the unbiased estimator 1 - C(n-c, k) / C(n, k)', () => {
    const choose = (n: number, k: number): number => (k === 0 ? 1 : (n * choose(n - 1, k - 1)) / k);
    for (const [n, c, k] of [[3, 1, 1], [3, 1, 2], [10, 3, 5], [20, 0, 4], [5, 5, 5], [7, 2, 6]]) {
      expect(passAtK(n, c, k)).toBeCloseTo(1 - choose(n - c, k) / choose(n, k), 12);
    }
    expect(passAtK(3, 1, 3)).toBe(1);
    expect(() => passAtK(2, 1, 3)).toThrow(/needs at least 3 samples/);
  });
});

function result(task: string, sample: number, gate: boolean[], extra: Partial<IRolloutResult> = {}): IRolloutResult {
  return {
    task, sample, status: 'done', outcome: 'final_answer', verdict: gate[gate.length - 1] ? 'verified' : 'failed',
    passed: gate[gate.length - 1] ?? false, tests: { passed: 0, total: 1 }, gate, turns: 2 * gate.length, errors: 0, fixes: 0,
    fixed_error_types: {}, packages_installed: [], reward: gate[gate.length - 1] ? 1 : 0, tokens: { prompt: 100, completion: 10 },
    duration_ms: 1, record: '', server: 'local', replay_where: 'local', sampling: {}, ...extra
  };
}

describe('the summary', () => {
  it('gives pass@k, pass@1 by feedback round and counts from the latest line of each rollout', () => {
    const results = [
      result('a', 0, [true]), result('a', 1, [true]),
      result('b', 0, [false, true], { fixed_error_types: { NameError: 1 } }), result('b', 1, [false, false]),
      result('c', 0, [false, false]), result('c', 1, [false], { status: 'cancelled', gate: [] }),
      result('c', 1, [false, false], { packages_installed: ['six==1.0'] })
    ];
    expect(latestResults(results)).toHaveLength(6);
    const summary = summarize(results, ['a', 'b', 'c', 'd'], 2, [{ line: 3, message: 'not JSON' }]);
    expect(summary.rollouts).toEqual({ total: 8, done: 6, cancelled: 0, error: 0 });
    expect(summary.pass_at_k['1']).toBeCloseTo((1 + 0.5 + 0) / 3, 12);
    expect(summary.pass_at_k['2']).toBeCloseTo((1 + 1 + 0) / 3, 12);
    expect(summary.pass_at_1_first_answer).toBeCloseTo(1 / 3, 12);
    expect(summary.pass_at_1_by_round).toEqual({ '0': 1 / 3, '1': summary.pass_at_k['1'] });
    expect(summary.verified_rate).toBeCloseTo(3 / 6, 12);
    expect(summary.errors_fixed_by_type).toEqual({ NameError: 1 });
    expect(summary.packages_installed).toEqual({ 'six==1.0': 1 });
    expect(summary.per_task.map(t => [t.task, t.correct, t.correct_first])).toEqual([['a', 2, 2], ['b', 1, 0], ['c', 0, 0]]);
    const table = summaryTable(summary);
    expect(table).toMatch(/^tasks +4 \(1 line skipped\)$/m);
    expect(table).toMatch(/^pass@2 +66\.7%$/m);
    expect(table).toMatch(/^pass@1 after 1 round of feedback +50\.0%$/m);
  });
});

describe('the verify gate', () => {
  const record = {
    task: { prompt: 'p', attachments: [], tags: [], tests: ['assert sq(3) == 9'] },
    notebook: { cells: [{ cell_type: 'code', id: 'c1', source: 'print(sq(3))', metadata: {}, outputs: [], execution_count: 1 }] }
  } as unknown as ISample;
  const verification = (verdict: IVerification['verdict'], tests: unknown, replay: unknown = { cells: [] }): IVerification => ({
    interactive: { turns: 1, executions: 1, errors: 0, fixes: 0 }, replay: replay as Record<string, unknown>,
    tests: tests as Record<string, unknown>, verdict, criteria_version: '0.2'
  });

  it('passes a clean replay whose tests all passed, diverged outputs included; not a failed one, nor nothing to replay', () => {
    expect(replayPassed(record, verification('verified', { passed: 1, failed: 0, results: [{}] }))).toBe(true);
    expect(replayPassed(record, verification('diverged', { passed: 1, failed: 0, results: [{}] }))).toBe(true);
    expect(replayPassed(record, verification('failed', { passed: 0, failed: 1, results: [{}] }))).toBe(false);
    expect(replayPassed(record, verification('unverified', null, null))).toBe(false);
    expect(replayPassed({ ...record, task: { ...record.task, tests: [] } }, verification('unverified', null, null))).toBe(true);
  });

  it('tells the model each failing cell (source, error, traceback) and test', () => {
    const failed = verification(
      'failed',
      { passed: 0, failed: 1, results: [{ index: 0, status: 'failed', error: { ename: 'NameError', evalue: "name 'sq' is not defined" } }] },
      { cells: [{ cell_id: 'c1', status: 'error', error: { ename: 'NameError', evalue: "name 'sq' is not defined", traceback: 'Cell In[1], line 1\n----> 1 print(sq(3))' } }] }
    );
    const text = gateFeedback(record, failed);
    expect(text).toContain("Cell c1 raised NameError: name 'sq' is not defined\nCell In[1], line 1\n----> 1 print(sq(3))\nIts source:\nprint(sq(3))");
    expect(text).toContain("Test 1 raised NameError: name 'sq' is not defined\nThe test:\nassert sq(3) == 9");
    expect(text).toContain('It did not pass');
    expect(text).toMatch(/then give your final answer again\.$/);
  });
});

describe('the packages after a session', () => {
  it('are scanned again only when executed code could have installed something', () => {
    expect(mayHaveInstalled(['x = 1 + 1', 'print(x)'])).toBe(false);
    expect(mayHaveInstalled(['%pip install six'])).toBe(true);
    expect(mayHaveInstalled(['!ls'])).toBe(true);
    expect(mayHaveInstalled(['import subprocess, sys\nsubprocess.run([sys.executable, "-m", "pip", "install", "six"])'])).toBe(true);
  });
});
