/**
 * Baseline (a), shared by the run: one Python process (bench/raw_zmq.py --serve) keeps a kernel and runs blocks of
 * `print(1)` over ZMQ with jupyter_client on request. Modules interleave baseline blocks with what they measure;
 * every block's samples are pooled, and the pool's median is `raw_zmq_rtt_ms`, the denominator of every latency
 * ratio in results.json.
 */
import { ChildProcess, spawn } from 'child_process';
import { createInterface, Interface } from 'readline';

import { PYTHON, ROOT } from './common';

/** One block's raw measurements. */
export interface IRawBlock {
  samples_ms: number[];
  kernel_busy_to_idle_ms: number[];
  arrivals_ms: Record<string, number[]>;
}

export class RawZmqSampler {
  /** Every block taken so far, in order. */
  readonly blocks: IRawBlock[] = [];

  constructor(
    private readonly _warmups: number,
    private readonly _env: NodeJS.ProcessEnv
  ) {}

  /** Run `runs` executions (starting the kernel process on first use); the block is also added to the pool. */
  async sample(runs: number): Promise<IRawBlock> {
    await this._start();
    this._child!.stdin!.write(`${runs}\n`);
    const block = JSON.parse(await this._nextLine()) as IRawBlock;
    this.blocks.push(block);
    return block;
  }

  /** All pooled samples. */
  samples(): number[] {
    return this.blocks.flatMap(b => b.samples_ms);
  }

  async stop(): Promise<void> {
    const child = this._child;
    if (!child || child.exitCode !== null) {
      return;
    }
    await new Promise<void>(resolve => {
      child.once('exit', () => resolve());
      child.stdin!.end(); // EOF: the script shuts its kernel down and exits
      setTimeout(() => child.kill('SIGTERM'), 15000).unref();
    });
  }

  private async _start(): Promise<void> {
    if (this._child) {
      return;
    }
    this._child = spawn(PYTHON, [`${ROOT}/bench/raw_zmq.py`, '--serve', '--warmups', String(this._warmups)], {
      env: this._env,
      stdio: ['pipe', 'pipe', 'pipe']
    });
    this._child.stderr!.on('data', chunk => (this._stderr = (this._stderr + chunk).slice(-4000)));
    this._child.once('exit', code => {
      const waiting = this._waiting.splice(0);
      waiting.forEach(w => w.reject(new Error(`raw_zmq.py exited ${code}: ${this._stderr.trim().split('\n').slice(-5).join('\n')}`)));
    });
    this._lines = createInterface({ input: this._child.stdout! });
    this._lines.on('line', line => {
      const waiter = this._waiting.shift();
      if (waiter) {
        waiter.resolve(line);
      } else {
        this._buffered.push(line);
      }
    });
    const ready = JSON.parse(await this._nextLine());
    if (!ready.ready) {
      throw new Error(`raw_zmq.py: unexpected first line ${JSON.stringify(ready)}`);
    }
  }

  private _nextLine(): Promise<string> {
    const line = this._buffered.shift();
    if (line !== undefined) {
      return Promise.resolve(line);
    }
    return new Promise((resolve, reject) => this._waiting.push({ resolve, reject }));
  }

  private _child: ChildProcess | undefined;
  private _lines: Interface | undefined;
  private _stderr = '';
  private readonly _buffered: string[] = [];
  private readonly _waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
}
