import { basename, dirname, resolve } from 'path';

import { version } from '../../package.json';
import { AgentSession } from '../agent/session';
import { runSource } from '../agent/source';
import { TOOL_DEFINITIONS } from '../agent/tools';
import { ChatClient } from '../llm/client';
import { HeadlessNotebookDriver } from '../notebook/headless';
import { ILocalJupyterServer, startLocalJupyterServer } from '../notebook/localServer';
import { DEFAULT_OUTPUT_CAP_BYTES } from '../notebook/outputCollector';
import { findAttachments } from '../trace/attachments';
import { fileLogSink, writeSample } from '../trace/logFile';
import { SessionRecorder } from '../trace/recorder';
import type { IOutcome, ISample, ISource } from '../trace/types';
import { connect, parseOptions, settingsFor, UsageError } from './connect';

export const RUN_USAGE = `Usage: aiev run --prompt TEXT [options]

  --prompt TEXT           the task (required)
  --notebook NAME.ipynb   notebook path on the server (default aiev-<time>.ipynb; opened if it exists)
  --out FILE.json         where the record goes (default <notebook>.aiev.json here); the event log is
                          written beside it as it grows (<out>.events.jsonl)
  --server-url URL        a running Jupyter server (default: start a private one on 127.0.0.1 serving this
  --token TOKEN           folder, stopped afterwards; then the files there the code read, and the run did not
                          write, are the record's task.attachments)
  --base-url URL          OpenAI-compatible endpoint (default $OPENAI_BASE_URL)
  --model NAME            model name (default $AIEV_MODEL)
  --api-key-env VAR       environment variable holding the API key (default OPENAI_API_KEY)
  --max-steps N           most model turns (default 20)
  --cell-timeout SECONDS  interrupt a cell after this long (default 120)
  --no-stream             ask for whole responses instead of streams
  --tool-mode MODE        native (tool calls, default) or fenced (code blocks, for models without tools)
  --vision                the model takes images (plots are sent as images)
  --budget-chars N        characters of each output the model sees (default 6000)
  --kernel NAME           kernel name (default python3)

Exit status: 0 when the agent gave a final answer, 1 when it did not, 2 for bad usage or setup, 130 when stopped.`;

interface IRunConfig {
  prompt: string;
  notebook: string;
  out: string;
  serverUrl?: string;
  token: string;
  baseUrl: string;
  model: string;
  apiKey: string;
  maxSteps: number;
  cellTimeoutMs: number;
  stream: boolean;
  toolMode: 'native' | 'fenced';
  vision: boolean;
  budgetChars: number;
  kernel: string;
}

/** Turn argv and the environment into a run configuration; throws `UsageError` with one clear line. */
export function parseRunArgs(argv: string[], env: NodeJS.ProcessEnv = process.env, now = new Date()): IRunConfig {
  const { values } = parseOptions(argv, {
      prompt: { type: 'string' },
      notebook: { type: 'string' },
      out: { type: 'string' },
      'server-url': { type: 'string' },
      token: { type: 'string' },
      'base-url': { type: 'string' },
      model: { type: 'string' },
      'api-key-env': { type: 'string' },
      'max-steps': { type: 'string' },
      'cell-timeout': { type: 'string' },
      'no-stream': { type: 'boolean' },
      'tool-mode': { type: 'string' },
      vision: { type: 'boolean' },
      'budget-chars': { type: 'string' },
      kernel: { type: 'string' }
    });
  const prompt = values.prompt?.trim();
  if (!prompt) {
    throw new UsageError('--prompt is required');
  }
  const baseUrl = values['base-url'] ?? env.OPENAI_BASE_URL;
  if (!baseUrl) {
    throw new UsageError('no model endpoint: pass --base-url URL or set OPENAI_BASE_URL');
  }
  const model = values.model ?? env.AIEV_MODEL;
  if (!model) {
    throw new UsageError('no model name: pass --model NAME or set AIEV_MODEL');
  }
  const toolMode = values['tool-mode'] ?? 'native';
  if (toolMode !== 'native' && toolMode !== 'fenced') {
    throw new UsageError(`--tool-mode must be native or fenced, not '${toolMode}'`);
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const notebook = values.notebook ?? `aiev-${stamp}.ipynb`;
  if (!notebook.endsWith('.ipynb')) {
    throw new UsageError(`--notebook must name a .ipynb file, not '${notebook}'`);
  }
  const apiKeyEnv = values['api-key-env'] ?? 'OPENAI_API_KEY';
  return {
    prompt,
    notebook,
    out: resolve(values.out ?? `${basename(notebook, '.ipynb')}.aiev.json`),
    serverUrl: values['server-url'],
    token: values.token ?? env.JUPYTER_TOKEN ?? '',
    baseUrl,
    model,
    apiKey: env[apiKeyEnv] ?? '',
    maxSteps: positive(values['max-steps'], 20, '--max-steps'),
    cellTimeoutMs: positive(values['cell-timeout'], 120, '--cell-timeout') * 1000,
    stream: !values['no-stream'],
    toolMode,
    vision: values.vision ?? false,
    budgetChars: positive(values['budget-chars'], 6000, '--budget-chars'),
    kernel: values.kernel ?? 'python3'
  };
}

function positive(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`${flag} takes a positive number, not '${text}'`);
  }
  return value;
}

