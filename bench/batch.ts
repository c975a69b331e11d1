/**
 * `aiev batch` at scale (issue 9, section 5): rollouts per second at concurrency 1, 2, 4, 8 against the floor, the
 * machine's rate of fresh kernel starts measured in the same run; memory per concurrent rollout; the same through
 * a Jupyter Kernel Gateway, and the kernel round trip on the server↔gateway hop with and without its cure.
 *
 * A rollout: the real runner (`runBatch`: `AgentSession`, `HeadlessNotebookDriver` on a fresh kernel, records and
 * event logs on disk, the verify gate), on a trivial task (one cell, one final answer, a test), answered by the
 * scripted model in this process at once. Each rollout needs two fresh kernels (its session's, and the replay's),
 * so the floor is half the best rate of kernel starts: a kernel started through the server's REST API, its
 * websocket connected, `kernel_info` answered, shut down; `c` of them at a time for c = 1, 2, 4, 8, the best rate
 * kept. Two rounds, each measuring per concurrency the floor's kernel starts then the batch. Memory: the resident set of this process and of every process under it (server, kernels, verifier),
 * sampled every 100 ms; per concurrent rollout = (peak during the c = 8 run - before it) / 8.
 *
 * Through the gateway: a Kernel Gateway with its defaults behind `jupyter server --gateway-url`, the same floor and
 * batch (replays on the gateway's kernels), then `print(1)` round trips by `driver.execute` through three setups
 * interleaved: the server's cure off (AIEV_KERNEL_NODELAY=0) and a stock gateway; the cure on (TCP_NODELAY + acks
 * at the server end) and a stock gateway; the cure on and the gateway with the NODELAY connection class.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';

import { KernelAPI, KernelConnection, ServerConnection } from '@jupyterlab/services';

import { LocalReplayer, ServerKernelReplayer } from '../src/batch/replayers';
import { IBatchServer, runBatch } from '../src/batch/runner';
import type { IBatchTask } from '../src/batch/tasks';
import { connectTo } from '../src/cli/connect';
import { VerifierProcess } from '../src/cli/verify';
import { HeadlessNotebookDriver } from '../src/notebook/headless';
import { freePort, startLocalJupyterServer } from '../src/notebook/localServer';
import { startScriptedModel, TurnFunction } from '../test/scripted-model/server';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IRow, JUPYTER, nowMs, ratio, stats } from './common';

const CONCURRENCY = [1, 2, 4, 8];
/** Rounds; rollouts per concurrency level and round, and kernel starts per level and round of the floor. */
const ROUNDS = 2;
const PER_LEVEL_MIN = 8;
/**
 * Rollouts (and the floor's kernel starts) per concurrency level and round: at least 3 per slot, so the figure is
 * the steady state a real batch (hundreds of rollouts) runs in, not a single wave: 8 rollouts at c = 8 start
 * together, start their kernels together and replay together, leaving the cores idle between those phases.
 */
function perLevel(concurrency: number): number {
  return Math.max(PER_LEVEL_MIN, 3 * concurrency);
}

/** One cell, one final answer. */
const instant: TurnFunction = request =>
  request.messages.some(m => m.role === 'tool')
    ? { toolCalls: [{ name: 'final_answer', arguments: { answer: '2' } }] }
    : { toolCalls: [{ name: 'execute_cell', arguments: { code: 'x = 1 + 1\nprint(x)' } }] };

