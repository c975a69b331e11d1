/**
 * What every benchmark module shares: the module contract, the run context (servers and baselines measured once
 * per run), statistics and small process helpers.
 *
 * A module measures one thing and returns `IModuleResult`: the `results.json` keys it owns, table rows to print,
 * and free-form details (kept in results.json under `details.<module name>`). Adding a benchmark = one file
 * exporting an `IBenchModule`, listed in `bench/main.ts`.
 */
import { spawn, SpawnOptions } from 'child_process';
import { join, resolve } from 'path';

import { ServerConnection } from '@jupyterlab/services';

import { settingsFor } from '../src/cli/connect';
import { ILocalJupyterServer, startLocalJupyterServer } from '../src/notebook/localServer';
import type { RawZmqSampler } from './rawZmq';

/** Repository root (the bundle runs from `.tmp/bench/`, so `process.cwd()` is used: run.sh cds to the root). */
export const ROOT = resolve(process.env.AIEV_BENCH_ROOT ?? process.cwd());
export const VENV_BIN = join(ROOT, '.venv', 'bin');
export const PYTHON = join(VENV_BIN, 'python');
export const JUPYTER = join(VENV_BIN, 'jupyter');

/** Summary statistics of a sample, in its unit. */
export interface IStats {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

/** Median, p90 (nearest rank), min, max and mean; rounded to 3 decimals. */
export function stats(values: readonly number[]): IStats {
  if (!values.length) {
    throw new Error('stats of an empty sample');
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: sorted.length,
    median: round(sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2),
    p90: round(rank(0.9)),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length)
  };
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** `a / b` rounded to 3 decimals; null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || b === 0) {
    return null;
  }
  return Math.round((a / b) * 1000) / 1000;
}

/** One printed table row: what was measured, the figure, and what it is compared with. */
export interface IRow {
  item: string;
  /** e.g. "6.21 ms (p90 7.9)". */
  value: string;
  /** e.g. "0.8x JSON.stringify"; filled in by main from `ratioOf` when that is set. */
  versus?: string;
  /** A key in ms of this module: the row is compared with the run's raw ZMQ baseline. */
  ratioOf?: string;
}

/** What a module gives back. */
export interface IModuleResult {
  /** results.json top-level keys this module owns (medians; `<key>_p90` beside where it applies). */
  keys: Record<string, number | string | null>;
  /**
   * Ratio keys against the run's raw ZMQ baseline, filled in by main once every module ran (the baseline is the
   * median of all baseline blocks, interleaved through the run): `{ agent_step_ratio: 'agent_step_ms' }`.
   */
  ratios?: Record<string, string>;
  rows: IRow[];
  details?: unknown;
  /** Free-text notes, printed under the table and stored in results.json. */
  notes?: string[];
}

/** A Jupyter server the run started, with `@jupyterlab/services` settings for it. */
export interface IBenchServer extends ILocalJupyterServer {
  settings: ServerConnection.ISettings;
  /** Whether the extension sets TCP_NODELAY on its kernel websockets (AIEV_KERNEL_NODELAY). */
  nodelay: boolean;
}

/** Shared by the modules of one run. */
export interface IBenchContext {
  /** Runs per latency figure (default 200) and warm-ups before them (default 20). */
  runs: number;
  warmups: number;
  /** Steps of the memory session (default 1000). */
  memorySteps: number;
  /** Private servers, started on first use and stopped at the end of the run. */
  server(nodelay: boolean): Promise<IBenchServer>;
  /** Keys produced by modules that ran earlier in this run. */
  results: Record<string, number | string | null>;
  /** Baseline (a): blocks of `print(1)` over raw ZMQ, pooled for the whole run; interleave them with measurements. */
  rawZmq: RawZmqSampler;
  /** A scratch folder for this run (removed at the end). */
  tmp: string;
  log(line: string): void;
}

/** A benchmark. */
export interface IBenchModule {
  /** Short name: `--only` selects by it; details are stored under it. */
  name: string;
  /** What it measures, one line. */
  title: string;
  run(ctx: IBenchContext): Promise<IModuleResult>;
}

/** `runs` split into `rounds` nearly equal blocks (for interleaving). */
export function splitRuns(runs: number, rounds = 4): number[] {
  const n = Math.max(1, Math.min(rounds, runs));
  return Array.from({ length: n }, (_, i) => Math.floor(runs / n) + (i < runs % n ? 1 : 0));
}

/** Start a private server with the bridge extension, TCP_NODELAY on or off (AIEV_KERNEL_NODELAY). */
export async function startBenchServer(nodelay: boolean): Promise<IBenchServer> {
  const server = await startLocalJupyterServer({ jupyter: JUPYTER, env: { AIEV_KERNEL_NODELAY: nodelay ? '1' : '0' } });
  return { ...server, settings: settingsFor(server.baseUrl, server.token), nodelay, stop: server.stop };
}

/** Run a process to its end; its stdout, stderr and exit code. Rejects when it cannot start. */
export function runProcess(
  command: string,
  args: string[],
  options: SpawnOptions = {}
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', chunk => (stdout += chunk));
    child.stderr!.on('data', chunk => (stderr += chunk));
    child.once('error', reject);
    child.once('close', code => resolvePromise({ code, stdout, stderr }));
  });
}

/** Format milliseconds with p90: "6.21 ms (p90 7.90)". */
export function msWithP90(s: IStats): string {
  return `${fmt(s.median)} ms (p90 ${fmt(s.p90)})`;
}

/** Two decimals below 100, none above. */
export function fmt(x: number | null | undefined): string {
  if (x == null) {
    return 'n/a';
  }
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2);
}
