/**
 * Kernels on another machine: a real Jupyter Kernel Gateway on loopback (its defaults: kernel listing off) behind
 * `jupyter server --gateway-url`. `aiev run --server-url` works through it (no listing needed, no reconnect), the
 * suite of test/helpers/batchSuite.ts gives the same summary through it as on the private server, its replays on
 * the gateway's kernels; `aiev verify --server-url` on a server without the bridge says what to do.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { IBatchSummary, IRolloutResult } from '../../src/batch/summary';
import { expectSuiteSummary, finished, killClis, startCli, SUITE_ARGS, suiteModel, suiteText } from '../helpers/batchSuite';
import { IGatewaySetup, startGatewaySetup } from '../helpers/gateway';
import { startTestServer } from '../helpers/jupyter';
import { IScriptedModel, startScriptedModel } from '../scripted-model/server';

const ROOT = join(__dirname, '..', '..');

describe('aiev through a Jupyter Kernel Gateway (jupyter server --gateway-url)', () => {
  let gateway: IGatewaySetup;
  let cwd: string;
  let model: IScriptedModel | undefined;
  beforeAll(async () => {
    execFileSync(join(ROOT, '.venv', 'bin', 'jlpm'), ['build:cli'], { cwd: ROOT, stdio: 'ignore' });
    cwd = mkdtempSync(join(tmpdir(), 'aiev-batch-gateway-'));
    gateway = await startGatewaySetup();
  });
  afterAll(async () => {
    killClis();
    await gateway?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });
  afterEach(async () => {
    await model?.stop();
    model = undefined;
  });

  it('the server cannot list kernels, yet aiev run works: exit 0, no reconnect, the kernel on the gateway', async () => {
    const listing = await fetch(`${gateway.server.baseUrl}api/kernels`, { headers: { Authorization: `token ${gateway.server.token}` } });
    expect(listing.status).toBe(403); // the gateway's default, which /api/status needs
    model = await startScriptedModel([
      { toolCalls: [{ name: 'execute_cell', arguments: { code: 'import os\nprint(6 * 7, os.getpid())' } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { answer: '42' } }] }
    ]);
    const args = ['run', '--prompt', 'What is 6 times 7?', '--notebook', 'gw.ipynb', '--out', 'gw.json', '--server-url', gateway.server.baseUrl, '--token', gateway.server.token];
    const result = await finished(startCli(args, cwd, model));
    expect(result.stderr).not.toMatch(/refused the token|Connection lost|reconnecting/);
    expect([result.code, result.stdout]).toEqual([0, '42\n']);
    const record = JSON.parse(readFileSync(join(cwd, 'gw.json'), 'utf8'));
    const execution = record.steps.find((s: { type: string }) => s.type === 'execution');
    expect(execution.status).toBe('ok');
    expect(execution.outputs[0].text).toMatch(/^42 \d+\n$/);
  });

  it('the suite through the gateway gives the same summary, every replay on the gateway\'s kernels', async () => {
    writeFileSync(join(cwd, 'tasks.jsonl'), suiteText());
    model = await startScriptedModel(Array(2000).fill(suiteModel));
    const args = ['batch', 'tasks.jsonl', '--out', 'run', ...SUITE_ARGS, '--server-url', gateway.server.baseUrl, '--token', gateway.server.token];
    const result = await finished(startCli(args, cwd, model));
    expect(result.stderr).toContain('(kernels on a gateway); replays on its kernels');
    expect(result.stderr).not.toMatch(/Connection lost|reconnecting/);
    expect(result.code).toBe(0);
    expectSuiteSummary(JSON.parse(readFileSync(join(cwd, 'run', 'summary.json'), 'utf8')) as IBatchSummary);
    const results: IRolloutResult[] = readFileSync(join(cwd, 'run', 'results.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line));
    const host = new URL(gateway.server.baseUrl).host;
    expect(new Set(results.map(r => `${r.server} / ${r.replay_where}`))).toEqual(new Set([`${host} / server kernels ${host}`]));
    const record = JSON.parse(readFileSync(join(cwd, 'run', results[0].record), 'utf8'));
    expect(record.verification.replay.where).toBe(`server kernels ${host}`);
    expect(record.verification.replay.runner).toBe('aiev-headless');
    // The rollouts' notebooks are on the server, one folder per rollout.
    const listed = await fetch(`${gateway.server.baseUrl}api/contents/aiev-batch/run/square-1/0`, { headers: { Authorization: `token ${gateway.server.token}` } });
    expect((await listed.json()).content.map((entry: { name: string }) => entry.name)).toContain('square-1-0.ipynb');
  }, 600000);

  it('aiev verify --server-url on a server without the bridge says so, without the server\'s page', async () => {
    const plain = await startTestServer(undefined, ['--ServerApp.jpserver_extensions=python_kernel_bridge=False']);
    try {
      const record = join(cwd, 'gw.json');
      model = await startScriptedModel([]);
      const result = await finished(startCli(['verify', record, '--server-url', plain.baseUrl, '--token', plain.token], cwd, model));
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/has no \/aiev\/verify route: jupyterlab-aiev's server extension \(python_kernel_bridge\) is not installed/);
      expect(result.stderr).not.toMatch(/<html|<!DOCTYPE/i);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await plain.stop();
    }
  });
});
