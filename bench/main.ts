/**
 * The benchmark suite's entry (bundled and run by bench/run.sh): runs each module in order, prints a table and
 * writes bench/results.json. Options: --only a,b (module names: kernel_rtt,
 * agent_step, step_growth, shaping, export, harvest, verify, run_memory, proxy) --runs N --warmups N --memory-steps N
 * --out FILE.
 *
 * The latency baseline (raw ZMQ, jupyter_client) is sampled in blocks interleaved with the measurements of each
 * module (`ctx.rawZmq`); `raw_zmq_rtt_ms` is the median of all those samples and every `*_ratio` a module declares
 * is computed against it at the end. To add a benchmark: a file exporting an `IBenchModule`, appended to MODULES;
 * the keys it produces replace their entries in PENDING.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { loadavg } from 'os';
import { join } from 'path';
import { parseArgs } from 'util';

import { agentStep } from './agentStep';
import { IBenchContext, IBenchModule, IBenchServer, IRow, ratio, ROOT, startBenchServer, stats } from './common';
import { exportBench } from './export';
import { harvestBench } from './harvest';
import { kernelRtt } from './kernelRtt';
import { proxyBench } from './proxy';
import { describeMachine } from './machine';
import { RawZmqSampler } from './rawZmq';
import { runMemory } from './runMemory';
import { shaping } from './shaping';
import { stepGrowth } from './stepGrowth';
import { verifyBench } from './verify';

const MODULES: IBenchModule[] = [
  kernelRtt,
  agentStep,
  stepGrowth,
  shaping,
  exportBench,
  harvestBench,
  verifyBench,
  runMemory,
  proxyBench
];

/** Keys of the issue that no module produces yet: written as null with this note (none left). */
const PENDING: Record<string, string> = {};

