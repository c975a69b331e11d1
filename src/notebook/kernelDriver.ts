/**
 * What both notebook drivers share: the one kernel connection a driver is bound to, the executor that runs code
 * on it, the watch that notices when it is taken away, and the `lost` signal.
 */
import type { Kernel } from '@jupyterlab/services';

import { KernelExecutor, kernelFacts } from './kernelExecution';
import { KernelWatch } from './kernelWatch';
import { DriverLostError, IKernelFacts, ISilentResult } from './tokens';

/** Options every driver takes for its kernel. */
export interface IKernelDriverOptions {
  /** Output bytes kept per execution (the collector's head + tail cap); default 5 MiB. */
  outputsCapBytes?: number;
  /** After an interrupt, how long to wait for the kernel to go idle before restarting it; default 10 s. */
  interruptGraceMs?: number;
}

/** The kernel half of an `INotebookDriver`; a driver adds its notebook model. */
export abstract class KernelBoundDriver {
  protected constructor(
    protected readonly _kernel: Kernel.IKernelConnection,
    options: IKernelDriverOptions
  ) {
    this._watch = new KernelWatch(_kernel, message => this._lose(message));
    this._executor = new KernelExecutor({
      kernel: _kernel,
      restart: () => this.restartKernel(),
      lost: this.lost,
      outputsCapBytes: options.outputsCapBytes,
      interruptGraceMs: options.interruptGraceMs
    });
  }

  /** Aborted with a `DriverLostError` once the driver can no longer serve its session (see `INotebookDriver`). */
  get lost(): AbortSignal {
    return this._lost.signal;
  }

  executeSilent(code: string, timeoutMs?: number): Promise<ISilentResult> {
    return this._executor.executeSilent(code, timeoutMs);
  }

  /** Restart the kernel and wait until it is idle: the driver's own restart, which is no loss. */
  async restartKernel(): Promise<void> {
    if (this._lost.signal.aborted) {
      throw this._lost.signal.reason;
    }
    await this._watch.restart(() => this._requestRestart());
  }

  kernelFacts(): Promise<IKernelFacts> {
    return kernelFacts(this._kernel);
  }

  /** Ask for the restart (`restartKernel` waits for idle). */
  protected abstract _requestRestart(): Promise<void>;

  /** The driver is lost for `message` (the first reason stays). */
  protected _lose(message: string): void {
    if (!this._lost.signal.aborted) {
      this._lost.abort(new DriverLostError(message));
    }
  }

  /** Stop watching the kernel (on dispose). */
  protected _stopWatching(): void {
    this._watch.dispose();
  }

  protected readonly _executor: KernelExecutor;
  private readonly _watch: KernelWatch;
  private readonly _lost = new AbortController();
}
