/** The texts the model reads as tool results. Everything here is recorded verbatim as `model_text`. */
import type { ICellSnapshot, IExecutionOutcome } from '../notebook/tokens';
import type { IInstallResult } from '../trace/types';
import { shapeOutputs } from './shaping';

/** Per-cell output budget in a `read_notebook` listing. */
const LISTING_OUTPUT_CHARS = 600;

/** Result of one execution: cell id, status, what happened to the kernel, then the shaped output. */
export function executionText(
  outcome: IExecutionOutcome,
  output: string,
  install?: IInstallResult,
  note?: string
): string {
  const lines = [`cell_id: ${outcome.cellId}`, `status: ${outcome.status}`];
  if (note) {
    lines.push(`note: ${note}`);
  }
  if (outcome.executionCount !== null) {
    lines.push(`execution_count: ${outcome.executionCount}`);
  }
  if (outcome.status === 'timeout') {
    lines.push(`note: the cell ran longer than the time limit and was stopped. ${outcome.recovery ?? ''}`.trim());
  } else if (outcome.status === 'kernel_died') {
    lines.push(`note: ${outcome.recovery ?? 'the kernel died.'}`);
  } else if (outcome.status === 'interrupted' && outcome.recovery?.startsWith('The run was stopped')) {
    lines.push(`note: ${outcome.recovery}`); // the driver was lost: the recovery says why
  } else if (outcome.status === 'interrupted') {
    lines.push(`note: the run was stopped by the user. ${outcome.recovery ?? ''}`.trim());
  }
  if (outcome.stdinRequested) {
    lines.push('note: the code asked for keyboard input (input()/getpass); this notebook has no interactive input. Set the value in code instead.');
  }
  if (install) {
    const resolved = install.resolved.map(p => `${p.name}==${p.version}`).join(', ');
    lines.push(`installed: ${resolved || 'nothing new (already satisfied)'}`);
    if (install.restart_required) {
      lines.push('note: an installed package was already imported; call restart_kernel before using the new version.');
    }
  }
  lines.push('output:', output || '(no output)');
  return lines.join('\n');
}

/** Every cell with id, execution count, source and a short view of its output, for `read_notebook`. */
export function notebookListing(cells: ICellSnapshot[]): string {
  if (!cells.length) {
    return '(the notebook has no cells)';
  }
  return cells
    .map(cell => {
      const head = `--- cell ${cell.id} [${cell.cell_type}${cell.execution_count !== null ? `, execution_count ${cell.execution_count}` : ''}]`;
      const output = cell.outputs.length
        ? shapeOutputs(cell.outputs, { budgetChars: LISTING_OUTPUT_CHARS, vision: false }).text
        : '';
      return [head, cell.source, ...(output ? ['output:', output] : [])].join('\n');
    })
    .join('\n');
}
