import { createHash } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { TOOL_DEFINITIONS } from '../../src/agent/tools';
import { sampleFromNotebook } from '../../src/trace/fromNotebook';
import { validateSample } from '../../src/trace/validate';

const md = (source: string) => ({ cell_type: 'markdown', id: `md-${source.length}`, metadata: {}, source });
const code = (id: string, source: string, count: number | null, outputs: any[] = []) => ({
  cell_type: 'code',
  id,
  metadata: {},
  source,
  execution_count: count,
  outputs
});
const stdout = (text: string) => ({ output_type: 'stream', name: 'stdout', text });

const notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } },
  cells: [
    md('# Exercise 3\nCompute the mean of the list.'),
    code('a', 'data = [1, 2, 3, 4]\nprint(sum(data) / len(data)', 1, [
      { output_type: 'error', ename: 'SyntaxError', evalue: "'(' was never closed", traceback: ['SyntaxError'] }
    ]),
    md('Fix the parenthesis:'),
    code('b', 'data = [1, 2, 3, 4]\nprint(sum(data) / len(data))', 2, [stdout('2.5\n')]),
    code('c', 'print("never run")', null),
    md('The mean is 2.5.')
  ]
};

describe('sampleFromNotebook', () => {
  const sample = sampleFromNotebook(notebook as any, {
    path: 'class/ex3.ipynb',
    bytes: JSON.stringify(notebook),
    modelText: outputs => outputs.map((o: any) => o.text ?? `${o.ename}: ${o.evalue}`).join(''),
    tools: TOOL_DEFINITIONS,
    appVersion: '0.1.0'
  });

  it('makes a valid sample: task from the intro, a turn per executed cell, the closing markdown as answer', () => {
    expect(validateSample(sample)).toEqual({ valid: true, errors: [] });
    expect(sample.task.prompt).toBe('# Exercise 3\nCompute the mean of the list.');
    expect(sample.steps.map(s => s.type)).toEqual(['user', 'assistant', 'execution', 'assistant', 'execution']);
    const second = sample.steps[3];
    expect(second.type === 'assistant' && second.text).toBe('Fix the parenthesis:');
    expect(sample.outcome).toEqual({ reason: 'final_answer', answer: 'The mean is 2.5.' });
    expect(sample.verification.interactive).toMatchObject({ turns: 2, executions: 2, errors: 1, fixes: 1 });
    expect(sample.task.attachments).toEqual([]); // its code reads no file
  });

  it('attaches the files its code reads from the notebook\'s folder, not the notebook itself', () => {
    const folder = mkdtempSync(join(tmpdir(), 'aiev-nb-'));
    try {
      writeFileSync(join(folder, 'data.csv'), 'x\n1\n2\n');
      const reads = { ...notebook, cells: [md('Mean of x.'), code('r', "import csv\nrows = list(csv.DictReader(open('data.csv')))", 1)] };
      const bytes = JSON.stringify(reads);
      writeFileSync(join(folder, 'ex.ipynb'), bytes);
      const withData = sampleFromNotebook(reads as any, { path: join(folder, 'ex.ipynb'), bytes, modelText: () => '', tools: [], appVersion: '0' });
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      expect(withData.task.attachments).toEqual([{ path: 'data.csv', sha256: sha('x\n1\n2\n') }]);
      expect(withData.id).toBe(`nb-${sha(bytes).slice(0, 32)}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('keeps what ran successfully in the final notebook, and cells never run as setup in their place', () => {
    expect(sample.notebook?.cells.map(c => c.id)).toEqual(['b', 'c']);
    expect(sample.notebook?.cells.map(c => (c.metadata as any).aiev.setup ?? false)).toEqual([false, true]);
    expect(sample.notebook?.cells[1]).toMatchObject({ source: 'print("never run")', outputs: [], execution_count: null });
    expect(sample.steps.filter(s => s.type === 'execution')).toHaveLength(2); // a setup cell is no turn
  });

  it('gives the same id for the same file and refuses a notebook with nothing executed', () => {
    const again = sampleFromNotebook(notebook as any, {
      path: 'elsewhere.ipynb',
      bytes: JSON.stringify(notebook),
      modelText: () => '',
      tools: [],
      appVersion: '0'
    });
    expect(again.id).toBe(sample.id);
    const unrun = { ...notebook, cells: [code('x', 'print(1)', null)] };
    expect(() => sampleFromNotebook(unrun as any, { path: 'u.ipynb', bytes: '{}', modelText: () => '', tools: [], appVersion: '0' })).toThrow(
      'the notebook has no executed code cell'
    );
  });
});
