import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { causeOfError } from '../../src/cli/harvestVerdicts';
import { fixesOf, isRetryOf } from '../../src/trace/counts';
import { notebookEnvironment } from '../../src/trace/notebookEnvironment';
import { builtPaths, importedModules, localModules } from '../../src/trace/notebookFiles';
import type { IExecutionStep, IStep } from '../../src/trace/types';

describe('paths a notebook builds from literals', () => {
  it('resolves f-strings of literal names, os.path.join, Path(...) and / chains', () => {
    const codes = [
      "DATA = 'data'\nROOT = Path('data') / 'raw'\nname = input()",
      [
        "a = pd.read_csv(f'{DATA}/a.csv')",
        "b = open(os.path.join(DATA, 'b.txt'))",
        "c = np.load(ROOT / 'c.npy')",
        "d = Path('data', 'd.json').read_text()",
        "e = pd.read_csv(f'{name}.csv')  # not literal: left out",
        "f = open(os.path.join(DATA, name))"
      ].join('\n')
    ];
    expect(builtPaths(codes).sort()).toEqual(['data', 'data/a.csv', 'data/b.txt', 'data/d.json', 'data/raw', 'data/raw/c.npy']);
  });

  it('finds the local modules and packages imported, and what they import in turn', () => {
    const folder = mkdtempSync(join(tmpdir(), 'aiev-modules-'));
    try {
      writeFileSync(join(folder, 'helpers.py'), 'import tools.plots\n');
      mkdirSync(join(folder, 'tools', '__pycache__'), { recursive: true });
      writeFileSync(join(folder, 'tools', '__init__.py'), '');
      writeFileSync(join(folder, 'tools', 'plots.py'), "SRC = 'x.csv'\n");
      writeFileSync(join(folder, 'tools', '__pycache__', 'plots.cpython-311.pyc'), '');
      expect(importedModules('import numpy as np, helpers\nfrom a.b import c\n  import d.e as f')).toEqual(['numpy', 'helpers', 'a', 'd']);
      const found = localModules(['import numpy as np\nfrom helpers import thing'], folder);
      expect(found.map(m => m.path)).toEqual(['helpers.py', 'tools/__init__.py', 'tools/plots.py']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('why a replay failed', () => {
  it.each([
    [{ ename: 'ModuleNotFoundError', evalue: "No module named 'helpers'" }, 'missing package'],
    [{ ename: 'ValueError', evalue: 'Mime type rendering requires nbformat>=4.2.0 but it is not installed' }, 'missing package'],
    [{ ename: 'FileNotFoundError', evalue: "[Errno 2] No such file or directory: 'data.csv'" }, 'missing file'],
    [{ ename: 'OSError', evalue: "'seaborn-whitegrid' is not a valid package style, path of style file, URL of style file" }, 'API change'],
    [{ ename: 'AttributeError', evalue: "'DataFrame' object has no attribute 'append'" }, 'API change'],
    [{ ename: 'TypeError', evalue: "load() missing 1 required positional argument: 'Loader'" }, 'API change'],
    [{ ename: 'ImportError', evalue: "cannot import name 'LegacyVersion' from 'packaging.version'" }, 'API change'],
    [{ ename: 'URLError', evalue: '<urlopen error [Errno -3] Temporary failure in name resolution>' }, 'network'],
    [{ ename: 'NameError', evalue: "name 'np' is not defined" }, 'error in the notebook'],
    [{ ename: 'CellTimeoutError', evalue: 'no reply within 120 s' }, 'timeout'],
    [{ ename: 'DeadKernelError', evalue: 'Kernel died' }, 'kernel died']
  ])('%o is %s', (error, cause) => {
    expect(causeOfError(error)).toBe(cause);
  });
});

describe('fixes in a notebook a person ran', () => {
  const run = (cell: string, code: string, ok: boolean): IExecutionStep =>
    ({ type: 'execution', cell_id: cell, code, status: ok ? 'ok' : 'error', error: ok ? undefined : { ename: 'E', evalue: '' } }) as any;

  it('counts a retry of the same code, not whatever cell comes next', () => {
    expect(isRetryOf(run('a', 'print(x[2)', false), run('b', 'print(x[1])', true))).toBe(true);
    expect(isRetryOf(run('a', 'x[5]', false), run('b', 'print(len(x))', true))).toBe(false);
    const steps: IStep[] = [run('a', 'x[5]', false), run('b', 'print(len(x))', true)];
    expect(fixesOf(steps)).toHaveLength(1); // an agent's next cell answers the error it was shown
    expect(fixesOf(steps, { sameCodeOnly: true })).toHaveLength(0);
  });
});

describe('the versions a notebook states', () => {
  const cell = (source: string, text: string, type: 'stream' | 'result' = 'stream') => ({
    cell_type: 'code',
    id: `c${source.length}`,
    metadata: {},
    source,
    execution_count: 1,
    outputs: [type === 'stream' ? { output_type: 'stream', name: 'stdout', text } : { output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': text } }]
  });

  it('reads __version__ prints, watermark lines and language_info, and nothing else', () => {
    const cells = [
      cell('import numpy as np\nimport pandas as pd\nimport sklearn\nprint(np.__version__, pd.__version__)', '1.16.4 0.24.2\n'),
      cell('sklearn.__version__', "'0.21.2'", 'result'),
      cell('%watermark -p matplotlib', 'matplotlib: 3.1.0\nseaborn   : 0.9.0\n'), // seaborn is not imported here
      cell('print(len([1, 2]))', '2\n')
    ];
    const notebook = { nbformat: 4, nbformat_minor: 5, metadata: { language_info: { name: 'python', version: '3.7.3' } }, cells };
    const environment = notebookEnvironment(notebook as any, cells as any);
    expect(environment?.python).toBe('3.7.3');
    expect(environment?.packages_after).toEqual([
      { name: 'numpy', version: '1.16.4' },
      { name: 'pandas', version: '0.24.2' },
      { name: 'scikit-learn', version: '0.21.2' }
    ]);
    expect(notebookEnvironment({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cells[3]] } as any, [cells[3]] as any)).toBeNull();
  });
});
