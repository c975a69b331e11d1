/**
 * Item 4: peak memory of `aiev run` (the built CLI, dist/aiev.cjs) over a 1,000-step scripted session.
 *
 * The CLI as a user runs it: it starts its own private Jupyter server (with the extension, TCP_NODELAY on), the
 * scripted model serves 1,000 turns of `execute_cell("print(1)")` then `final_answer` from its own process.
 * Peak RSS is the Node process's own maxRSS (getrusage at exit, via the bench/peakRss.cjs preload); the server and
 * kernel are other processes and not counted. `/usr/bin/time -v` runs it too when present: its "Maximum resident
 * set size" is noted as well, but it is the largest of the process and its waited-for descendants.
 * Baseline in the same run: the same command over a 1-step session.
 *
 * From the record, the time between consecutive model turns over the session (first vs last 100 steps) shows
 * what grows with the session's length.
 */
import { existsSync, mkdirSync, readFileSync } from 'fs';
import { join } from 'path';

import { fmt, IBenchContext, IBenchModule, IModuleResult, JUPYTER, ratio, ROOT, runProcess, stats } from './common';
import { executeScript, startModelProcess } from './scriptedModel';

const CLI = join(ROOT, 'dist', 'aiev.cjs');
const TIME = '/usr/bin/time';

interface ISession {
  steps: number;
  peakRssMb: number;
  /** V8 heap still in use at exit after a full GC: what the run retained (the rest of the peak is GC slack). */
  heapAfterGcMb: number;
  timeMaxRssMb: number | null;
  wallS: number;
  exitCode: number | null;
  /** ms between consecutive model turns, medians over the first and last 100 (or fewer) steps. */
  stepMsFirst: number | null;
  stepMsLast: number | null;
  recordMb: number;
}

async function session(ctx: IBenchContext, steps: number): Promise<ISession> {
  const dir = join(ctx.tmp, `memory-${steps}`);
  mkdirSync(dir, { recursive: true });
  const model = await startModelProcess(executeScript(steps), ctx.tmp, `memory-${steps}`);
  const rssFile = join(dir, 'rusage.json');
  const out = join(dir, 'record.json');
  const args = [
    '--expose-gc',
    '-r',
    join(ROOT, 'bench', 'peakRss.cjs'),
    CLI,
    'run',
    '--prompt',
    'benchmark',
    '--notebook',
    'bench.ipynb',
    '--out',
    out,
    '--max-steps',
    String(steps + 1)
  ];
  const useTime = existsSync(TIME);
  const [command, argv] = useTime ? [TIME, ['-v', process.execPath, ...args]] : [process.execPath, args];
  const env = {
    ...process.env,
    OPENAI_BASE_URL: model.baseUrl,
    AIEV_MODEL: 'scripted',
    OPENAI_API_KEY: 'bench-key',
    AIEV_JUPYTER: JUPYTER,
    AIEV_KERNEL_NODELAY: '1',
    AIEV_BENCH_RSS_FILE: rssFile,
    JUPYTER_RUNTIME_DIR: join(dir, 'runtime')
  };
  const t0 = Date.now();
  let result;
  try {
    result = await runProcess(command, argv, { cwd: dir, env });
  } finally {
    await model.stop();
  }
  const wallS = (Date.now() - t0) / 1000;
  if (result.code !== 0 || !existsSync(rssFile)) {
    throw new Error(`aiev run (${steps} steps) exited ${result.code}: ${result.stderr.trim().split('\n').slice(-8).join('\n')}`);
  }
  const usage = JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRSS: number; heapUsedAfterGc: number };
  const timeKb = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1];
  const recordText = readFileSync(out, 'utf8');
  const record = JSON.parse(recordText) as { steps: { type: string; time?: string }[] };
  const turns = record.steps.filter(s => s.type === 'assistant').map(s => Date.parse(s.time!));
  const gaps = turns.slice(1).map((t, i) => t - turns[i]);
  const edge = Math.min(100, gaps.length);
  return {
    steps,
    peakRssMb: Math.round((usage.maxRSS / 1024) * 10) / 10,
    heapAfterGcMb: Math.round((usage.heapUsedAfterGc / 2 ** 20) * 10) / 10,
    timeMaxRssMb: timeKb ? Math.round((Number(timeKb) / 1024) * 10) / 10 : null,
    wallS,
    exitCode: result.code,
    stepMsFirst: edge ? stats(gaps.slice(0, edge)).median : null,
    stepMsLast: edge ? stats(gaps.slice(-edge)).median : null,
    recordMb: Math.round((Buffer.byteLength(recordText) / 1024 / 1024) * 100) / 100
  };
}

export const runMemory: IBenchModule = {
  name: 'run_memory',
  title: `peak RSS of \`aiev run\` over a long scripted session (built CLI, private server)`,
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: run \`jlpm build:cli\` (bench/run.sh does)`);
    }
    ctx.log('  1-step session (baseline)');
    const base = await session(ctx, 1);
    ctx.log(`  ${ctx.memorySteps}-step session`);
    const long = await session(ctx, ctx.memorySteps);
    const key = ctx.memorySteps === 1000 ? 'run_1000_steps_peak_rss_mb' : `run_${ctx.memorySteps}_steps_peak_rss_mb`;
    return {
      keys: {
        [key]: long.peakRssMb,
        run_1_step_peak_rss_mb: base.peakRssMb,
        run_peak_rss_ratio_vs_1_step: ratio(long.peakRssMb, base.peakRssMb),
        [`run_${ctx.memorySteps}_steps_heap_after_gc_mb`]: long.heapAfterGcMb,
        run_step_ms_first_100: long.stepMsFirst,
        run_step_ms_last_100: long.stepMsLast
      },
      rows: [
        {
          item: 'aiev run, 1 step: peak RSS (node)',
          value: `${fmt(base.peakRssMb)} MB`,
          versus: `baseline; heap after GC at exit ${fmt(base.heapAfterGcMb)} MB`
        },
        {
          item: `aiev run, ${ctx.memorySteps} steps: peak RSS (node)`,
          value: `${fmt(long.peakRssMb)} MB`,
          versus: `${ratio(long.peakRssMb, base.peakRssMb)}x 1 step; heap after GC ${fmt(long.heapAfterGcMb)} MB; record ${long.recordMb} MB; ${long.wallS.toFixed(1)} s`
        },
        {
          item: `aiev run, ${ctx.memorySteps} steps: ms per step`,
          value: `${fmt(long.stepMsFirst)} first 100, ${fmt(long.stepMsLast)} last 100`,
          versus: 'time between model turns (record timestamps, 1 ms resolution)'
        }
      ],
      details: { baseline_1_step: base, long_session: long }
    };
  }
};
