import { ChildProcess, execFileSync, spawn } from 'child_process';
import { createHash } from 'crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { recordFromLogFile } from '../../src/trace/logFile';
import type { ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { IScriptedModel, ScriptEntry, startScriptedModel } from '../scripted-model/server';
import { freePort } from '../../src/notebook/localServer';
import { withTestServer } from '../helpers/jupyter';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'aiev.cjs');
/** A key the model endpoint requires; it must reach the endpoint and never any file. */
const API_KEY = 'aiev-test-secret-key-0123456789';

interface ICliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const clean = { ...process.env };
  delete clean.OPENAI_BASE_URL;
  delete clean.AIEV_MODEL;
  return spawn(process.execPath, [CLI, ...args], { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(child: ChildProcess): Promise<ICliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', chunk => (stdout += chunk));
  child.stderr!.on('data', chunk => (stderr += chunk));
  return new Promise(resolve => child.on('close', code => resolve({ code, stdout, stderr })));
}

/** Every file under `dir`, as text. */
function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath ?? (entry as any).path, entry.name);
      files.set(path, readFileSync(path, 'utf8'));
    }
  }
  return files;
}

describe('aiev run (the built CLI, a private Jupyter server, the scripted model)', () => {
  let cwd: string;
  let model: IScriptedModel | undefined;
  beforeAll(() => {
    execFileSync(join(ROOT, '.venv', 'bin', 'jlpm'), ['build:cli'], { cwd: ROOT, stdio: 'ignore' });
  });
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'aiev-cli-'));
  });
  afterEach(async () => {
    await model?.stop();
    model = undefined;
    rmSync(cwd, { recursive: true, force: true });
  });

  async function runWith(script: ScriptEntry[], extra: string[] = []): Promise<ICliResult> {
    model = await startScriptedModel(script, { requireApiKey: API_KEY });
    const env = { OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: API_KEY };
    return finished(start(['run', '--prompt', 'What is 6 times 7?', '--notebook', 'task.ipynb', '--out', 'task.json', ...extra], cwd, env));
  }

  it('runs to a final answer: exit 0, the answer on stdout, a valid record, a real notebook, no key on disk', async () => {
    const result = await runWith([
      { toolCalls: [{ name: 'execute_cell', arguments: { code: 'print(6 * 7)' } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { answer: '42' } }] }
    ]);
    expect(result.stderr).toContain('aiev: final_answer');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('42\n');
    const sample = JSON.parse(readFileSync(join(cwd, 'task.json'), 'utf8')) as ISample;
    expect(validateSample(sample)).toEqual({ valid: true, errors: [] });
    expect(sample.outcome).toEqual({ reason: 'final_answer', answer: '42' });
    expect(sample.source.provider_host).toBe(new URL(model!.baseUrl).host);
    expect(sample.environment?.python).toMatch(/^3\.\d+/);
    expect(sample.environment?.packages_before.some(p => p.name === 'ipykernel')).toBe(true);
    const notebook = JSON.parse(readFileSync(join(cwd, 'task.ipynb'), 'utf8'));
    expect([].concat(notebook.cells[0].outputs[0].text).join('')).toBe('42\n'); // nbformat may split lines
    expect(existsSync(join(cwd, 'task.events.jsonl'))).toBe(true);
    // The endpoint got the key; no file the run wrote contains it.
    expect(model!.requests[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
    for (const [path, text] of filesUnder(cwd)) {
      expect({ path, leaked: text.includes(API_KEY) }).toEqual({ path, leaked: false });
    }
  });

  it('attaches the files the code read that were there before the run, not those it wrote; verify finds them', async () => {
    const csv = 'x\n1\n2\n3\n';
    writeFileSync(join(cwd, 'data.csv'), csv);
    const read = "import csv\nrows = list(csv.DictReader(open('data.csv')))\nopen('count.txt', 'w').write(str(len(rows)))";
    const result = await runWith([
      { toolCalls: [{ name: 'execute_cell', arguments: { code: read } }] },
      { toolCalls: [{ name: 'execute_cell', arguments: { code: "print(open('count.txt').read(), 'rows')" } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { answer: '3 rows' } }] }
    ]);
    expect(result.code).toBe(0);
    const sample = JSON.parse(readFileSync(join(cwd, 'task.json'), 'utf8')) as ISample;
    expect(existsSync(join(cwd, 'count.txt'))).toBe(true);
    expect(sample.task.attachments).toEqual([{ path: 'data.csv', sha256: createHash('sha256').update(csv).digest('hex') }]);
    expect(recordFromLogFile(join(cwd, 'task.events.jsonl')).task).toEqual(sample.task);
    // The record beside its data replays; moved away, it needs --attachments-dir.
    const verify = (args: string[], at: string) => finished(start(['verify', ...args], at, {}));
    expect((await verify(['task.json'], cwd)).code).toBe(0);
    const elsewhere = mkdtempSync(join(tmpdir(), 'aiev-cli-moved-'));
    try {
      copyFileSync(join(cwd, 'task.json'), join(elsewhere, 'task.json'));
      expect((await verify(['task.json'], elsewhere)).code).toBe(1);
      const moved = await verify(['task.json', '--attachments-dir', cwd], elsewhere);
      expect(moved.stderr).toContain('aiev verify: verified');
      expect(moved.code).toBe(0);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('ends with exit 1 and a saved record when the model endpoint keeps failing', async () => {
    const failure = { error: { status: 503, retryAfterMs: 10 } };
    const result = await runWith([failure, failure, failure, failure, failure]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('aiev: model_error');
    const sample = JSON.parse(readFileSync(join(cwd, 'task.json'), 'utf8')) as ISample;
    expect(sample.outcome?.reason).toBe('model_error');
    expect(validateSample(sample).valid).toBe(true);
  });

  it('Ctrl-C interrupts the running cell, saves the record and exits 130', async () => {
    model = await startScriptedModel(
      [{ toolCalls: [{ name: 'execute_cell', arguments: { code: 'import time\ntime.sleep(120)' } }] }],
      { requireApiKey: API_KEY }
    );
    const env = { OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: API_KEY };
    const child = start(['run', '--prompt', 'sleep', '--notebook', 'slow.ipynb', '--out', 'slow.json'], cwd, env);
    const result = finished(child);
    const log = join(cwd, 'slow.events.jsonl');
    // Wait until the cell is running: the assistant turn is in the event log.
    for (let i = 0; i < 600 && !(existsSync(log) && readFileSync(log, 'utf8').includes('"assistant"')); i++) {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    await new Promise(resolve => setTimeout(resolve, 1000));
    const sentAt = Date.now();
    child.kill('SIGINT');
    const { code, stderr } = await result;
    expect(stderr).toContain('stopping');
    expect(code).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(60000);
    const sample = JSON.parse(readFileSync(join(cwd, 'slow.json'), 'utf8')) as ISample;
    expect(sample.outcome?.reason).toBe('cancelled');
    const execution = sample.steps.find(s => s.type === 'execution');
    expect(execution?.type === 'execution' && execution.status).toBe('interrupted');
    expect(validateSample(sample).valid).toBe(true);
  });
});

describe('aiev run: configuration problems are one clear line, exit 2', () => {
  const server = withTestServer();

  let closedPort = 0;
  beforeAll(async () => {
    closedPort = await freePort();
  });

  const cases: [string, () => string[], NodeJS.ProcessEnv, RegExp][] = [
    ['no base URL', () => ['--model', 'm'], {}, /^aiev run: no model endpoint: pass --base-url URL or set OPENAI_BASE_URL$/],
    ['no model', () => ['--base-url', 'http://127.0.0.1:9/v1'], {}, /^aiev run: no model name: pass --model NAME or set AIEV_MODEL$/],
    ['an unknown flag', () => ['--modle', 'm'], {}, /^aiev run: Unknown option '--modle'/],
    [
      'an unreachable server',
      () => ['--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--server-url', `http://127.0.0.1:${closedPort}/`],
      {},
      /^aiev run: cannot reach the Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ \(ECONNREFUSED\)$/
    ]
  ];
  for (const [what, args, env, line] of cases) {
    it(what, async () => {
      const result = await finished(start(['run', '--prompt', 'p', ...args()], tmpdir(), env));
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toMatch(line);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('a bad token', async () => {
    const args = ['--base-url', 'http://127.0.0.1:9/v1', '--model', 'm', '--server-url', server().baseUrl, '--token', 'wrong'];
    const result = await finished(start(['run', '--prompt', 'p', ...args], tmpdir(), {}));
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`aiev run: the Jupyter server at ${server().baseUrl} refused the token (HTTP 403); pass --token`);
  });
});
