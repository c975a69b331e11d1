/**
 * The batch runner: K rollouts of every task, `concurrency` at a time, spread over Jupyter servers. Each rollout
 * is an ordinary session of the session module (`AgentSession`, as in the sidebar and `aiev run`) on a fresh
 * kernel and notebook of its own, in its own folder on the server (the task's attachments uploaded there through
 * the contents API), with the verify gate on. Its record and event log go to `DIR/records/<task>/<k>.aiev.json`;
 * its line to `DIR/results.jsonl` once it finished (so a crash loses nothing finished; `resume` skips those).
 * Stopping (`signal`) lets no new rollout start and stops the running ones: their cells interrupted, their records
 * saved, their lines `cancelled` (run again by a resumed run).
 */
import { createHash } from 'crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';

import type { ServerConnection } from '@jupyterlab/services';

import { version } from '../../package.json';
import { AgentSession } from '../agent/session';
import { runSource } from '../agent/source';
import { IReplayer, replayPassed, testCounts } from '../agent/verifyGate';
import { ChatClient } from '../llm/client';
import { HeadlessNotebookDriver } from '../notebook/headless';
import { DEFAULT_OUTPUT_CAP_BYTES } from '../notebook/outputCollector';
import { fixesOf } from '../trace/counts';
import { fileLogSink, writeSample } from '../trace/logFile';
import type { IEventStep, IOutcome, ISample } from '../trace/types';
import type { IRolloutResult } from './summary';
import { removeFile, uploadFiles } from './serverFiles';
import type { IBatchTask } from './tasks';

/** A Jupyter server rollouts run on. */
export interface IBatchServer {
  settings: ServerConnection.ISettings;
  /** `local` for the private server, else the server's host. */
  name: string;
  /** Replays of this server's rollouts (the same server's kernels, or the local verifier for the private one). */
  replayer: IReplayer;
  /** Folder on the server the rollouts' folders go in (`<task>/<k>/`), `''` or ending with `/`. */
  root: string;
}

/** The model of every rollout. */
export interface IBatchModel {
  baseUrl: string;
  model: string;
  apiKey: string;
  stream: boolean;
  temperature?: number;
  /** Rollout k of a task gets `seed + k` (so the K samples differ, and each is reproducible). */
  seed?: number;
}

/** Options of `runBatch`. */
export interface IBatchOptions {
  tasks: IBatchTask[];
  samples: number;
  concurrency: number;
  servers: IBatchServer[];
  /** The run's folder (`results.jsonl`, `records/`). */
  outDir: string;
  /** Where task attachments are read from (the tasks file's folder). */
  attachmentsDir: string;
  model: IBatchModel;
  toolMode: 'native' | 'fenced';
  maxSteps: number;
  cellTimeoutMs: number;
  budgetChars: number;
  vision: boolean;
  kernel: string;
  /** Verify-gate feedback rounds (0: replay once, no feedback). */
  gateRounds: number;
  /** Skip the rollouts `results.jsonl` already has as done. */
  resume: boolean;
  /** Values scrubbed from every record (the API key, server tokens). */
  secrets: string[];
  /** Stops the run (Ctrl-C). */
  signal: AbortSignal;
  /** Each rollout as it finished. */
  onResult?: (result: IRolloutResult, progress: { done: number; total: number }) => void;
  log: (line: string) => void;
}

/** The path of a run's results file. */
export function resultsPath(outDir: string): string {
  return join(outDir, 'results.jsonl');
}

/** The lines of a results file (none when it does not exist; a last line cut by a crash is ignored). */
export function readResults(path: string): IRolloutResult[] {
  if (!existsSync(path)) {
    return [];
  }
  const rows = readFileSync(path, 'utf8').split('\n').filter(row => row.trim());
  return rows.flatMap((row, index) => {
    try {
      return [JSON.parse(row) as IRolloutResult];
    } catch (error) {
      if (index === rows.length - 1) {
        return [];
      }
      throw new Error(`${path}: line ${index + 1} is not JSON`);
    }
  });
}