function tasks(n: number, tag: string): IBatchTask[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${tag}-${i}`, slug: `${tag}-${i}`, prompt: 'Set x to 1 + 1.', tests: ['assert x == 2'], setup: [], attachments: [], tags: [], line: i + 1
  }));
}

/** Resident set (MB) of `pid` and every process under it, from /proc. */
function treeRssMb(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(/\s+/).filter(Boolean).forEach(child => visit(Number(child)));
      }
    } catch {
      // gone meanwhile
    }
  };
  visit(pid);
  return kb / 1024;
}

/** Peak of `treeRssMb(process.pid)` and of this process alone while `work` runs. */
async function sampled<T>(work: () => Promise<T>): Promise<{ value: T; peakTreeMb: number; peakNodeMb: number }> {
  let peakTreeMb = 0;
  let peakNodeMb = 0;
  const sample = () => {
    peakTreeMb = Math.max(peakTreeMb, treeRssMb(process.pid));
    peakNodeMb = Math.max(peakNodeMb, process.memoryUsage().rss / 2 ** 20);
  };
  const timer = setInterval(sample, 100);
  try {
    const value = await work();
    sample();
    return { value, peakTreeMb, peakNodeMb };
  } finally {
    clearInterval(timer);
  }
}

/** Kernel starts per second, `concurrency` at a time (start, websocket, kernel_info, shutdown). */
async function kernelStarts(settings: ServerConnection.ISettings, concurrency: number, total: number): Promise<number> {
  let left = total;
  const one = async () => {
    const model = await KernelAPI.startNew({ name: 'python3' }, settings);
    const kernel = new KernelConnection({ model, serverSettings: settings });
    try {
      await kernel.info;
    } finally {
      kernel.dispose();
      await KernelAPI.shutdownKernel(model.id, settings);
    }
  };
  const t0 = nowMs();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) {
      await one();
    }
  }));
  return (total / (nowMs() - t0)) * 1000;
}

/** Rollouts per second of `n` trivial rollouts, `concurrency` at a time, on `server`. */
async function batchRate(ctx: IBenchContext, server: IBatchServer, baseUrl: string, concurrency: number, tag: string): Promise<number> {
  const n = perLevel(concurrency);
  const outDir = mkdtempSync(join(ctx.tmp, `batch-${tag}-`));
  const t0 = nowMs();
  const results = await runBatch({
    tasks: tasks(n, tag), samples: 1, concurrency, servers: [server], outDir, attachmentsDir: outDir,
    model: { baseUrl, model: 'scripted', apiKey: 'bench', stream: true }, toolMode: 'native', maxSteps: 5,
    cellTimeoutMs: 60000, budgetChars: 6000, vision: false, kernel: 'python3', gateRounds: 1, resume: false,
    secrets: [], signal: new AbortController().signal, log: () => undefined
  });
  const seconds = (nowMs() - t0) / 1000;
  const passed = results.filter(r => r.passed).length;
  rmSync(outDir, { recursive: true, force: true });
  if (passed !== n) {
    throw new Error(`${tag}: ${passed} of ${n} rollouts passed: ${JSON.stringify(results.find(r => !r.passed))}`);
  }
  return n / seconds;
}

/** A Kernel Gateway (defaults, plus `extra`), stopped by the returned function. */
async function startGateway(ctx: IBenchContext, extra: string[]): Promise<{ url: string; token: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const token = 'bench-gateway-token';
  const runtime = mkdtempSync(join(ctx.tmp, 'gateway-'));
  const child = spawn(JUPYTER, ['kernelgateway', '--KernelGatewayApp.ip=127.0.0.1', `--KernelGatewayApp.port=${port}`, `--KernelGatewayApp.auth_token=${token}`, ...extra], {
    env: { ...process.env, JUPYTER_RUNTIME_DIR: runtime },
    stdio: 'ignore'
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await fetch(`${url}/api/kernelspecs`, { headers: { Authorization: `token ${token}` } }).then(r => r.ok, () => false)); i++) {
    if (i > 300) {
      throw new Error('the kernel gateway did not start');
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  const exited = new Promise(resolve => child.once('exit', resolve));
  return { url, token, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

/** `print(1)` round trips (ms) by `driver.execute` on one kernel per setup, interleaved in rounds. */
async function gatewayRtt(settings: ServerConnection.ISettings[], runs: number): Promise<number[][]> {
  const drivers = await Promise.all(settings.map((s, i) => HeadlessNotebookDriver.open({ settings: s, path: `rtt-${i}.ipynb` })));
  const samples = drivers.map(() => [] as number[]);
  try {
    for (let round = 0; round < 4; round++) {
      for (const [i, driver] of drivers.entries()) {
        for (let r = 0; r < runs / 4 + (round === 0 ? 5 : 0); r++) {
          const cell = driver.appendCodeCell('print(1)');
          const t0 = nowMs();
          await driver.execute(cell, { timeoutMs: 10000 });
          if (!(round === 0 && r < 5)) {
            samples[i].push(nowMs() - t0);
          }
        }
      }
    }
  } finally {
    await Promise.all(drivers.map(d => d.dispose().catch(() => undefined)));
  }
  return samples;
}

export const batchBench: IBenchModule = {
  name: 'batch',
  title: 'aiev batch: rollouts/s at concurrency 1-8 vs the kernel-start floor, memory, through a Kernel Gateway',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const model = await startScriptedModel(Array(100000).fill(instant));
    const keys: Record<string, number | null> = {};
    const rows: IRow[] = [];
    const details: Record<string, unknown> = {};
    const scratch = mkdtempSync(join(ctx.tmp, 'batch-scratch-'));
    try {
      // --- the private server ---
      const server = await ctx.server(true);
      // Rounds: in each, per concurrency, the floor's kernel starts then the batch, so load from other work on
      // the machine falls on both alike; rates are totals over the rounds.
      const spent = Object.fromEntries(CONCURRENCY.map(c => [c, { starts: 0, startsS: 0, rollouts: 0, rolloutsS: 0 }]));
      const memory: Record<number, { treeMb: number; nodeMb: number; beforeTreeMb: number; beforeNodeMb: number }> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const c of CONCURRENCY) {
          spent[c].startsS += perLevel(c) / (await kernelStarts(server.settings, c, perLevel(c)));
          spent[c].starts += perLevel(c);
          const replayer = new LocalReplayer({ timeoutSeconds: 60, scratchDir: scratch, jobs: c, attachmentsDir: scratch });
          const local: IBatchServer = { settings: server.settings, name: 'local', replayer, root: `bench-${round}-${c}/` };
          await new Promise(resolve => setTimeout(resolve, 500));
          const before = { tree: treeRssMb(process.pid), node: process.memoryUsage().rss / 2 ** 20 };
          const run = await sampled(() => batchRate(ctx, local, model.baseUrl, c, `local-r${round}-c${c}`));
          await replayer.close();
          spent[c].rolloutsS += perLevel(c) / run.value;
          spent[c].rollouts += perLevel(c);
          if (round === 0) {
            memory[c] = { treeMb: run.peakTreeMb, nodeMb: run.peakNodeMb, beforeTreeMb: before.tree, beforeNodeMb: before.node };
          }
          ctx.log(`  round ${round} c=${c}: ${fmt(run.value)} rollouts/s; peak RSS ${fmt(run.peakTreeMb)} MB (tree)`);
        }
      }
      const starts = Object.fromEntries(CONCURRENCY.map(c => [c, spent[c].starts / spent[c].startsS]));
      const rates = Object.fromEntries(CONCURRENCY.map(c => [c, spent[c].rollouts / spent[c].rolloutsS]));
      const bestStarts = Math.max(...Object.values(starts));
      const floor = bestStarts / 2;
      const best = Math.max(...Object.values(rates));
      const bestC = CONCURRENCY.find(c => rates[c] === best)!;
      const m8 = memory[8];
      Object.assign(keys, {
        kernel_starts_per_s: round(bestStarts),
        batch_floor_rollouts_per_s: round(floor),
        ...Object.fromEntries(CONCURRENCY.map(c => [`batch_rollouts_per_s_c${c}`, round(rates[c])])),
        batch_best_concurrency: bestC,
        batch_ratio_vs_floor: ratio(best, floor),
        batch_mb_per_rollout: round((m8.treeMb - m8.beforeTreeMb) / 8),
        batch_node_mb_per_rollout: round((m8.nodeMb - m8.beforeNodeMb) / 8)
      });
      rows.push(
        { item: 'fresh kernel starts (floor: half of the best)', value: `${fmt(bestStarts)}/s`, versus: CONCURRENCY.map(c => `c=${c} ${fmt(starts[c])}`).join(', ') },
        ...CONCURRENCY.map((c): IRow => ({ item: `batch, concurrency ${c}`, value: `${fmt(rates[c])} rollouts/s`, versus: `${ratio(rates[c], floor)}x floor (${fmt(floor)}/s)` })),
        { item: 'memory per concurrent rollout (c=8)', value: `${fmt(keys.batch_mb_per_rollout as number)} MB`, versus: `all processes (kernels, verifier, server); this process alone ${fmt(keys.batch_node_mb_per_rollout as number)} MB` }
      );
      details.local = { starts, rates, memory };

      // --- through a Kernel Gateway ---
      const stock = await startGateway(ctx, []);
      const cured = await startGateway(ctx, ['--KernelGatewayApp.kernel_websocket_connection_class=python_kernel_bridge.gateway_nodelay.NoDelayZMQChannelsWebsocketConnection']);
      const servers = await Promise.all(
        [[stock, '0'], [stock, '1'], [cured, '1']].map(([gateway, nodelay]) => {
          const g = gateway as typeof stock;
          return startLocalJupyterServer({ jupyter: JUPYTER, env: { AIEV_KERNEL_NODELAY: nodelay as string }, extraArgs: [`--gateway-url=${g.url}`, `--GatewayClient.auth_token=${g.token}`] });
        })
      );
      try {
        const connections = await Promise.all(servers.map(s => connectTo(s.baseUrl, s.token)));
        const rtt = await gatewayRtt(connections.map(c => c.settings), ctx.runs >= 100 ? 100 : ctx.runs);
        const [off, serverEnd, bothEnds] = rtt.map(s => stats(s));
        const main = connections[1].settings;
        const gwStartsBefore = await kernelStarts(main, bestC, perLevel(bestC));
        const judge = new VerifierProcess({ timeoutSeconds: 60, jobs: bestC, replayed: true });
        const replayer = new ServerKernelReplayer({
          settings: main, kernelName: 'python3', timeoutSeconds: 60, scratchDir: scratch, judge,
          attachments: () => new Map(), folder: record => (record.source.notebook_path ?? 'x/y').split('/').slice(0, -1).join('/')
        });
        const gwRate = await batchRate(ctx, { settings: main, name: 'gateway', replayer, root: 'bench-gw/' }, model.baseUrl, bestC, 'gateway');
        const gwStartsAfter = await kernelStarts(main, bestC, perLevel(bestC)); // before and after the batch, as the rounds above
        await judge.close();
        const gwStarts = 2 / (1 / gwStartsBefore + 1 / gwStartsAfter);
        Object.assign(keys, {
          gateway_rtt_without_cure_ms: off.median,
          gateway_rtt_server_end_ms: serverEnd.median,
          gateway_rtt_both_ends_ms: bothEnds.median,
          gateway_kernel_starts_per_s: round(gwStarts),
          gateway_batch_rollouts_per_s: round(gwRate),
          gateway_batch_ratio_vs_floor: ratio(gwRate, gwStarts / 2)
        });
        rows.push(
          { item: 'gateway: print(1), cure off (stock server + gateway)', value: `${fmt(off.median)} ms (p90 ${fmt(off.p90)})`, versus: 'baseline' },
          { item: 'gateway: print(1), server end (NODELAY + acks)', value: `${fmt(serverEnd.median)} ms (p90 ${fmt(serverEnd.p90)})`, versus: `${ratio(serverEnd.median, off.median)}x cure off` },
          { item: 'gateway: print(1), both ends (+ gateway NODELAY class)', value: `${fmt(bothEnds.median)} ms (p90 ${fmt(bothEnds.p90)})`, versus: `${ratio(bothEnds.median, off.median)}x cure off` },
          { item: `gateway: batch, concurrency ${bestC}`, value: `${fmt(gwRate)} rollouts/s`, versus: `${ratio(gwRate, gwStarts / 2)}x its floor (kernel starts ${fmt(gwStarts)}/s through the gateway)` }
        );
        details.gateway = { rtt: { off, serverEnd, bothEnds }, starts: gwStarts, rate: gwRate, concurrency: bestC };
      } finally {
        await Promise.all(servers.map(s => s.stop()));
        await stock.stop();
        await cured.stop();
      }
    } finally {
      await model.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
    return {
      keys,
      rows,
      details,
      notes: [
        'floor = half the best rate of fresh kernel starts through the server (start, websocket, kernel_info, shutdown): a rollout needs two kernels',
        'goal: batch_ratio_vs_floor >= 0.8 at the best concurrency'
      ]
    };
  }
};

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
