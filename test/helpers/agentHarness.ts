import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { ApprovalMode } from '../../src/agent/approvals';
import { AgentSession } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import type { INotebookDriver } from '../../src/notebook/tokens';
import { fileLogSink } from '../../src/trace/logFile';
import type { IExecutionStep, IOutcome, ISample, IStep } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { IRecordedRequest, IScriptedModel, ScriptEntry, startScriptedModel } from '../scripted-model/server';
import { ITestServer } from './jupyter';

/** Options of one scripted agent run. */
export interface IHarnessOptions {
  prompt?: string;
  toolMode?: 'native' | 'fenced';
  stream?: boolean;
  cellTimeoutMs?: number;
  maxSteps?: number;
  modelBudgetChars?: number;
  vision?: boolean;
  /** SDK retries of HTTP errors (default 2, so exhausted-retry tests stay short). */
  maxRetries?: number;
  signal?: AbortSignal;
  /** Opens the notebook driver on `path` (default: a `HeadlessNotebookDriver` on the server). */
  openDriver?: (path: string) => Promise<INotebookDriver>;
  /** The model client's `fetch` (needed where the SDK sees a browser, e.g. jsdom). */
  fetch?: typeof fetch;
  /** A running scripted model to push the script to (kept running), instead of a new one per run. */
  model?: IScriptedModel;
  /** Where the client sends its requests (default: the model itself), e.g. the bridge's proxy; and its key. */
  endpoint?: { baseURL: string; apiKey: string };
  /** The session's approval mode (default: run freely); `onStart` can answer what it asks. */
  approvalMode?: ApprovalMode;
  /** Called with the session once it started, before the prompt is sent. */
  onStart?: (session: AgentSession) => void;
  /** Called once the run ended, before the session closes (e.g. the user's review of the agent's cells). */
  afterRun?: (session: AgentSession, driver: INotebookDriver) => Promise<void>;
}

/** What a scripted run left behind. */
export interface IHarnessRun {
  outcome: IOutcome;
  sample: ISample;
  requests: IRecordedRequest[];
  /** The notebook as saved on the server at the end. */
  savedNotebook: any;
  logText: string;
}

let counter = 0;

/** Run the real agent through the session module on a real kernel of `server`, the scripted model answering. */
export async function runScripted(server: ITestServer, script: ScriptEntry[], options: IHarnessOptions = {}): Promise<IHarnessRun> {
  const model = options.model ?? (await startScriptedModel(script));
  if (options.model) {
    model.push(...script);
  }
  const requestsBefore = model.requests.length;
  const dir = mkdtempSync(join(tmpdir(), 'aiev-run-'));
  const path = `run-${process.pid}-${++counter}.ipynb`;
  const toolMode = options.toolMode ?? 'native';
  const driver = options.openDriver
    ? await options.openDriver(path)
    : await HeadlessNotebookDriver.open({ settings: server.settings, path, interruptGraceMs: 5000 });
  try {
    const prompt = options.prompt ?? 'test task';
    const session = await AgentSession.start({
      driver,
      client: new ChatClient({
        baseURL: options.endpoint?.baseURL ?? model.baseUrl,
        apiKey: options.endpoint?.apiKey ?? 'test-key',
        model: 'scripted',
        stream: options.stream ?? true,
        maxRetries: options.maxRetries ?? 2,
        fetch: options.fetch
      }),
      sink: fileLogSink(join(dir, 'events.jsonl')),
      source: runSource({
        app: 'jupyterlab-aiev/test',
        appVersion: '0',
        model: 'scripted',
        baseUrl: model.baseUrl,
        toolMode,
        stream: options.stream ?? true
      }),
      prompt,
      tags: ['test'],
      toolMode,
      maxSteps: options.maxSteps ?? 10,
      cellTimeoutMs: options.cellTimeoutMs ?? 60000,
      budgetChars: options.modelBudgetChars,
      vision: options.vision,
      approvalMode: options.approvalMode
    });
    options.onStart?.(session);
    const onAbort = () => void session.stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const outcome = options.signal?.aborted ? await session.stop().then(() => CANCELLED) : await session.send(prompt);
    options.signal?.removeEventListener('abort', onAbort);
    await options.afterRun?.(session, driver);
    const sample = await session.close();
    const validation = validateSample(sample);
    if (!validation.valid) {
      throw new Error(`record does not validate:\n${validation.errors.join('\n')}`);
    }
    const saved = await fetch(`${server.baseUrl}api/contents/${path}?content=1`, {
      headers: { Authorization: `token ${server.token}` }
    }).then(r => r.json());
    return {
      outcome,
      sample,
      requests: model.requests.slice(requestsBefore),
      savedNotebook: saved.content,
      logText: readFileSync(join(dir, 'events.jsonl'), 'utf8')
    };
  } finally {
    await driver.dispose().catch(() => undefined);
    if (!options.model) {
      await model.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const CANCELLED: IOutcome = { reason: 'cancelled', message: 'stopped by the user' };

/** The execution steps of a record. */
export function executions(sample: ISample): IExecutionStep[] {
  return sample.steps.filter((s: IStep): s is IExecutionStep => s.type === 'execution');
}

/** The text of a record's execution outputs of one stream (stdout by default). */
export function streamText(step: IExecutionStep, name = 'stdout'): string {
  return step.outputs
    .filter((o: any) => o.output_type === 'stream' && o.name === name)
    .map((o: any) => (Array.isArray(o.text) ? o.text.join('') : o.text))
    .join('');
}