/** Goals from the issue, checked against the keys. */
const GOALS: { key: string; text: string; met: (v: number) => boolean }[] = [
  { key: 'agent_step_ratio', text: '<= 1.2x best raw path', met: v => v <= 1.2 },
  // Not a goal of the issue: whether the goal above is reachable at all (the step's two round trips alone).
  { key: 'agent_step_floor_ratio', text: '<= 1.2x: the floor under the goal above (its two round trips, no agent)', met: v => v <= 1.2 },
  { key: 'agent_step_floor_alone_ratio', text: '<= 1.2x: the same, each round trip alone in a tight loop', met: v => v <= 1.2 },
  { key: 'shape_50mb_ms', text: '< 50 ms', met: v => v < 50 },
  { key: 'shape_50mb_model_tokens', text: '<= 2k tokens', met: v => v <= 2000 },
  { key: 'export_1000_steps_ms', text: '< 200 ms, read as the total over every format', met: v => v < 200 },
  { key: 'export_1000_steps_max_format_ms', text: '< 200 ms, read per format (the slowest)', met: v => v < 200 },
  { key: 'verify_ratio_vs_nbclient', text: '<= 1.1x nbclient', met: v => v <= 1.1 },
  { key: 'proxy_overhead_ms', text: '<= 1 ms median over calling the model directly', met: v => v <= 1 }
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      runs: { type: 'string', default: '200' },
      warmups: { type: 'string', default: '20' },
      'memory-steps': { type: 'string', default: '1000' },
      out: { type: 'string', default: join(ROOT, 'bench', 'results.json') }
    }
  });
  const only = values.only ? new Set(values.only.split(',').map(s => s.trim())) : null;
  const selected = MODULES.filter(m => !only || only.has(m.name));
  if (only && selected.length !== only.size) {
    throw new Error(`unknown module in --only; modules: ${MODULES.map(m => m.name).join(', ')}`);
  }

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const tmp = mkdtempSync(join(ROOT, '.tmp', 'bench-run-'));
  const servers = new Map<boolean, Promise<IBenchServer>>();
  const ctx: IBenchContext = {
    runs: Number(values.runs),
    warmups: Number(values.warmups),
    memorySteps: Number(values['memory-steps']),
    results: {},
    rawZmq: new RawZmqSampler(Number(values.warmups), { ...process.env, JUPYTER_RUNTIME_DIR: join(tmp, 'runtime-zmq') }),
    tmp,
    log,
    server(nodelay: boolean) {
      if (!servers.has(nodelay)) {
        log(`  starting a private Jupyter server (TCP_NODELAY ${nodelay ? 'on' : 'off'})`);
        servers.set(nodelay, startBenchServer(nodelay));
      }
      return servers.get(nodelay)!;
    }
  };

  const started = Date.now();
  const machine = await describeMachine();
  if (machine.load_average_at_start > machine.cores / 2) {
    log(`warning: load average ${machine.load_average_at_start} on ${machine.cores} cores: other work will skew the figures`);
  }
  const rows: { module: string; rows: IRow[] }[] = [];
  const notes: Record<string, string> = {};
  const details: Record<string, unknown> = {};
  const failures: string[] = [];
  const ratios: Record<string, string> = {};
  try {
    for (const module of selected) {
      log(`==> ${module.name}: ${module.title}`);
      const t0 = Date.now();
      try {
        const result = await module.run(ctx);
        Object.assign(ctx.results, result.keys);
        Object.assign(ratios, result.ratios ?? {});
        rows.push({ module: module.name, rows: result.rows });
        details[module.name] = { ...(result.details as object), ...(result.notes ? { notes: result.notes } : {}) };
        for (const note of result.notes ?? []) {
          log(`  note: ${note}`);
        }
      } catch (error) {
        failures.push(`${module.name}: ${(error as Error).stack ?? error}`);
        log(`  FAILED: ${(error as Error).message}`);
      }
      log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await ctx.rawZmq.stop();
    await Promise.all([...servers.values()].map(p => p.then(s => s.stop(), () => undefined)));
    rmSync(tmp, { recursive: true, force: true });
  }

  // The baseline: every raw ZMQ sample of the run; then the ratios against it.
  const keys: Record<string, number | string | null> = {};
  const pooled = ctx.rawZmq.samples();
  if (pooled.length) {
    const base = stats(pooled);
    keys.raw_zmq_rtt_ms = base.median;
    keys.raw_zmq_rtt_ms_p90 = base.p90;
    keys.raw_zmq_rtt_runs = base.n;
    Object.assign(keys, ctx.results);
    for (const [ratioKey, msKey] of Object.entries(ratios)) {
      keys[ratioKey] = ratio(keys[msKey] as number, base.median);
    }
    // Each ratio right after its figure (and that figure's p90) in results.json.
    const ordered: Record<string, number | string | null> = {};
    const after = new Map(Object.entries(ratios).map(([r, ms]) => [keys[`${ms}_p90`] !== undefined ? `${ms}_p90` : ms, r]));
    for (const [key, value] of Object.entries(keys)) {
      if (key in ratios) {
        continue;
      }
      ordered[key] = value;
      const ratioKey = after.get(key);
      if (ratioKey) {
        ordered[ratioKey] = keys[ratioKey];
      }
    }
    for (const key of Object.keys(keys)) {
      delete keys[key];
    }
    Object.assign(keys, ordered);
    for (const row of rows.flatMap(s => s.rows)) {
      if (row.ratioOf) {
        row.versus = `${ratio(keys[row.ratioOf] as number, base.median)}x raw ZMQ (${base.median} ms, n=${base.n})`;
      }
    }
  } else {
    Object.assign(keys, ctx.results);
  }
  for (const [key, note] of Object.entries(PENDING)) {
    if (!(key in keys)) {
      keys[key] = null;
      notes[key] = note;
    }
  }
  const goals = GOALS.filter(g => typeof keys[g.key] === 'number').map(g => ({
    key: g.key,
    goal: g.text,
    value: keys[g.key],
    met: g.met(keys[g.key] as number)
  }));
  const output = {
    generated_at: new Date().toISOString(),
    command: 'bash bench/run.sh',
    duration_s: Math.round((Date.now() - started) / 100) / 10,
    machine: { ...machine, load_average_at_end: Math.round(loadavg()[0] * 100) / 100 },
    ...keys,
    goals,
    notes,
    failures,
    details
  };
  writeFileSync(values.out!, JSON.stringify(output, null, 2) + '\n');
  printTable(rows, goals, notes, machine.cpu_model, machine.cores);
  log(`wrote ${values.out} (${output.duration_s} s)`);
  if (failures.length) {
    log(`\n${failures.length} module(s) failed:\n${failures.join('\n')}`);
    return 1;
  }
  return 0;
}

function printTable(
  sections: { module: string; rows: IRow[] }[],
  goals: { key: string; goal: string; value: unknown; met: boolean }[],
  notes: Record<string, string>,
  cpu: string,
  cores: number
): void {
  const all = sections.flatMap(s => s.rows);
  const w1 = Math.max(20, ...all.map(r => r.item.length));
  const w2 = Math.max(10, ...all.map(r => r.value.length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c}`;
  const out: string[] = ['', `jupyterlab-aiev benchmarks: ${cpu}, ${cores} cores`, line('measure', 'value', 'versus'), '-'.repeat(w1 + w2 + 30)];
  for (const section of sections) {
    out.push(`[${section.module}]`);
    out.push(...section.rows.map(r => line(r.item, r.value, r.versus ?? '')));
  }
  if (goals.length) {
    out.push('', 'goals:');
    out.push(...goals.map(g => `  ${g.met ? 'met    ' : 'NOT MET'}  ${g.key} = ${g.value} (goal ${g.goal})`));
  }
  for (const [key, note] of Object.entries(notes)) {
    out.push(`  ${key}: null (${note})`);
  }
  process.stdout.write(out.join('\n') + '\n\n');
}

console.debug = () => undefined; // @jupyterlab/services' websocket chatter
main().then(
  code => process.exit(code),
  error => {
    process.stderr.write(`bench: ${(error as Error).stack ?? error}\n`);
    process.exit(2);
  }
);
