/**
 * `aiev batch` as a user runs it: the built CLI, a private Jupyter server with real kernels, the scripted model.
 * The suite of test/helpers/batchSuite.ts (12 tasks x K=3, one malformed line) gives exact pass@k figures; a run
 * stopped with Ctrl-C halfway and resumed gives them too, and its verified dataset loads with `datasets`.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { IBatchSummary, IRolloutResult } from '../../src/batch/summary';
import type { IEventStep, ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { expectSuiteSummary, finished, killClis, startCli, SUITE_ARGS, suiteModel, suiteText } from '../helpers/batchSuite';
import { IScriptedModel, startScriptedModel } from '../scripted-model/server';

const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

/** The results file's lines. */
function results(dir: string): IRolloutResult[] {
  return readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line));
}

describe('aiev batch (the built CLI, a private Jupyter server, the scripted model)', () => {
  let cwd: string;
  let model: IScriptedModel;
  beforeAll(async () => {
    execFileSync(join(ROOT, '.venv', 'bin', 'jlpm'), ['build:cli'], { cwd: ROOT, stdio: 'ignore' });
    cwd = mkdtempSync(join(tmpdir(), 'aiev-batch-cli-'));
    writeFileSync(join(cwd, 'tasks.jsonl'), suiteText());
    model = await startScriptedModel(Array(2000).fill(suiteModel));
  });
  afterAll(async () => {
    killClis();
    await model.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('stopped with Ctrl-C halfway, then resumed: the exact pass@k of the suite, records whole, a dataset that loads', async () => {
    const args = ['batch', 'tasks.jsonl', '--out', 'run', ...SUITE_ARGS, '--format', 'trl,rollouts'];
    const child = startCli(args, cwd, model);
    const first = finished(child);
    const resultsFile = join(cwd, 'run', 'results.jsonl');
    await waitFor(() => existsSync(resultsFile) && readFileSync(resultsFile, 'utf8').trim().split('\n').length >= 12, 240000);
    child.kill('SIGINT');
    const stopped = await first;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('tasks.jsonl:6: skipped: not JSON');
    const afterStop = results(join(cwd, 'run'));
    expect(afterStop.filter(r => r.status === 'done').length).toBeGreaterThanOrEqual(12);
    expect(afterStop.filter(r => r.status === 'done').length).toBeLessThan(36);
    for (const cancelled of afterStop.filter(r => r.status === 'cancelled')) {
      const record: ISample = JSON.parse(readFileSync(join(cwd, 'run', cancelled.record), 'utf8'));
      expect(record.outcome?.reason ?? 'cancelled').toBe('cancelled');
    }

    const resumed = await finished(startCli([...args, '--resume'], cwd, model));
    expect(resumed.stderr).toMatch(/pass@1 +72\.2%/);
    expect(resumed.code).toBe(0);
    const summary: IBatchSummary = JSON.parse(readFileSync(join(cwd, 'run', 'summary.json'), 'utf8'));
    expectSuiteSummary(summary);
    const final = results(join(cwd, 'run'));
    const doneKeys = final.filter(r => r.status === 'done').map(r => `${r.task}#${r.sample}`);
    expect(new Set(doneKeys).size).toBe(36);
    expect(doneKeys.length).toBe(36); // nothing finished before the stop was run again

    // Every record is an ordinary record; the deleted-cell task's first replay failed on the cell that lost its definition.
    const deleted: ISample = JSON.parse(readFileSync(join(cwd, 'run', 'records', 'deleted-1', '0.aiev.json'), 'utf8'));
    expect(validateSample(deleted).errors).toEqual([]);
    const gates = deleted.steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'verify_gate');
    expect(gates.map(g => [g.detail.verdict, g.detail.passed])).toEqual([['failed', false], ['verified', true]]);
    expect(gates[0].detail.feedback).toMatch(/NameError: name 'sq' is not defined/);
    expect(deleted.verification.verdict).toBe('verified');
    expect(deleted.task.tests).toEqual(['assert sq(3) == 9', 'assert sq(-2) == 4']);
    const never: ISample = JSON.parse(readFileSync(join(cwd, 'run', 'records', 'never-1', '2.aiev.json'), 'utf8'));
    expect(never.verification.verdict).toBe('failed');
    expect(never.outcome?.reason).toBe('final_answer');
    expect(never.source.sampling).toEqual({ seed: 2 });

    // The verified rollouts as a dataset: one row per verified rollout, loaded by Hugging Face datasets.
    const verified = final.filter(r => r.verdict === 'verified').length;
    const load = execFileSync(PYTHON, ['-c', LOAD_DATASET, join(cwd, 'run', 'dataset.trl.jsonl'), join(cwd, 'run', 'dataset.rollouts.jsonl')], { encoding: 'utf8' });
    expect(JSON.parse(load)).toEqual({ rows: verified, roles: ['assistant', 'system', 'tool', 'user'], tasks: 12, rollouts: 36, rewards: 26 });
  }, 600000);
});

const LOAD_DATASET = `
import json, sys
from datasets import load_dataset
sft = load_dataset("json", data_files=sys.argv[1], split="train")
rl = load_dataset("json", data_files=sys.argv[2], split="train")
roles = sorted({m["role"] for row in sft for m in row["messages"]})
print(json.dumps({"rows": len(sft), "roles": roles, "tasks": len(rl),
                  "rollouts": sum(len(r["rollouts"]) for r in rl),
                  "rewards": sum(x["reward"] for r in rl for x in r["rollouts"])}))
`;

/** Poll `condition` every 200 ms until it holds. */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error('timed out waiting');
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}
