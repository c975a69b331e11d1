import childProcess from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { readInput } from '../../src/cli/harvest';
import { verifyManyLocally, VerifyResult } from '../../src/cli/verify';
import { writeSample } from '../../src/trace/logFile';
import type { ISample, IVerification } from '../../src/trace/types';

/** An executed one-cell notebook: `source` with the recorded stdout `text`. */
function notebook(source: string, text: string): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      { cell_type: 'markdown', id: 'm', metadata: {}, source: 'Print it.' },
      { cell_type: 'code', id: 'c', metadata: {}, source, execution_count: 1, outputs: [{ output_type: 'stream', name: 'stdout', text }] }
    ]
  };
}

/** `verifyManyLocally` over `paths`, collecting the results by index. */
async function verifyAll(paths: string[], jobs = 2): Promise<VerifyResult[]> {
  const results: VerifyResult[] = new Array(paths.length);
  await verifyManyLocally(paths, 60, jobs, (index, result) => {
    results[index] = result;
  });
  return results;
}

describe('verifyManyLocally: several records through one real verifier process', () => {
  let dir: string;
  let good: string;
  let random: string;
  let broken: string;
  const spawnSpy = () => jest.spyOn(childProcess, 'spawn');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aiev-verify-many-'));
    const record = (name: string, source: string, text: string) => {
      const ipynb = join(dir, `${name}.ipynb`);
      writeFileSync(ipynb, JSON.stringify(notebook(source, text)));
      const path = join(dir, `${name}.json`);
      writeSample(path, readInput(ipynb));
      return path;
    };
    good = record('good', 'print(6 * 7)', '42\n');
    random = record('random', 'import random\nprint(random.random())', '0.123\n');
    broken = join(dir, 'broken.json');
    writeFileSync(broken, '{not json');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    jest.restoreAllMocks();
    delete process.env.AIEV_PYTHON;
  });

  it('gives each record its verdict or error, writes the blocks, and spawns one process', async () => {
    const spawn = spawnSpy();
    const results = await verifyAll([good, broken, random]);
    expect(spawn).toHaveBeenCalledTimes(1);
    expect((results[0] as IVerification).verdict).toBe('verified');
    expect(results[1]).toBeInstanceOf(Error);
    expect((results[1] as Error).message).toMatch(/cannot read .*broken\.json: not JSON/);
    expect((results[2] as IVerification).verdict).toBe('diverged');
    const written = JSON.parse(readFileSync(good, 'utf8')) as ISample;
    expect(written.verification).toEqual(results[0]);
    expect(readFileSync(broken, 'utf8')).toBe('{not json');
  });

  it('rejects when the verifier prints something that is not a JSON line', async () => {
    process.env.AIEV_PYTHON = '/bin/echo'; // prints its arguments: one line, not JSON
    await expect(verifyAll([good])).rejects.toThrow(/not JSON: -m python_kernel_bridge verify/);
  });

  it('rejects when the verifier dies before reporting every record', async () => {
    process.env.AIEV_PYTHON = '/bin/false';
    await expect(verifyAll([good, random])).rejects.toThrow(/exited with status 1 after 0 of 2 records/);
  });

  it('rejects when the verifier cannot be started', async () => {
    process.env.AIEV_PYTHON = join(dir, 'no-such-python');
    await expect(verifyAll([good])).rejects.toThrow(/could not run the verifier: spawn .*ENOENT/);
  });
});
