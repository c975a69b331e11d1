/**
 * Item 1 (a) and (b): one trivial execution (`print(1)`) until idle.
 *
 * (a) straight to the kernel over ZMQ with jupyter_client (bench/raw_zmq.py via rawZmq.ts): the baseline.
 * (b) through Jupyter Server's kernel websocket with `@jupyterlab/services` from Node (what the headless driver
 *     uses), on two private servers with the bridge extension: TCP_NODELAY on (as shipped) and off
 *     (AIEV_KERNEL_NODELAY=0, as a stock Jupyter Server). A third variant, on the server without NODELAY, is a
 *     client-side workaround: the client answers every frame it receives with an unsolicited pong, so its ACK
 *     leaves at once (piggybacked) instead of after the delayed-ACK timer.
 *
 * One kernel per variant stays open; the runs are split into 4 rounds, each a block of raw ZMQ then a block of
 * every server variant, so machine noise (other processes on a 2-core box) falls on all of them alike.
 * Besides the round trip, each variant notes when every message type of the execution arrived (ms after the
 * request, medians) and the kernel's own busy -> idle time (its header timestamps): that shows where the time goes.
 */
import { Kernel, KernelManager, KernelMessage, ServerConnection } from '@jupyterlab/services';

import { settingsFor } from '../src/cli/connect';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IStats, msWithP90, nowMs, splitRuns, stats } from './common';
import type { IRawBlock } from './rawZmq';

/** One variant's measurements. */
export interface IRttResult {
  rtt: IStats;
  /** Median arrival of each message type, ms after the request was sent. */
  arrivalMedianMs: Record<string, number>;
  /** The kernel's busy -> idle by its own clock. */
  kernelBusyToIdle: IStats | null;
  /** Median of each interleaved block, in order (shows drift and noise). */
  blockMedians: number[];
}

/** Samples of executions, pooled over blocks. */
class Pool {
  readonly samples: number[] = [];
  readonly kernelSide: number[] = [];
  readonly arrivals = new Map<string, number[]>();
  readonly blockMedians: number[] = [];

  addBlock(samples: number[], kernelSide: number[], arrivals: Record<string, number[]>): void {
    this.samples.push(...samples);
    this.kernelSide.push(...kernelSide);
    for (const [kind, values] of Object.entries(arrivals)) {
      this.arrivals.set(kind, [...(this.arrivals.get(kind) ?? []), ...values]);
    }
    this.blockMedians.push(stats(samples).median);
  }

  result(): IRttResult {
    return {
      rtt: stats(this.samples),
      arrivalMedianMs: Object.fromEntries([...this.arrivals].map(([kind, values]) => [kind, stats(values).median])),
      kernelBusyToIdle: this.kernelSide.length ? stats(this.kernelSide) : null,
      blockMedians: this.blockMedians
    };
  }
}

/** A kernel of a server, kept open across blocks of `print(1)` until idle. */
export class ServerKernelProbe {
  readonly pool = new Pool();

  static async open(settings: ServerConnection.ISettings, warmups: number): Promise<ServerKernelProbe> {
    const kernels = new KernelManager({ serverSettings: settings });
    await kernels.ready;
    const kernel = await kernels.startNew({ name: 'python3' });
    await kernel.info;
    const probe = new ServerKernelProbe(kernels, kernel);
    for (let i = 0; i < warmups; i++) {
      await oneExecution(kernel, 'print(1)');
    }
    return probe;
  }

  private constructor(
    private readonly _kernels: KernelManager,
    private readonly _kernel: Kernel.IKernelConnection
  ) {}

  /** One `print(1)` until idle, not pooled; its round trip in ms. */
  async once(): Promise<number> {
    return (await oneExecution(this._kernel, 'print(1)')).totalMs;
  }

  async block(runs: number): Promise<void> {
    const samples: number[] = [];
    const kernelSide: number[] = [];
    const arrivals: Record<string, number[]> = {};
    for (let i = 0; i < runs; i++) {
      const one = await oneExecution(this._kernel, 'print(1)');
      samples.push(one.totalMs);
      if (one.kernelMs !== null) {
        kernelSide.push(one.kernelMs);
      }
      for (const [kind, offset] of Object.entries(one.arrivals)) {
        (arrivals[kind] ??= []).push(offset);
      }
    }
    this.pool.addBlock(samples, kernelSide, arrivals);
  }

  async close(): Promise<void> {
    await this._kernel.shutdown().catch(() => undefined);
    this._kernel.dispose();
    this._kernels.dispose();
  }
}

