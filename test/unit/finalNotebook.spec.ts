import { buildFinalNotebook, pinnedInstall } from '../../src/trace/finalNotebook';
import type { IExecutionStep, IStep } from '../../src/trace/types';

let counter = 0;
function execution(cellId: string, code: string, status: IExecutionStep['status'], extra: Partial<IExecutionStep> = {}): IExecutionStep {
  counter++;
  return {
    type: 'execution',
    call_id: `call_${counter}`,
    cell_id: cellId,
    code,
    executor: 'ipykernel',
    execution_count: counter,
    status,
    started_at: '2026-11-22T00:00:00.000Z',
    duration_ms: 1,
    outputs: [{ output_type: 'stream', name: 'stdout', text: `${cellId}:${counter}\n` }],
    truncated: false,
    model_text: '',
    ...extra
  };
}

describe('buildFinalNotebook', () => {
  it('keeps each cell at its last successful execution, in execution order, dropping failed attempts', () => {
    const steps: IStep[] = [
      { type: 'user', text: 'task', time: '2026-11-22T00:00:00.000Z' },
      execution('a', 'import tabulate', 'error'),
      execution('b', '%pip install tabulate', 'ok', {
        install: { resolved: [{ name: 'tabulate', version: '0.10.0' }], removed: [], restart_required: false }
      }),
      execution('c', 'x = 1 +', 'error'),
      execution('c', 'x = 1', 'ok'),
      execution('a', 'import tabulate', 'ok'),
      execution('d', 'import os; os._exit(1)', 'kernel_died'),
      execution('c', 'x = 2', 'ok')
    ];
    const notebook = buildFinalNotebook(steps, { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } }, cells: [] });
    expect(notebook.cells.map(c => [c.id, c.source])).toEqual([
      ['b', '%pip install -q tabulate==0.10.0'],
      ['a', 'import tabulate'],
      ['c', 'x = 2']
    ]);
    expect(notebook.cells[0].metadata).toEqual({
      aiev: { call_id: 'call_2', kind: 'pip', step: 2, original_source: '%pip install tabulate' }
    });
    expect(notebook.cells[2].outputs).toEqual((steps[7] as IExecutionStep).outputs);
    expect(notebook.metadata.kernelspec?.name).toBe('python3');
    expect(notebook.nbformat_minor).toBe(5);
  });

  it('leaves an install that resolved nothing as it was, and keeps !pip as !pip', () => {
    const nothing = execution('x', '%pip install -q nbformat', 'ok', { install: { resolved: [], removed: [], restart_required: false } });
    expect(pinnedInstall('%pip install -q nbformat', nothing)).toBe('%pip install -q nbformat');
    const bang = execution('y', '!pip install humanize', 'ok', {
      install: { resolved: [{ name: 'humanize', version: '4.17.0' }], removed: [], restart_required: false }
    });
    expect(pinnedInstall('!pip install humanize', bang)).toBe('!pip install -q humanize==4.17.0');
  });

  it('gives an empty notebook for a session without a successful execution', () => {
    expect(buildFinalNotebook([execution('a', '1/0', 'error')], null).cells).toEqual([]);
  });
});
