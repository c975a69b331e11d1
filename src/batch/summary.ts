/**
 * The numbers of a batch run, from its `results.jsonl`: pass@k for every k <= K with the unbiased estimator
 * (Chen et al. 2021: n samples of a task, c of them correct, `1 - C(n-c, k) / C(n, k)`, averaged over tasks),
 * pass@1 at the first final answer and after each round of verify-gate feedback (CoderGen-style), the verified
 * rate, errors fixed by type, packages installed, mean turns and tokens per task; as `summary.json`, a table, and
 * two runs side by side (`--compare`).
 */
import type { IOutcome, Verdict } from '../trace/types';
import type { ITaskLineError } from './tasks';

/** One line of `results.jsonl`: a rollout as it finished. */
export interface IRolloutResult {
  task: string;
  sample: number;
  /** `done`: the session ran to an outcome; `cancelled` (Ctrl-C) and `error` (it could not run) are run again by `--resume`. */
  status: 'done' | 'cancelled' | 'error';
  outcome: IOutcome['reason'] | null;
  /** Verdict of the last replay of the final notebook (null when none was made). */
  verdict: Verdict | null;
  /** The last replay ran from a clean start and every test passed (`replayPassed`). */
  passed: boolean;
  tests: { passed: number; total: number } | null;
  /** Whether each verify-gate attempt passed: [first final answer, after 1 round of feedback, ...]. */
  gate: boolean[];
  turns: number;
  errors: number;
  fixes: number;
  fixed_error_types: Record<string, number>;
  packages_installed: string[];
  /** 1 when `passed`, else 0 (the tests' own counts are in `tests`). */
  reward: number;
  tokens: { prompt: number; completion: number };
  duration_ms: number;
  /** The record, relative to the run's folder. */
  record: string;
  /** Where the rollout's kernel ran (`local` or the server's host) and where its replays ran. */
  server: string;
  replay_where: string | null;
  sampling: Record<string, unknown>;
  message?: string;
}

/** `summary.json`. */
export interface IBatchSummary {
  tasks: number;
  samples_per_task: number;
  rollouts: { total: number; done: number; cancelled: number; error: number };
  skipped_lines: ITaskLineError[];
  /** pass@k by k (1..K), over the tasks with at least k finished rollouts. */
  pass_at_k: Record<string, number>;
  pass_at_1_first_answer: number;
  pass_at_1_after_feedback: number;
  /** pass@1 counting a rollout as correct once a gate attempt <= r passed, by r. */
  pass_at_1_by_round: Record<string, number>;
  /** Finished rollouts whose last replay is `verified`. */
  verified_rate: number;
  errors_fixed_by_type: Record<string, number>;
  packages_installed: Record<string, number>;
  mean_turns: number;
  mean_tokens: { prompt: number; completion: number };
  per_task: { task: string; n: number; correct: number; correct_first: number; mean_turns: number }[];
}

/** The unbiased pass@k of a task with `n` samples of which `c` are correct (`1 - C(n-c, k) / C(n, k)`). */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n || n <= 0) {
    throw new Error(`pass@${k} needs at least ${k} samples, not ${n}`);
  }
  if (n - c < k) {
    return 1;
  }
  let failAll = 1;
  for (let i = n - c + 1; i <= n; i++) {
    failAll *= 1 - k / i;
  }
  return 1 - failAll;
}

/** The latest line of each rollout (`task`, `sample`): a resumed run appends a new line for a rerun one. */
export function latestResults(results: readonly IRolloutResult[]): IRolloutResult[] {
  const byKey = new Map<string, IRolloutResult>();
  for (const result of results) {
    byKey.set(`${result.task}\u0000${result.sample}`, result);
  }
  return [...byKey.values()];
}

/** The summary of a run's results; `taskIds` in suite order, `samples` = K. */
export function summarize(
  results: readonly IRolloutResult[],
  taskIds: readonly string[],
  samples: number,
  skippedLines: ITaskLineError[] = []
): IBatchSummary {
  const latest = latestResults(results);
  const done = latest.filter(r => r.status === 'done');
  const rounds = Math.max(1, ...done.map(r => r.gate.length));
  const perTask = taskIds
    .map(task => ({ task, rollouts: done.filter(r => r.task === task) }))
    .filter(({ rollouts }) => rollouts.length > 0);
  const firstPassing = (r: IRolloutResult) => (r.passed ? r.gate.indexOf(true) : -1);
  const meanOverTasks = (value: (rollouts: IRolloutResult[]) => number) =>
    perTask.length ? perTask.reduce((sum, { rollouts }) => sum + value(rollouts), 0) / perTask.length : 0;
  const byRound = (r: number) =>
    meanOverTasks(rollouts => rollouts.filter(x => firstPassing(x) >= 0 && firstPassing(x) <= r).length / rollouts.length);
  const passAt: Record<string, number> = {};
  for (let k = 1; k <= samples; k++) {
    const eligible = perTask.filter(({ rollouts }) => rollouts.length >= k);
    if (eligible.length) {
      const sum = eligible.reduce((total, { rollouts }) => total + passAtK(rollouts.length, rollouts.filter(r => r.passed).length, k), 0);
      passAt[String(k)] = sum / eligible.length;
    }
  }
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  return {
    tasks: taskIds.length,
    samples_per_task: samples,
    rollouts: {
      total: taskIds.length * samples,
      done: done.length,
      cancelled: latest.filter(r => r.status === 'cancelled').length,
      error: latest.filter(r => r.status === 'error').length
    },
    skipped_lines: skippedLines,
    pass_at_k: passAt,
    pass_at_1_first_answer: byRound(0),
    pass_at_1_after_feedback: meanOverTasks(rollouts => rollouts.filter(r => r.passed).length / rollouts.length),
    pass_at_1_by_round: Object.fromEntries(Array.from({ length: rounds }, (_, r) => [String(r), byRound(r)])),
    verified_rate: done.length ? done.filter(r => r.verdict === 'verified').length / done.length : 0,
    errors_fixed_by_type: countAll(done.map(r => r.fixed_error_types)),
    packages_installed: countAll(done.map(r => Object.fromEntries(r.packages_installed.map(p => [p, 1])))),
    mean_turns: meanOverTasks(rollouts => mean(rollouts.map(r => r.turns))),
    mean_tokens: {
      prompt: meanOverTasks(rollouts => mean(rollouts.map(r => r.tokens.prompt))),
      completion: meanOverTasks(rollouts => mean(rollouts.map(r => r.tokens.completion)))
    },
    per_task: perTask.map(({ task, rollouts }) => ({
      task,
      n: rollouts.length,
      correct: rollouts.filter(r => r.passed).length,
      correct_first: rollouts.filter(r => firstPassing(r) === 0).length,
      mean_turns: mean(rollouts.map(r => r.turns))
    }))
  };
}

