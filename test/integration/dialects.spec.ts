/**
 * The agent's main scenario against every streaming and non-streaming dialect of OpenAI-compatible servers the
 * scripted model speaks (test/scripted-model/types.ts `Dialect`), in both modes, through `aiev run` and through
 * the bridge's model proxy on a real Jupyter server; real kernels throughout. Records say which adaptation was made.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { IEventStep, ISample } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { runScripted } from '../helpers/agentHarness';
import { startTestServer, ITestServer } from '../helpers/jupyter';
import { expectMainScenario, mainScenario, uninstallPackage } from '../helpers/mainScenario';
import { Dialect, IScriptedModel, startScriptedModel } from '../scripted-model/server';

const AIEV = join(__dirname, '..', '..', 'dist', 'aiev.cjs');
const KEY = ['sk', 'dialects', '5c1e9a0b7d3f2e8a'].join('-');

const DIALECTS: Dialect[] = [
  'openai',
  'repeated-name',
  'whole-tool-call',
  'stop-finish',
  'no-index',
  'no-usage',
  'rejects-stream-options',
  'object-arguments'
];

/** The adaptations a record must show for a dialect in a mode (and no others). */
function expectedAdaptations(dialect: Dialect, stream: boolean): string[] {
  if (!stream) {
    return [];
  }
  return dialect === 'rejects-stream-options' ? ['stream_options_rejected'] : dialect === 'repeated-name' ? ['tool_call_name_repeated'] : [];
}

function adaptations(sample: ISample): string[] {
  return sample.steps
    .filter((s): s is IEventStep => s.type === 'event' && s.event === 'model_adaptation')
    .map(s => String(s.detail.adaptation));
}

/** Whether the streamed turns carried token counts: not when the server sends no usage chunk or refused to be asked. */
function expectUsage(sample: ISample, dialect: Dialect, stream: boolean): void {
  const counted = sample.steps.filter(s => s.type === 'assistant').map(s => s.type === 'assistant' && s.usage !== undefined);
  const unknown = stream && (dialect === 'no-usage' || dialect === 'rejects-stream-options');
  expect(counted).toEqual(counted.map(() => !unknown));
}

/** `aiev run` as a user runs it, against the scripted model speaking `dialect`. */
function cliRun(model: IScriptedModel, cwd: string, stream: boolean): Promise<{ code: number | null; stderr: string }> {
  const args = [AIEV, 'run', '--prompt', 'Print a table with tabulate.', '--notebook', 'task.ipynb', '--out', 'task.json'];
  const child = spawn(process.execPath, stream ? args : [...args, '--no-stream'], {
    cwd,
    env: { ...process.env, OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: KEY },
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let stderr = '';
  child.stderr.on('data', chunk => (stderr += chunk));
  return new Promise(resolve => child.on('close', code => resolve({ code, stderr })));
}

describe('streaming and non-streaming dialects: the main scenario', () => {
  let model: IScriptedModel;
  let server: ITestServer;
  beforeAll(async () => {
    model = await startScriptedModel([], { requireApiKey: KEY });
    server = await startTestServer({ OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: KEY });
    uninstallPackage();
  });
  afterAll(async () => {
    uninstallPackage();
    await server?.stop();
    await model?.stop();
  });
  afterEach(() => {
    uninstallPackage();
    model.dropRemaining();
  });

  for (const dialect of DIALECTS) {
    for (const stream of [true, false]) {
      const mode = stream ? 'streaming' : 'whole';

      it(`${dialect}, ${mode}, through aiev run`, async () => {
        const cwd = mkdtempSync(join(tmpdir(), 'aiev-dialect-'));
        try {
          model.useDialect(dialect);
          const { script, seen } = mainScenario();
          model.push(...script);
          const result = await cliRun(model, cwd, stream);
          expect(result.stderr).toContain('aiev: final_answer');
          expect(result.code).toBe(0);
          const sample = JSON.parse(readFileSync(join(cwd, 'task.json'), 'utf8')) as ISample;
          expect(validateSample(sample).errors).toEqual([]);
          expectMainScenario(sample, sample.outcome!, seen);
          expect(adaptations(sample)).toEqual(expectedAdaptations(dialect, stream));
          expectUsage(sample, dialect, stream);
          expect(model.remaining).toBe(0);
        } finally {
          rmSync(cwd, { recursive: true, force: true });
        }
      });

      it(`${dialect}, ${mode}, through the bridge's model proxy`, async () => {
        model.useDialect(dialect);
        const { script, seen } = mainScenario();
        const run = await runScripted(server, script, {
          model,
          stream,
          prompt: 'Print a table with tabulate.',
          endpoint: { baseURL: `${server.baseUrl}aiev/llm/v1`, apiKey: server.token }
        });
        expectMainScenario(run.sample, run.outcome, seen);
        expect(adaptations(run.sample)).toEqual(expectedAdaptations(dialect, stream));
        expectUsage(run.sample, dialect, stream);
        // The server added the key; the client only ever had Jupyter's token.
        expect(run.requests.every(r => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
      });
    }
  }
});

describe('broken answers', () => {
  let model: IScriptedModel;
  let server: ITestServer;
  beforeAll(async () => {
    model = await startScriptedModel([]);
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
    await model?.stop();
  });

  for (const stream of [true, false]) {
    it(`an empty choices list is a clear model error, retried like a cut stream (${stream ? 'streaming' : 'whole'})`, async () => {
      const empty = { content: 'x', emptyChoices: true };
      const retried = await runScripted(server, [empty, { toolCalls: [{ name: 'final_answer', arguments: { answer: 'ok' } }] }], { model, stream });
      expect(retried.outcome).toEqual({ reason: 'final_answer', answer: 'ok' });
      expect(retried.sample.steps.filter(s => s.type === 'event' && s.event === 'model_retry')).toHaveLength(1);
      const failed = await runScripted(server, [empty, empty, empty], { model, stream });
      expect(failed.outcome.reason).toBe('model_error');
      expect(failed.outcome.message).toMatch(
        stream ? /failed after 3 attempts: the stream ended before the model finished/ : /failed after 3 attempts: the response has no choices/
      );
    });
  }
});