/** Run every rollout not finished yet; resolves with this run's results once every started rollout ended. */
export async function runBatch(options: IBatchOptions): Promise<IRolloutResult[]> {
  const path = resultsPath(options.outDir);
  const finished = new Set(readResults(path).filter(r => r.status === 'done').map(r => `${r.task}\u0000${r.sample}`));
  const pending = options.tasks.flatMap(task =>
    Array.from({ length: options.samples }, (_, sample) => ({ task, sample })).filter(({ sample }) => !finished.has(`${task.id}\u0000${sample}`))
  );
  const total = options.tasks.length * options.samples;
  let done = finished.size;
  const running = new Map<IBatchServer, number>(options.servers.map(server => [server, 0]));
  const results: IRolloutResult[] = [];
  // Kernels of finished rollouts shutting down: the next rollout starts meanwhile; the run waits for them at the end.
  const closing: Promise<void>[] = [];
  mkdirSync(options.outDir, { recursive: true });
  const worker = async () => {
    for (let next = pending.shift(); next && !options.signal.aborted; next = pending.shift()) {
      const server = [...running.entries()].sort(([, a], [, b]) => a - b)[0][0];
      running.set(server, running.get(server)! + 1);
      let result: IRolloutResult;
      try {
        result = await runRollout(options, next.task, next.sample, server, closing);
      } finally {
        running.set(server, running.get(server)! - 1);
      }
      appendFileSync(path, JSON.stringify(result) + '\n');
      results.push(result);
      done += result.status === 'done' ? 1 : 0;
      options.onResult?.(result, { done, total });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, pending.length)) }, worker));
  await Promise.all(closing);
  return results;
}

/**
 * One rollout, whatever happens: a result line (`error` when it could not run, with why). Its kernel's shutdown
 * goes into `closing`.
 */
async function runRollout(options: IBatchOptions, task: IBatchTask, sample: number, server: IBatchServer, closing: Promise<void>[]): Promise<IRolloutResult> {
  const recordPath = join(options.outDir, 'records', task.slug, `${sample}.aiev.json`);
  const folder = `${server.root}${task.slug}/${sample}`;
  const started = Date.now();
  const sampling = {
    ...(options.model.temperature !== undefined ? { temperature: options.model.temperature } : {}),
    ...(options.model.seed !== undefined ? { seed: options.model.seed + sample } : {})
  };
  const base: Omit<IRolloutResult, 'status' | 'message'> = {
    ...emptyResult(task.id, sample, relative(options.outDir, recordPath), server.name),
    sampling
  };
  let driver: HeadlessNotebookDriver | undefined;
  let session: AgentSession | undefined;
  const stop = () => void session?.stop();
  options.signal.addEventListener('abort', stop);
  try {
    const attachments = readAttachments(options.attachmentsDir, task.attachments);
    const notebookPath = `${folder}/${task.slug}-${sample}.ipynb`;
    await uploadFiles(server.settings, folder, new Map([...attachments].map(([path, file]) => [path, file.bytes])));
    await removeFile(server.settings, notebookPath); // left by a run that was stopped: the rollout starts afresh
    driver = await HeadlessNotebookDriver.open({
      settings: server.settings,
      path: notebookPath,
      kernelName: options.kernel,
      outputsCapBytes: DEFAULT_OUTPUT_CAP_BYTES
    });
    session = await AgentSession.start({
      driver,
      client: new ChatClient({ baseURL: options.model.baseUrl, apiKey: options.model.apiKey || 'none', model: options.model.model, stream: options.model.stream, sampling }),
      sink: fileLogSink(recordPath.replace(/\.json$/, '.events.jsonl')),
      source: runSource({
        app: 'jupyterlab-aiev/batch',
        appVersion: version,
        model: options.model.model,
        baseUrl: options.model.baseUrl,
        toolMode: options.toolMode,
        stream: options.model.stream,
        sampling,
        notebookPath
      }),
      prompt: task.prompt,
      tags: [...task.tags, `task:${task.id}`, `sample:${sample}`],
      tests: task.tests,
      setup: task.setup,
      toolMode: options.toolMode,
      maxSteps: options.maxSteps,
      cellTimeoutMs: options.cellTimeoutMs,
      budgetChars: options.budgetChars,
      vision: options.vision,
      secrets: options.secrets,
      save: record => writeSample(recordPath, record),
      attachments: () => [...attachments].map(([path, file]) => ({ path, sha256: file.sha256 })),
      verifyGate: { replayer: server.replayer, maxRounds: options.gateRounds }
    });
    const outcome = options.signal.aborted ? CANCELLED : await session.send(task.prompt);
    const record = await session.close();
    if (outcome === CANCELLED) {
      writeSample(recordPath, record);
    }
    return resultOf(base, record, Date.now() - started);
  } catch (error) {
    return { ...base, status: options.signal.aborted ? 'cancelled' : 'error', duration_ms: Date.now() - started, message: (error as Error).message };
  } finally {
    options.signal.removeEventListener('abort', stop);
    closing.push(driver?.dispose().catch(() => undefined) ?? Promise.resolve());
  }
}