async function oneExecution(
  kernel: Kernel.IKernelConnection,
  code: string
): Promise<{ totalMs: number; arrivals: Record<string, number>; kernelMs: number | null }> {
  const arrivals: Record<string, number> = {};
  const dates: Record<string, string> = {};
  const start = nowMs();
  const note = (kind: string) => {
    arrivals[kind] ??= nowMs() - start;
  };
  const future = kernel.requestExecute({ code, store_history: true, silent: false, allow_stdin: false });
  future.onIOPub = msg => {
    let kind: string = msg.header.msg_type;
    if (KernelMessage.isStatusMsg(msg)) {
      kind = `status:${msg.content.execution_state}`;
      dates[kind] = msg.header.date;
    }
    note(kind);
  };
  future.onReply = () => note('execute_reply');
  await future.done;
  const totalMs = nowMs() - start;
  future.dispose();
  const busy = dates['status:busy'];
  const idle = dates['status:idle'];
  return { totalMs, arrivals, kernelMs: busy && idle ? Date.parse(idle) - Date.parse(busy) + subMs(idle) - subMs(busy) : null };
}

/** The sub-millisecond part of an ISO date with microseconds (Date.parse keeps milliseconds only). */
function subMs(iso: string): number {
  const match = /\.\d{3}(\d+)/.exec(iso);
  return match ? Number(`0.${match[1]}`) : 0;
}

/** The raw ZMQ blocks of this module, as a result like the others. */
function rawResult(blocks: IRawBlock[]): IRttResult {
  const pool = new Pool();
  for (const block of blocks) {
    pool.addBlock(block.samples_ms, block.kernel_busy_to_idle_ms, block.arrivals_ms);
  }
  const result = pool.result();
  const round = (x: number) => Math.round(x * 1000) / 1000;
  result.arrivalMedianMs = Object.fromEntries(Object.entries(result.arrivalMedianMs).map(([k, v]) => [k, round(v)]));
  return result;
}

export const kernelRtt: IBenchModule = {
  name: 'kernel_rtt',
  title: 'print(1) until idle: raw ZMQ vs Jupyter Server websocket (NODELAY on/off, client-side acks)',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const withNodelay = await ctx.server(true);
    const withoutNodelay = await ctx.server(false);
    const variants: [string, ServerConnection.ISettings][] = [
      ['NODELAY on', withNodelay.settings],
      ['NODELAY off', withoutNodelay.settings],
      ['NODELAY off, client acks', settingsFor(withoutNodelay.baseUrl, withoutNodelay.token, { ackFrames: true })]
    ];
    const probes: ServerKernelProbe[] = [];
    const raw: IRawBlock[] = [];
    try {
      for (const [, settings] of variants) {
        probes.push(await ServerKernelProbe.open(settings, ctx.warmups));
      }
      const rounds = splitRuns(ctx.runs);
      for (const [index, runs] of rounds.entries()) {
        ctx.log(`  round ${index + 1}/${rounds.length}: ${runs} x raw ZMQ, then ${runs} x each server variant`);
        raw.push(await ctx.rawZmq.sample(runs));
        for (const probe of probes) {
          await probe.block(runs);
        }
      }
    } finally {
      await Promise.all(probes.map(p => p.close()));
    }
    const zmq = rawResult(raw);
    const [on, off, acking] = probes.map(p => p.pool.result());
    return {
      keys: {
        server_ws_rtt_ms: on.rtt.median,
        server_ws_rtt_ms_p90: on.rtt.p90,
        server_ws_rtt_without_nodelay_ms: off.rtt.median,
        server_ws_rtt_without_nodelay_ms_p90: off.rtt.p90,
        server_ws_rtt_client_ack_ms: acking.rtt.median,
        server_ws_rtt_client_ack_ms_p90: acking.rtt.p90
      },
      ratios: {
        server_ws_rtt_ratio: 'server_ws_rtt_ms',
        server_ws_rtt_without_nodelay_ratio: 'server_ws_rtt_without_nodelay_ms',
        server_ws_rtt_client_ack_ratio: 'server_ws_rtt_client_ack_ms'
      },
      rows: [
        { item: '(a) raw ZMQ, jupyter_client (these blocks)', value: msWithP90(zmq.rtt), versus: 'baseline (pooled over the run below)' },
        { item: '(b) server websocket, NODELAY (shipped)', value: msWithP90(on.rtt), ratioOf: 'server_ws_rtt_ms' },
        { item: '(b) server websocket, no NODELAY (stock)', value: msWithP90(off.rtt), ratioOf: 'server_ws_rtt_without_nodelay_ms' },
        { item: '(b) no NODELAY, client acks each frame', value: msWithP90(acking.rtt), ratioOf: 'server_ws_rtt_client_ack_ms' }
      ],
      details: { raw_zmq: zmq, server_nodelay: on, server_no_nodelay: off, server_no_nodelay_client_ack: acking },
      notes: [
        'arrival of each message after the request (ms, medians): ' +
          [
            ['raw ZMQ', zmq],
            ['NODELAY', on],
            ['no NODELAY', off],
            ['client acks', acking]
          ]
            .map(([name, r]) => `${name} ${arrivalLine((r as IRttResult).arrivalMedianMs)}`)
            .join('; ')
      ]
    };
  }
};

function arrivalLine(arrivals: Record<string, number>): string {
  return Object.entries(arrivals)
    .sort((a, b) => a[1] - b[1])
    .map(([kind, ms]) => `${kind.replace('status:', '')} ${fmt(ms)}`)
    .join(', ');
}
