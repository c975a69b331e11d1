/**
 * The final notebook of a session: what a reader (and the replay verifier) gets. From the record's executions it
 * keeps, for every cell, its last successful execution, in the order those executions happened; failed attempts
 * that were superseded are dropped. Install cells are pinned to the versions the session resolved. Cell ids are
 * the record's cell ids; each cell's `metadata.aiev` says where it came from.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import { actionKindOf } from './actionKind';
import type { IExecutionStep, IStep } from './types';

/** Provenance written to `metadata.aiev` of every kept cell. */
export interface IKeptCellProvenance {
  call_id: string;
  kind: ReturnType<typeof actionKindOf>;
  /** Index of the execution in `steps`. */
  step: number;
  /** The source as the session ran it, when pinning changed it. */
  original_source?: string;
}

/** `%pip install -q a==1 b==2` for what an install resolved; the original source when nothing was resolved. */
export function pinnedInstall(code: string, step: IExecutionStep): string {
  const resolved = step.install?.resolved ?? [];
  if (!resolved.length) {
    return code;
  }
  const magic = /^\s*!/.test(code) ? '!pip' : '%pip';
  return `${magic} install -q ${resolved.map(p => `${p.name}==${p.version}`).join(' ')}`;
}

/** Build the final notebook from the steps; `session` (the notebook as the session left it) gives its metadata. */
export function buildFinalNotebook(steps: readonly IStep[], session: nbformat.INotebookContent | null): nbformat.INotebookContent {
  const lastOk = new Map<string, number>();
  steps.forEach((step, index) => {
    if (step.type === 'execution' && step.status === 'ok') {
      lastOk.set(step.cell_id, index);
    }
  });
  const cells = [...lastOk.values()]
    .sort((a, b) => a - b)
    .map((index): nbformat.ICodeCell => {
      const step = steps[index] as IExecutionStep;
      const code = step.code;
      const kind = actionKindOf(code);
      const source = kind === 'pip' ? pinnedInstall(code, step) : code;
      const aiev: IKeptCellProvenance = { call_id: step.call_id, kind, step: index };
      if (source !== code) {
        aiev.original_source = code;
      }
      return {
        cell_type: 'code',
        id: step.cell_id,
        source,
        metadata: { aiev } as unknown as nbformat.ICodeCellMetadata,
        outputs: step.outputs,
        execution_count: step.execution_count
      };
    });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { ...(session?.metadata ?? {}) },
    cells
  };
}
