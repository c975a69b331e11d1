import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { basename, dirname, join, resolve } from 'path';

import type { IReplayer } from '../agent/verifyGate';
import { BatchProgress } from '../batch/progress';
import { LocalReplayer, RouteReplayer, ServerKernelReplayer } from '../batch/replayers';
import { IBatchServer, readResults, resultsPath, runBatch } from '../batch/runner';
import { compareTable, IBatchSummary, summarize, summaryTable } from '../batch/summary';
import { BATCH_FORMATS, parseBatchFormats, writeDatasets } from '../batch/exports';
import { parseFieldMap, parseTasks } from '../batch/tasks';
import { ILocalJupyterServer, startLocalJupyterServer } from '../notebook/localServer';
import type { ISample } from '../trace/types';
import { connectTo, parseOptions, settingsFor, UsageError } from './connect';
import { AGENT_OPTIONS, agentConfigOf, positive } from './run';
import { VerifierProcess } from './verify';

export const BATCH_USAGE = `Usage: aiev batch TASKS.jsonl --out DIR [options]
       aiev batch --compare DIR_A DIR_B

Runs the agent K times on every task of a suite, each rollout a session on a fresh kernel of its own, its final
answer checked by the verify gate (the final notebook replayed from a clean start with the task's tests; a
failure goes back to the model, within the step cap). Writes DIR/records/<task>/<k>.aiev.json (+ event log),
DIR/results.jsonl as rollouts finish, DIR/summary.json and a table at the end (pass@k, pass@1 at the first
answer and after feedback, verified rate, errors fixed, packages, turns, tokens).

Task lines: {"id", "prompt", "tests", "setup", "attachments", "tags"} (tests and setup: Python sources run after
or before the notebook in the same kernel; attachments: files beside TASKS.jsonl), HumanEval ({"task_id",
"prompt", "test", "entry_point"}) or MBPP ({"task_id", "text", "test_list"}). A bad line is reported and skipped.

  --out DIR               the run's folder (required)
  --samples K             rollouts per task (default 1)
  --concurrency N         rollouts at once (default 2)
  --server-url URL        a Jupyter server to run on (repeatable: rollouts spread across them; a server with
  --token TOKEN           --gateway-url runs them on its gateway's kernels); one --token for all, or one per
                          URL in order (default $JUPYTER_TOKEN). Default: a private server on 127.0.0.1
  --resume                skip the rollouts DIR/results.jsonl has as done (a stopped or crashed run goes on)
  --format F[,F…]|all     also write DIR/dataset.<F>.jsonl: ${BATCH_FORMATS.join(', ')}
                          (training formats: verified rollouts only, unless --all-verdicts)
  --gate-rounds N         verify-gate feedback rounds per rollout (default 2; 0: replay once, no feedback)
  --replay-timeout S      seconds per cell in a replay (default 120)
  --map FIELD=SOURCE      read a task field from another name of the line (repeatable)
  --temperature T         sampling temperature, passed to the model and recorded per rollout
  --seed N                rollout k of a task is sampled with seed N+k (recorded per rollout)
  --base-url, --model, --api-key-env, --max-steps, --cell-timeout, --no-stream, --tool-mode, --vision,
  --budget-chars, --kernel: as for aiev run

Ctrl-C stops cleanly (running cells interrupted, finished rollouts kept, running ones recorded as cancelled);
--resume finishes the rest. Exit status: 0 every rollout done, 1 some not done, 2 bad usage, 130 stopped.`;

