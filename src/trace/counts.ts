/** What the interactive run did, counted from its steps: turns, executions, errors, and which errors were fixed. */
import type { IExecutionStep, IStep, IVerification } from './types';

/** A failed execution and the later successful one that fixed it. */
export interface IFix {
  failed: IExecutionStep;
  fix: IExecutionStep;
}

/** Options of `fixesOf`. */
export interface IFixesOptions {
  /**
   * A success in another cell fixes the failure just before it only when it runs the same code, possibly
   * corrected (`isRetryOf`): for notebooks a person ran, where the next cell is usually just the next step (a
   * book's deliberate demonstration error is not fixed by whatever follows it). Without it (an agent's run) the
   * next success is the agent's answer to the error it was shown.
   */
  sameCodeOnly?: boolean;
}

/** Share of a failed cell's characters a retry may change and still be "the same code, corrected". */
const RETRY_EDIT_SHARE = 0.2;
/** Longest source compared character by character (longer ones are a retry only when equal). */
const RETRY_COMPARED_CHARS = 4000;

/** Edit distance between two strings (insertions, deletions, substitutions), two rows at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = row;
  }
  return previous[b.length];
}

/** Whether `fix` re-runs `failed`'s code: the same source (whitespace aside), or within `RETRY_EDIT_SHARE` of it. */
export function isRetryOf(failed: IExecutionStep, fix: IExecutionStep): boolean {
  const [a, b] = [failed.code, fix.code].map(code => code.trim().replace(/[ \t]+$/gm, ''));
  if (a === b) {
    return true;
  }
  if (Math.max(a.length, b.length) > RETRY_COMPARED_CHARS || !a.length) {
    return false;
  }
  return editDistance(a, b) <= RETRY_EDIT_SHARE * Math.max(a.length, b.length);
}

/**
 * The fixes of a run. Walking executions in order, a failure leaves its cell "open"; a later `ok` execution is a
 * fix when its own cell is open, or else when the execution just before it failed (the model rewrote the failing
 * code into another cell; with `sameCodeOnly`, only when it `isRetryOf` that code) and that cell is still open. A
 * fix closes that one cell (paired with its latest failure), so an error is fixed at most once and one success
 * fixes at most one failing cell, however many times that cell failed.
 */
export function fixesOf(steps: readonly IStep[], options: IFixesOptions = {}): IFix[] {
  const fixes: IFix[] = [];
  const open = new Map<string, IExecutionStep>();
  let previousFailed: string | null = null;
  for (const step of steps) {
    if (step.type !== 'execution') {
      continue;
    }
    if (step.status !== 'ok') {
      open.set(step.cell_id, step);
      previousFailed = step.cell_id;
      continue;
    }
    let fixed = open.has(step.cell_id) ? step.cell_id : previousFailed;
    if (fixed !== step.cell_id && fixed !== null && options.sameCodeOnly && !isRetryOf(open.get(fixed)!, step)) {
      fixed = null;
    }
    if (fixed !== null && open.has(fixed)) {
      fixes.push({ failed: open.get(fixed)!, fix: step });
      open.delete(fixed);
    }
    previousFailed = null;
  }
  return fixes;
}

/** `turns` = assistant steps; `executions` = execution steps; `errors` = executions not `ok`; `fixes` = `fixesOf`. */
export function interactiveCounts(steps: readonly IStep[], options: IFixesOptions = {}): IVerification['interactive'] {
  const executions = steps.filter((s): s is IExecutionStep => s.type === 'execution');
  return {
    turns: steps.filter(s => s.type === 'assistant').length,
    executions: executions.length,
    errors: executions.filter(s => s.status !== 'ok').length,
    fixes: fixesOf(steps, options).length
  };
}
