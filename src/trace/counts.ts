/** What the interactive run did, counted from its steps: turns, executions, errors, and which errors were fixed. */
import type { IExecutionStep, IStep, IVerification } from './types';

/** A failed execution and the later successful one that fixed it. */
export interface IFix {
  failed: IExecutionStep;
  fix: IExecutionStep;
}

/**
 * The fixes of a run. Walking executions in order, a failure leaves its cell "open"; a later `ok` execution is a
 * fix when its own cell is open, or else when the execution just before it failed (the model rewrote the failing
 * code into another cell) and that cell is still open. A fix closes that one cell (paired with its latest
 * failure), so an error is fixed at most once and one success fixes at most one failing cell, however many times
 * that cell failed.
 */
export function fixesOf(steps: readonly IStep[]): IFix[] {
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
    const fixed = open.has(step.cell_id) ? step.cell_id : previousFailed;
    if (fixed !== null && open.has(fixed)) {
      fixes.push({ failed: open.get(fixed)!, fix: step });
      open.delete(fixed);
    }
    previousFailed = null;
  }
  return fixes;
}

/** `turns` = assistant steps; `executions` = execution steps; `errors` = executions not `ok`; `fixes` = `fixesOf`. */
export function interactiveCounts(steps: readonly IStep[]): IVerification['interactive'] {
  const executions = steps.filter((s): s is IExecutionStep => s.type === 'execution');
  return {
    turns: steps.filter(s => s.type === 'assistant').length,
    executions: executions.length,
    errors: executions.filter(s => s.status !== 'ok').length,
    fixes: fixesOf(steps).length
  };
}