/** `aiev batch`: returns the exit status. */
export async function batchCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    {
      out: { type: 'string' },
      samples: { type: 'string' },
      concurrency: { type: 'string' },
      'server-url': { type: 'string', multiple: true },
      token: { type: 'string', multiple: true },
      resume: { type: 'boolean' },
      format: { type: 'string' },
      'all-verdicts': { type: 'boolean' },
      'gate-rounds': { type: 'string' },
      'replay-timeout': { type: 'string' },
      map: { type: 'string', multiple: true },
      temperature: { type: 'string' },
      seed: { type: 'string' },
      compare: { type: 'boolean' },
      ...AGENT_OPTIONS
    },
    true
  );
  if (values.compare) {
    return compareCommand(positionals, log);
  }
  if (positionals.length !== 1) {
    throw new UsageError('give exactly one tasks file (TASKS.jsonl)');
  }
  if (!values.out) {
    throw new UsageError('--out DIR is required');
  }
  const agent = agentConfigOf(values, process.env);
  const tasksFile = resolve(positionals[0]);
  let text: string;
  try {
    text = readFileSync(tasksFile, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(error as Error).message}`);
  }
  let map: Record<string, string>;
  try {
    map = parseFieldMap(values.map ?? []);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const suite = parseTasks(text, { map, attachmentsDir: dirname(tasksFile) });
  suite.errors.forEach(error => log(`aiev batch: ${positionals[0]}:${error.line}: skipped: ${error.message}`));
  if (!suite.tasks.length) {
    throw new UsageError(`${positionals[0]} has no task that could be read`);
  }
  let formats: ReturnType<typeof parseBatchFormats> = [];
  try {
    formats = values.format ? parseBatchFormats(values.format) : [];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const outDir = resolve(values.out);
  if (!values.resume && readResults(resultsPath(outDir)).length) {
    throw new UsageError(`${values.out} already holds a run (results.jsonl): pass --resume to finish it, or another --out`);
  }
  const samples = positive(values.samples, 1, '--samples');
  const concurrency = positive(values.concurrency, 2, '--concurrency');
  const gateRounds = values['gate-rounds'] === '0' ? 0 : positive(values['gate-rounds'], 2, '--gate-rounds');
  const replayTimeout = positive(values['replay-timeout'], 120, '--replay-timeout');
  const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if ((temperature !== undefined && !Number.isFinite(temperature)) || (seed !== undefined && !Number.isInteger(seed))) {
    throw new UsageError('--temperature takes a number and --seed a whole number');
  }
  const urls = values['server-url'] ?? [];
  const tokens = values.token ?? [];
  if (tokens.length > 1 && tokens.length !== urls.length) {
    throw new UsageError('give one --token for every server, or one --token for all');
  }

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.exit(130);
    }
    log('\naiev batch: stopping (interrupting running cells, saving records); press Ctrl-C again to quit at once');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const scratch = mkdtempSync(join(tmpdir(), 'aiev-batch-'));
  const closers: (() => Promise<void>)[] = [];
  let local: ILocalJupyterServer | undefined;
  try {
    const run = basename(outDir);
    const servers: IBatchServer[] = [];
    const judge = () => {
      const verifier = new VerifierProcess({ timeoutSeconds: replayTimeout, jobs: concurrency, replayed: true });
      closers.push(() => verifier.close());
      return verifier;
    };
    let shared: VerifierProcess | undefined;
    for (const [index, url] of urls.entries()) {
      const token = tokens[tokens.length > 1 ? index : 0] ?? process.env.JUPYTER_TOKEN ?? '';
      const { settings, bridge } = await connectTo(url, token);
      const kernels = new ServerKernelReplayer({
        settings,
        kernelName: agent.kernel,
        timeoutSeconds: replayTimeout,
        scratchDir: scratch,
        judge: (shared ??= judge()),
        attachments: record => attachmentFiles(record, dirname(tasksFile)),
        folder: record => dirname(record.source.notebook_path ?? `aiev-batch/${run}/replays/x`)
      });
      const route = bridge && !bridge.gateway ? new RouteReplayer(settings, replayTimeout) : null;
      // The route copies no attachments: a task with some replays on the server's kernels, with them uploaded.
      const replayer: IReplayer = route ? { replay: (record, signal) => (record.task.attachments.length ? kernels : route).replay(record, signal) } : kernels;
      servers.push({ settings, name: new URL(settings.baseUrl).host, replayer, root: `aiev-batch/${run}/` });
      log(`aiev batch: server ${settings.baseUrl}${bridge?.gateway ? ' (kernels on a gateway)' : ''}; replays on ${route ? 'its /aiev/verify route' : 'its kernels'}`);
    }
    if (!servers.length) {
      const root = join(outDir, 'notebooks');
      mkdirSync(root, { recursive: true });
      local = await startLocalJupyterServer({ rootDir: root, extraArgs: ['--FileContentsManager.delete_to_trash=False'] });
      const replayer = new LocalReplayer({ timeoutSeconds: replayTimeout, scratchDir: scratch, jobs: concurrency, attachmentsDir: dirname(tasksFile) });
      closers.push(() => replayer.close());
      servers.push({ settings: settingsFor(local.baseUrl, local.token), name: 'local', replayer, root: '' });
    }
    const total = suite.tasks.length * samples;
    const progress = new BatchProgress(total, chunk => process.stderr.write(chunk), process.stderr.isTTY === true, 0);
    log(`aiev batch: ${suite.tasks.length} tasks x ${samples} samples, ${concurrency} at a time, model ${agent.model}`);
    await runBatch({
      ...agent,
      tasks: suite.tasks,
      samples,
      concurrency,
      servers,
      outDir,
      attachmentsDir: dirname(tasksFile),
      model: { baseUrl: agent.baseUrl, model: agent.model, apiKey: agent.apiKey, stream: agent.stream, temperature, seed },
      gateRounds,
      resume: values.resume ?? false,
      secrets: [agent.apiKey, ...tokens].filter(secret => secret.length >= 8),
      signal: controller.signal,
      onResult: (result, { done }) => progress.finished(result, done),
      log
    });
    progress.end();
    const results = readResults(resultsPath(outDir));
    const summary = summarize(results, suite.tasks.map(task => task.id), samples, suite.errors);
    writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    log(summaryTable(summary));
    for (const dataset of formats.length ? writeDatasets({ outDir, formats, tasks: suite.tasks, results, allVerdicts: values['all-verdicts'] }) : []) {
      log(`aiev batch: ${dataset.format}: ${dataset.rows} rows → ${dataset.path}${dataset.skipped ? ` (${dataset.skipped} records skipped)` : ''}`);
    }
    log(`aiev batch: summary → ${join(outDir, 'summary.json')}`);
    if (controller.signal.aborted) {
      return 130;
    }
    return summary.rollouts.done === summary.rollouts.total ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await Promise.all(closers.map(close => close().catch(() => undefined)));
    await local?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The files of a record's attachments, read from the tasks file's folder. */
function attachmentFiles(record: ISample, folder: string): Map<string, Uint8Array> {
  return new Map(record.task.attachments.map(({ path }) => [path, readFileSync(join(folder, path))]));
}

/** `aiev batch --compare DIR_A DIR_B`: two runs' summaries side by side. */
function compareCommand(dirs: string[], log: (line: string) => void): number {
  if (dirs.length !== 2) {
    throw new UsageError('--compare takes two run folders: DIR_A DIR_B');
  }
  const summaries = dirs.map(dir => {
    try {
      return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as IBatchSummary;
    } catch (error) {
      throw new UsageError(`cannot read ${join(dir, 'summary.json')}: ${(error as Error).message}`);
    }
  });
  log(compareTable(summaries[0], summaries[1], [basename(resolve(dirs[0])), basename(resolve(dirs[1]))]));
  return 0;
}