const CANCELLED: IOutcome = { reason: 'cancelled', message: 'stopped before the rollout began' };

/** The result line of a rollout that had no session (yet). */
function emptyResult(task: string, sample: number, record: string, server: string): Omit<IRolloutResult, 'status' | 'message' | 'sampling'> {
  return {
    task,
    sample,
    outcome: null,
    verdict: null,
    passed: false,
    tests: null,
    gate: [],
    turns: 0,
    errors: 0,
    fixes: 0,
    fixed_error_types: {},
    packages_installed: [],
    reward: 0,
    tokens: { prompt: 0, completion: 0 },
    duration_ms: 0,
    record,
    server,
    replay_where: null
  };
}

/** A rollout's result line from its record. */
export function resultOf(base: Omit<IRolloutResult, 'status' | 'message'>, record: ISample, durationMs: number): IRolloutResult {
  const attempts = record.steps
    .filter((step): step is IEventStep => step.type === 'event' && step.event === 'verify_gate')
    .map(step => step.detail as { passed?: boolean; verdict?: string | null; where?: string });
  const replayed = attempts.some(attempt => attempt.verdict);
  const passed = replayed && replayPassed(record, record.verification);
  const fixed: Record<string, number> = {};
  for (const { failed } of fixesOf(record.steps)) {
    const name = failed.error?.ename ?? failed.status;
    fixed[name] = (fixed[name] ?? 0) + 1;
  }
  const packages = record.steps.flatMap(step => (step.type === 'execution' ? step.install?.resolved ?? [] : [])).map(p => `${p.name}==${p.version}`);
  const tokens = { prompt: 0, completion: 0 };
  for (const step of record.steps) {
    if (step.type === 'assistant') {
      tokens.prompt += step.usage?.prompt_tokens ?? 0;
      tokens.completion += step.usage?.completion_tokens ?? 0;
    }
  }
  const cancelled = !record.outcome || record.outcome.reason === 'cancelled';
  return {
    ...base,
    status: cancelled ? 'cancelled' : 'done',
    outcome: record.outcome?.reason ?? null,
    verdict: replayed ? record.verification.verdict : null,
    passed,
    tests: replayed ? testCounts(record.verification) : null,
    gate: attempts.map(attempt => attempt.passed === true),
    turns: record.verification.interactive.turns,
    errors: record.verification.interactive.errors,
    fixes: record.verification.interactive.fixes,
    fixed_error_types: fixed,
    packages_installed: [...new Set(packages)],
    reward: passed ? 1 : 0,
    tokens,
    duration_ms: durationMs,
    replay_where: attempts.find(attempt => attempt.where)?.where ?? null,
    ...(record.outcome?.message ? { message: record.outcome.message } : {})
  };
}

/** A task's attachments (path → bytes and sha256), read from the tasks file's folder. */
function readAttachments(folder: string, paths: readonly string[]): Map<string, { bytes: Uint8Array; sha256: string }> {
  return new Map(
    paths.map(path => {
      const bytes = readFileSync(join(folder, path));
      return [path, { bytes, sha256: createHash('sha256').update(bytes).digest('hex') }];
    })
  );
}