/** `aiev run`: the agent on a headless notebook; writes the record whatever happens. Returns the exit status. */
export async function runCommand(argv: string[], log: (line: string) => void = line => process.stderr.write(`${line}\n`)): Promise<number> {
  const config = parseRunArgs(argv);
  const startedAt = new Date();
  let stopping = false;
  let session: AgentSession | undefined;
  const onSigint = () => {
    if (stopping) {
      process.exit(130);
    }
    log('aiev: stopping (interrupting the kernel, saving the record); press Ctrl-C again to quit at once');
    stopping = true;
    void session?.stop();
  };
  process.on('SIGINT', onSigint);

  const source = runSource({
    app: 'jupyterlab-aiev/cli',
    appVersion: version,
    model: config.model,
    baseUrl: config.baseUrl,
    toolMode: config.toolMode,
    stream: config.stream,
    notebookPath: config.notebook
  });
  const secrets = [config.apiKey, config.token].filter(s => s.length >= 8);
  const logPath = config.out.replace(/\.json$/, '') + '.events.jsonl';
  let local: ILocalJupyterServer | undefined;
  let driver: HeadlessNotebookDriver | undefined;
  let outcome: IOutcome = { reason: 'error', message: 'the run did not start' };
  try {
    const settings = config.serverUrl
      ? await connect(config.serverUrl, config.token)
      : await startLocalJupyterServer({ rootDir: process.cwd() }).then(server => {
          local = server;
          return settingsFor(server.baseUrl, server.token);
        });
    driver = await HeadlessNotebookDriver.open({
      settings,
      path: config.notebook,
      kernelName: config.kernel,
      outputsCapBytes: DEFAULT_OUTPUT_CAP_BYTES
    });
    log(`aiev: notebook ${config.notebook} on ${settings.baseUrl} (kernel ${config.kernel}), model ${config.model}`);
    // The private server serves this folder: the files there that the code read (not wrote) are attachments.
    const folder = local ? dirname(resolve(local.rootDir, config.notebook)) : null;
    session = await AgentSession.start({
      driver,
      client: new ChatClient({
        baseURL: config.baseUrl,
        apiKey: config.apiKey || 'none',
        model: config.model,
        stream: config.stream
      }),
      sink: fileLogSink(logPath),
      source,
      prompt: config.prompt,
      toolMode: config.toolMode,
      maxSteps: config.maxSteps,
      cellTimeoutMs: config.cellTimeoutMs,
      budgetChars: config.budgetChars,
      vision: config.vision,
      secrets,
      save: record => writeSample(config.out, record),
      attachments: folder ? codes => findAttachments(codes, folder, { modifiedBefore: startedAt }) : undefined,
      onProgress: log
    });
    outcome = stopping ? { reason: 'cancelled', message: 'stopped by the user' } : await session.send(config.prompt);
    await session.close();
  } catch (error) {
    if (error instanceof UsageError) {
      throw error;
    }
    outcome = { reason: 'error', message: (error as Error).message };
    log(`aiev: ${(error as Error).message}`);
    if (!session) {
      writeSample(config.out, unstartedRecord(source, config.prompt, secrets, outcome, logPath));
    }
  } finally {
    process.off('SIGINT', onSigint);
    await driver?.dispose().catch(() => undefined);
    await local?.stop();
  }
  log(`aiev: ${outcome.reason}${outcome.message ? ` (${outcome.message})` : ''}; record: ${config.out}`);
  if (outcome.reason === 'final_answer') {
    process.stdout.write(`${outcome.answer ?? ''}\n`);
    return 0;
  }
  return outcome.reason === 'cancelled' ? 130 : 1;
}

/** The record of a run that failed before its session started (no kernel, no server): the task and why. */
function unstartedRecord(source: ISource, prompt: string, secrets: string[], outcome: IOutcome, logPath: string): ISample {
  const recorder = new SessionRecorder({
    sink: fileLogSink(logPath),
    source,
    task: { prompt, attachments: [], tags: [] },
    tools: source.tool_mode === 'native' ? TOOL_DEFINITIONS : [],
    secrets,
    outputsCapBytes: DEFAULT_OUTPUT_CAP_BYTES
  });
  return recorder.finish(outcome);
}
