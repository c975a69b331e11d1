import { execFileSync } from 'child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { harvestCommand, readInput } from '../../src/cli/harvest';
import type { IVerdictLine } from '../../src/cli/harvestVerdicts';

const PYTHON = join(__dirname, '..', '..', '.venv', 'bin', 'python');
const FIXTURE = join(__dirname, '..', 'fixtures', 'harvest-notebooks');

/**
 * A person's sitting: each notebook executed with nbclient in its own folder (errors kept, as a book shows them), on
 * the kernel named (`requirements:FILE` builds that replay environment first: the library version the notebook was
 * written for). `forget` cells then lose their execution count and outputs: run in an earlier sitting.
 */
const EXECUTE = `
import json, os, sys, nbformat
from nbclient import NotebookClient
from python_kernel_bridge.replay_env import prepare
for path, kernel, forget in json.loads(sys.argv[1]):
    if kernel.startswith("requirements:"):
        kernel = prepare(kernel.split(":", 1)[1])["kernel_name"]
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name=kernel, allow_errors=True, timeout=120,
                   resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    for cell in nb.cells:
        if cell.get("id") in forget:
            cell.execution_count, cell.outputs = None, []
    nbformat.write(nb, path)
`;

function readLines(path: string): IVerdictLine[] {
  return readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line));
}

describe('aiev harvest --verify on notebooks as people leave them', () => {
  let dir: string;
  let books: string;
  const previousCache = process.env.AIEV_ENV_CACHE;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-harvest-books-'));
    books = join(dir, 'books');
    cpSync(FIXTURE, books, { recursive: true });
    process.env.AIEV_ENV_CACHE = join(dir, 'envs'); // the verifier inherits it: the same cached environment
    writeFileSync(join(books, 'notes.txt'), 'an older version\n'); // so %%file says "Overwriting"
    const runs = [
      [join(books, 'analysis.ipynb'), 'python3', ['c1']],
      [join(books, 'random_plot.ipynb'), 'python3', []],
      [join(books, 'errors.ipynb'), 'python3', []],
      [join(books, 'legacy', 'legacy.ipynb'), `requirements:${join(books, 'legacy', 'requirements.txt')}`, []]
    ];
    execFileSync(PYTHON, ['-c', EXECUTE, JSON.stringify(runs)], { env: process.env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 });
  }, 660_000);
  afterAll(() => {
    process.env.AIEV_ENV_CACHE = previousCache;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads what each notebook needs: the helper module, the data its f-string names, the versions it printed', () => {
    const analysis = readInput(join(books, 'analysis.ipynb'));
    expect(analysis.task.attachments.map(a => a.path)).toEqual(['data/values.csv', 'helpers_stats.py']);
    const setup = analysis.notebook!.cells.filter(cell => (cell.metadata as any).aiev?.setup);
    expect(setup.map(cell => cell.id)).toEqual(['c1']); // the import cell, never run in this sitting
    expect(analysis.steps.filter(step => step.type === 'execution')).toHaveLength(7);
    const legacy = readInput(join(books, 'legacy', 'legacy.ipynb'));
    expect(legacy.environment?.packages_after).toEqual([{ name: 'packaging', version: '21.3' }]);
  });

  it("gives each notebook the verdict it deserves and says why in DATASET.verdicts.jsonl", async () => {
    const out = join(dir, 'books.jsonl');
    const log: string[] = [];
    expect(await harvestCommand([books, '--out', out, '--verify'], line => log.push(line))).toBe(0);
    const lines = readLines(join(dir, 'books.verdicts.jsonl'));
    const by = Object.fromEntries(lines.map(line => [line.input.slice(books.length + 1), line]));
    expect(Object.keys(by)).toEqual(['analysis.ipynb', 'errors.ipynb', 'legacy/legacy.ipynb', 'random_plot.ipynb']);

    expect(by['analysis.ipynb']).toMatchObject({ verdict: 'verified', cause: 'verified' });
    // By text: %%file, the helper, the warning's cell, the float sum; the plot by image; %timeit and %prun by status.
    expect(by['analysis.ipynb'].compared).toEqual({ text: 4, image: 1, status: 2, setup: 1, none: 0 });
    expect(by['analysis.ipynb'].environment).toMatchObject({ kind: 'verifier' });
    expect(by['errors.ipynb']).toMatchObject({ verdict: 'verified' });
    expect(by['random_plot.ipynb']).toMatchObject({ verdict: 'diverged', cause: 'output differs' });
    expect(by['random_plot.ipynb'].first_difference).toMatchObject({ cell_id: 'c2' });
    expect(by['random_plot.ipynb'].first_difference!.diff).toMatch(/of the ink changed/);
    // Written for packaging 21; today's packaging has no LegacyVersion.
    expect(by['legacy/legacy.ipynb']).toMatchObject({ verdict: 'failed', cause: 'API change' });
    expect(by['legacy/legacy.ipynb'].error).toMatchObject({ where: 'cell c1', ename: 'ImportError' });

    const summary = JSON.parse(readFileSync(join(dir, 'books.summary.json'), 'utf8'));
    expect(summary.by_cause).toEqual({ verified: 2, 'API change': 1, 'output differs': 1 });
    // The book's IndexError demonstration is followed by other code: not a fix. The SyntaxError is retried.
    expect(summary.fixed_error_types).toEqual({ SyntaxError: 1 });
    expect(log.join('\n')).toMatch(/cause: API change\s+1/);
    // The default format is the canonical record.
    const rows = readFileSync(out, 'utf8').trim().split('\n').map(line => JSON.parse(line));
    expect(rows).toHaveLength(4);
    expect(rows.every(row => row.schema?.name && Array.isArray(row.steps) && row.verification)).toBe(true);
  }, 600_000);

  it('--requirements replays the old notebook in the versions it was written for, from a cached venv', async () => {
    const out = join(dir, 'legacy.jsonl');
    const requirements = join(books, 'legacy', 'requirements.txt');
    const args = [join(books, 'legacy'), '--out', out, '--verify', '--requirements', requirements];
    expect(await harvestCommand(args, () => undefined)).toBe(0);
    const [line] = readLines(join(dir, 'legacy.verdicts.jsonl'));
    expect(line).toMatchObject({ verdict: 'verified', cause: 'verified' });
    const environment = line.environment as any;
    expect(environment).toMatchObject({ kind: 'requirements', requirements: ['packaging==21.3'], cache: 'hit' });
    expect(environment.packages).toContainEqual({ name: 'packaging', version: '21.3' });
    await expect(harvestCommand([...args, '--kernel', 'python3'], () => undefined)).rejects.toThrow(/--kernel names an environment/);

    // The versions the notebook printed, as its environment: the same package set, so the same cached venv.
    const recorded = [join(books, 'legacy'), '--out', join(dir, 'recorded.jsonl'), '--verify', '--recorded-env'];
    expect(await harvestCommand(recorded, () => undefined)).toBe(0);
    const [again] = readLines(join(dir, 'recorded.verdicts.jsonl'));
    expect(again).toMatchObject({ verdict: 'verified', environment: { kind: 'recorded', requirements: ['packaging==21.3'], cache: 'hit' } });
  }, 600_000);
});