function countAll(maps: Record<string, number>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const map of maps) {
    for (const [key, n] of Object.entries(map)) {
      counts[key] = (counts[key] ?? 0) + n;
    }
  }
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}

/** The rows of the summary table: label and value. */
function summaryRows(summary: IBatchSummary): [string, string][] {
  const { rollouts } = summary;
  return [
    ['tasks', `${summary.tasks} (${summary.skipped_lines.length} line${summary.skipped_lines.length === 1 ? '' : 's'} skipped)`],
    ['rollouts done', `${rollouts.done} of ${rollouts.total}${rollouts.cancelled ? `, ${rollouts.cancelled} cancelled` : ''}${rollouts.error ? `, ${rollouts.error} errors` : ''}`],
    ...Object.entries(summary.pass_at_k).map(([k, v]): [string, string] => [`pass@${k}`, share(v)]),
    ['pass@1 first answer', share(summary.pass_at_1_first_answer)],
    ...Object.entries(summary.pass_at_1_by_round)
      .filter(([r]) => r !== '0')
      .map(([r, v]): [string, string] => [`pass@1 after ${r} round${r === '1' ? '' : 's'} of feedback`, share(v)]),
    ['verified rate', share(summary.verified_rate)],
    ['mean turns per task', summary.mean_turns.toFixed(2)],
    ['mean tokens per task', `${Math.round(summary.mean_tokens.prompt)} in, ${Math.round(summary.mean_tokens.completion)} out`],
    ...Object.entries(summary.errors_fixed_by_type).slice(0, 10).map(([name, n]): [string, string] => [`fixed ${name}`, String(n)]),
    ...Object.entries(summary.packages_installed).slice(0, 10).map(([name, n]): [string, string] => [`installed ${name}`, String(n)])
  ];
}

/** The summary as a table for the terminal, then one line per task (correct of n, first answer). */
export function summaryTable(summary: IBatchSummary): string {
  const rows = summaryRows(summary);
  const width = Math.max(...rows.map(([label]) => label.length));
  const taskWidth = Math.max(4, ...summary.per_task.map(t => t.task.length));
  return [
    ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
    '',
    `${'task'.padEnd(taskWidth)}  correct  first answer  turns`,
    ...summary.per_task.map(t => `${t.task.padEnd(taskWidth)}  ${`${t.correct}/${t.n}`.padEnd(7)}  ${`${t.correct_first}/${t.n}`.padEnd(12)}  ${t.mean_turns.toFixed(1)}`)
  ].join('\n');
}

/** Two runs' summaries side by side (`aiev batch --compare A B`): every row of either, and the tasks they share. */
export function compareTable(a: IBatchSummary, b: IBatchSummary, names: [string, string]): string {
  const rowsA = new Map(summaryRows(a));
  const rowsB = new Map(summaryRows(b));
  const labels = [...new Set([...rowsA.keys(), ...rowsB.keys()])];
  const width = Math.max(...labels.map(label => label.length));
  const col = Math.max(12, ...names.map(n => n.length), ...[...rowsA.values(), ...rowsB.values()].map(v => v.length));
  const tasksB = new Map(b.per_task.map(t => [t.task, t]));
  const shared = a.per_task.filter(t => tasksB.has(t.task));
  const taskWidth = Math.max(width, ...shared.map(t => t.task.length));
  return [
    `${''.padEnd(width)}  ${names[0].padEnd(col)}  ${names[1]}`,
    ...labels.map(label => `${label.padEnd(width)}  ${(rowsA.get(label) ?? '-').padEnd(col)}  ${rowsB.get(label) ?? '-'}`),
    '',
    `${'task (correct)'.padEnd(taskWidth)}  ${names[0].padEnd(col)}  ${names[1]}`,
    ...shared.map(t => `${t.task.padEnd(taskWidth)}  ${`${t.correct}/${t.n}`.padEnd(col)}  ${tasksB.get(t.task)!.correct}/${tasksB.get(t.task)!.n}`)
  ].join('\n');
}

/** A share as a percentage with one decimal. */
function share(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
