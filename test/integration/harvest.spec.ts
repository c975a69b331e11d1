import childProcess, { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { harvestCommand, readInput } from '../../src/cli/harvest';
import { findAttachments } from '../../src/trace/attachments';
import { writeSample } from '../../src/trace/logFile';
import type { IDatasetSummary } from '../../src/trace/datasetSummary';
import { runScripted } from '../helpers/agentHarness';
import { withTestServer } from '../helpers/jupyter';

const PYTHON = join(__dirname, '..', '..', '.venv', 'bin', 'python');
const run = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const finish = (answer: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer } }] });

/** Rows of a dataset file as the real consumer (`datasets`) loads them. */
function loadRows(path: string): any[] {
  const kind = path.endsWith('.parquet') ? 'parquet' : 'json';
  const script = `import json, sys, datasets
ds = datasets.load_dataset("${kind}", data_files=sys.argv[1], split="train")
print(json.dumps([{"id": r.get("id"), "n": len(r["messages"])} for r in ds]))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8', env: { ...process.env, HF_DATASETS_OFFLINE: '1' } }));
}

describe('aiev harvest over a folder of good, broken and duplicate inputs', () => {
  const server = withTestServer();
  let dir: string;
  let inputs: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-harvest-test-'));
    inputs = join(dir, 'inputs');
    mkdirSync(join(inputs, 'class'), { recursive: true });
    const good = await runScripted(server(), [run('x = 6 * 7'), run('print(x)'), finish('42')]);
    const random = await runScripted(server(), [run('import random\nprint(random.random())'), finish('a random number')]);
    ids.good = good.sample.id;
    ids.random = random.sample.id;
    writeSample(join(inputs, 'good.aiev.json'), good.sample);
    copyFileSync(join(inputs, 'good.aiev.json'), join(inputs, 'good-copy.aiev.json'));
    writeSample(join(inputs, 'random.aiev.json'), random.sample);
    writeFileSync(join(inputs, 'broken.json'), '{"schema": {"name": ');
    writeFileSync(join(inputs, 'other.json'), JSON.stringify({ hello: 'world' }));
    writeFileSync(
      join(inputs, 'class', 'unrun.ipynb'),
      JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', id: 'a', metadata: {}, source: 'print(1)', execution_count: null, outputs: [] }] })
    );
    // A student's exercise, executed: one mistake, fixed, then the answer.
    writeFileSync(
      join(inputs, 'class', 'exercise.ipynb'),
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
        cells: [
          { cell_type: 'markdown', id: 'm1', metadata: {}, source: 'Sum the squares of 1..10.' },
          { cell_type: 'code', id: 'c1', metadata: {}, source: 'print(sum(i**2 for i in range(1, 11))', execution_count: 1, outputs: [{ output_type: 'error', ename: 'SyntaxError', evalue: "'(' was never closed", traceback: [] }] },
          { cell_type: 'code', id: 'c2', metadata: {}, source: 'print(sum(i**2 for i in range(1, 11)))', execution_count: 2, outputs: [{ output_type: 'stream', name: 'stdout', text: '385\n' }] },
          { cell_type: 'markdown', id: 'm2', metadata: {}, source: 'The sum is 385.' }
        ]
      })
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies, dedupes, skips bad files, and writes a dataset that datasets loads, with a summary', async () => {
    const out = join(dir, 'dataset.jsonl');
    const log: string[] = [];
    const spawn = jest.spyOn(childProcess, 'spawn');
    const code = await harvestCommand([inputs, '--out', out, '--format', 'trl', '--verify', '--dedupe', '--concurrency', '2'], line => log.push(line));
    const verifiers = spawn.mock.calls.filter(([, args]) => args?.includes('python_kernel_bridge'));
    spawn.mockRestore();
    expect(verifiers).toHaveLength(1); // one Python process replays all four readable inputs
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'dataset.summary.json'), 'utf8')) as IDatasetSummary;
    expect(summary.inputs).toBe(7);
    expect(summary.skipped.map(s => s.path.split('/').pop()).sort()).toEqual(['broken.json', 'other.json', 'unrun.ipynb']);
    expect(summary.skipped.find(s => s.path.endsWith('unrun.ipynb'))?.reason).toBe('the notebook has no executed code cell');
    expect(summary.duplicates).toBe(1);
    expect(summary.by_verdict).toEqual({ verified: 3, diverged: 1, failed: 0, unverified: 0 });
    expect(summary.written).toBe(3);
    expect(summary.fixed_error_types).toEqual({ SyntaxError: 1 });
    const rows = loadRows(out);
    expect(rows.map(r => r.id).sort()).toEqual(readFileSync(join(dir, 'dataset.ids'), 'utf8').trim().split('\n').sort());
    expect(rows.map(r => r.id)).toEqual(expect.arrayContaining([ids.good, ids.random]));
    expect(log.join('\n')).toMatch(/skipped .*broken\.json: not JSON/);
  });

  it('--verified-only drops what did not verify; parquet loads too', async () => {
    const out = join(dir, 'verified.parquet');
    const code = await harvestCommand([inputs, '--out', out, '--format', 'openai', '--verify', '--verified-only', '--dedupe'], () => undefined);
    expect(code).toBe(0);
    const rows = loadRows(out);
    expect(rows).toHaveLength(2);
    const summary = JSON.parse(readFileSync(join(dir, 'verified.summary.json'), 'utf8')) as IDatasetSummary;
    expect(summary.filtered.not_verified).toBe(1);
    expect(readFileSync(join(dir, 'verified.ids'), 'utf8').trim().split('\n')).not.toContain(ids.random);
  });
});

describe('aiev harvest --verify: a notebook and a record that read a data file beside them', () => {
  const server = withTestServer();
  const CSV = 'x\n1\n2\n3\n';
  const READ = "import csv\nrows = list(csv.DictReader(open('data.csv')))\nprint(len(rows), 'rows')";
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-harvest-attach-'));
    for (const folder of ['class', 'orphan', 'runs']) {
      mkdirSync(join(dir, folder));
    }
    // Really executed: a kernel working in a folder that holds data.csv.
    writeFileSync(join(server().rootDir, 'data.csv'), CSV);
    const ran = await runScripted(server(), [run(READ), run("print(sum(float(r['x']) for r in rows) / len(rows))"), finish('2.0')]);
    const notebook = ran.savedNotebook;
    notebook.cells.unshift({ cell_type: 'markdown', id: 'intro', metadata: {}, source: 'The mean of x in data.csv.' });
    writeFileSync(join(dir, 'class', 'student.ipynb'), JSON.stringify(notebook));
    writeFileSync(join(dir, 'class', 'data.csv'), CSV);
    writeFileSync(join(dir, 'orphan', 'student.ipynb'), JSON.stringify(notebook)); // its data.csv is not there
    const codes = ran.sample.steps.flatMap(s => (s.type === 'execution' ? [s.code] : []));
    const record = { ...ran.sample, task: { ...ran.sample.task, attachments: findAttachments(codes, server().rootDir) } };
    writeSample(join(dir, 'runs', 'agent.aiev.json'), record);
    writeFileSync(join(dir, 'runs', 'data.csv'), CSV);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('attaches data.csv (not the notebook), copies it for the replay, and verifies', async () => {
    const data = { path: 'data.csv', sha256: createHash('sha256').update(CSV).digest('hex') };
    expect(readInput(join(dir, 'class', 'student.ipynb')).task.attachments).toEqual([data]);
    expect(readInput(join(dir, 'orphan', 'student.ipynb')).task.attachments).toEqual([]);
    expect(readInput(join(dir, 'runs', 'agent.aiev.json')).task.attachments).toEqual([data]);

    const out = join(dir, 'dataset.jsonl');
    const folders = ['class', 'orphan', 'runs'].map(folder => join(dir, folder));
    expect(await harvestCommand([...folders, '--out', out, '--format', 'hf-jupyter-agent', '--verify'], () => undefined)).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map(line => JSON.parse(line));
    expect(rows.map(row => row.files_used)).toEqual([['data.csv'], [], ['data.csv']]);
    const summary = JSON.parse(readFileSync(join(dir, 'dataset.summary.json'), 'utf8')) as IDatasetSummary;
    // The orphan's cell cannot open data.csv: failed. The other two replay with their copy of it.
    expect(summary.by_verdict).toEqual({ verified: 2, diverged: 0, failed: 1, unverified: 0 });
  });
});
