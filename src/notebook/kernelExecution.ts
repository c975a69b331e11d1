/**
 * One execution on a Jupyter kernel and everything that can go wrong with it, for both notebook drivers: the
 * request (no stdin, so input()/getpass fail at once), IOPub into one `OutputCollector`, the time limit and an
 * abort (interrupt, wait for idle, restart when the kernel will not stop), kernel death (wait for the server's
 * restart, reconnect, restart by hand as a last resort), the server's IOPub rate limit (`truncated`), and the
 * driver being lost mid-run (the run ends at once and says why).
 */
import { Kernel, KernelMessage } from '@jupyterlab/services';

import { errorSummary, OutputCollector } from './outputCollector';
import { IExecuteOptions, IExecutionOutcome, IKernelFacts, ISilentResult } from './tokens';

/** Options of a `KernelExecutor`. */
export interface IKernelExecutorOptions {
  /** The kernel connection to run on. */
  kernel: Kernel.IKernelConnection;
  /** The driver's own restart: restart the kernel and resolve once it is idle. */
  restart: () => Promise<void>;
  /** The driver's `lost` signal (its reason a `DriverLostError`): a run ends at once when it aborts. */
  lost: AbortSignal;
  /** Raw output bytes kept per execution (the collector's cap). */
  outputsCapBytes?: number;
  /** After an interrupt, how long to wait for the kernel to go idle before restarting it; default 10 s. */
  interruptGraceMs?: number;
}

/** The outcome of one execution, before the driver names its cell. */
export type IKernelRun = Omit<IExecutionOutcome, 'cellId'>;

/** Options of `KernelExecutor.execute`. */
export interface IKernelRunOptions extends IExecuteOptions {
  /** Called after every IOPub message the collector took: a live view of the outputs so far. */
  onOutput?: (collector: OutputCollector) => void;
}

/** What Jupyter Server writes to stderr when its IOPub rate limit drops output on the way to us. */
const SERVER_RATE_LIMIT = /^IOPub (data|message) rate exceeded\./m;

const KERNEL_GONE: ReadonlySet<Kernel.Status> = new Set(['dead', 'autorestarting', 'restarting']);

type ExecuteFuture = Kernel.IShellFuture<KernelMessage.IExecuteRequestMsg, KernelMessage.IExecuteReplyMsg>;

/** How the wait for an execution ended. */
interface IEnding {
  status: IExecutionOutcome['status'];
  reply?: KernelMessage.IExecuteReplyMsg;
  recovery?: string;
}

/** Runs code on one kernel connection and survives what the kernel does meanwhile (see the module doc). */
export class KernelExecutor {
  constructor(private readonly _options: IKernelExecutorOptions) {}

  /** Run `code` as a cell would (stored in history); resolves with the outcome whatever happens. */
  async execute(code: string, options: IKernelRunOptions): Promise<IKernelRun> {
    const startedAt = new Date();
    const collector = new OutputCollector({ capBytes: this._options.outputsCapBytes });
    let stdinRequested = false;
    let serverDroppedOutput = false;
    const kernel = this._options.kernel;
    const future = this._options.lost.aborted
      ? null
      : request(kernel, { code, silent: false, store_history: true, stop_on_error: false });
    let ending: IEnding;
    if (future === null) {
      ending = { status: 'interrupted', recovery: lostRecovery(this._options.lost) };
    } else if (future instanceof Error) {
      ending = { status: 'kernel_died', recovery: `The kernel cannot run code (${future.message}).` };
    } else {
      future.onIOPub = msg => {
        collector.add(msg);
        if (KernelMessage.isErrorMsg(msg)) {
          stdinRequested ||= msg.content.ename === 'StdinNotImplementedError';
        } else if (KernelMessage.isStreamMsg(msg) && msg.content.name === 'stderr') {
          serverDroppedOutput ||= SERVER_RATE_LIMIT.test(msg.content.text);
        }
        options.onOutput?.(collector);
      };
      ending = await this._awaitEnd(kernel, future, options);
      future.onIOPub = () => undefined;
    }
    let status = ending.status;
    let executionCount: number | null = null;
    if (ending.reply) {
      executionCount = ending.reply.content.execution_count ?? null;
      if (status === 'ok' && ending.reply.content.status !== 'ok') {
        status = 'error';
      }
    }
    const outputs = collector.outputs();
    return {
      status,
      executionCount,
      outputs,
      truncated: collector.truncated || serverDroppedOutput,
      totalBytes: collector.totalBytes,
      error: status === 'error' ? errorSummary(outputs) : undefined,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      stdinRequested,
      recovery: ending.recovery
    };
  }

  /** Run code silently (no history, no execution count) and collect its stdout. */
  async executeSilent(code: string, timeoutMs = 60000): Promise<ISilentResult> {
    const { lost, kernel } = this._options;
    if (lost.aborted) {
      return { status: 'error', stdout: '', error: { ename: 'DriverLostError', evalue: lostMessage(lost) } };
    }
    const future = request(kernel, { code, silent: true, store_history: false });
    if (future instanceof Error) {
      return { status: 'error', stdout: '', error: { ename: 'KernelError', evalue: future.message } };
    }
    let stdout = '';
    let error: ISilentResult['error'];
    future.onIOPub = msg => {
      if (KernelMessage.isStreamMsg(msg) && msg.content.name === 'stdout') {
        stdout += msg.content.text;
      } else if (KernelMessage.isErrorMsg(msg)) {
        error = { ename: msg.content.ename, evalue: msg.content.evalue };
      }
    };
    const ending = await this._awaitEnd(kernel, future, { timeoutMs });
    if (ending.status === 'interrupted' && lost.aborted) {
      return { status: 'error', stdout, error: { ename: 'DriverLostError', evalue: lostMessage(lost) } };
    }
    const status = ending.status === 'ok' && !error ? 'ok' : ending.status === 'timeout' ? 'timeout' : 'error';
    return { status, stdout, error };
  }

  /**
   * Wait for an execution to finish, time out, be aborted, lose its kernel or its driver. A timeout or abort
   * interrupts the kernel and waits for idle; a kernel that stays busy is restarted. A dead kernel is brought back.
   * Losing the driver ends the wait at once, also in the middle of a recovery.
   */
  private async _awaitEnd(
    kernel: Kernel.IKernelConnection,
    future: ExecuteFuture,
    options: IExecuteOptions
  ): Promise<IEnding> {
    type Ending = 'done' | 'timeout' | 'aborted' | 'died' | 'lost';
    const lost = this._options.lost;
    let onStatus: ((_: unknown, status: Kernel.Status) => void) | undefined;
    let onAbort: (() => void) | undefined;
    let onLost: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = future.done.then(
      reply => ({ ending: 'done' as Ending, reply }),
      () => ({ ending: 'died' as Ending, reply: undefined })
    );
    const interruption = new Promise<{ ending: Ending; reply: undefined }>(resolve => {
      timer = setTimeout(() => resolve({ ending: 'timeout', reply: undefined }), options.timeoutMs);
      onStatus = (_, status) => {
        if (KERNEL_GONE.has(status)) {
          resolve({ ending: 'died', reply: undefined });
        }
      };
      kernel.statusChanged.connect(onStatus);
      onLost = () => resolve({ ending: 'lost', reply: undefined });
      lost.addEventListener('abort', onLost, { once: true });
      if (options.signal) {
        onAbort = () => resolve({ ending: 'aborted', reply: undefined });
        if (options.signal.aborted) {
          onAbort();
        }
        options.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    const first = await Promise.race([done, interruption]);
    clearTimeout(timer);
    kernel.statusChanged.disconnect(onStatus!);
    lost.removeEventListener('abort', onLost!);
    if (onAbort) {
      options.signal?.removeEventListener('abort', onAbort);
    }

    switch (first.ending) {
      case 'done':
        return { status: 'ok', reply: first.reply };
      case 'lost':
        return { status: 'interrupted', recovery: lostRecovery(lost) };
      case 'died': {
        const recovery = await this._unlessLost(this._recoverDeadKernel(kernel));
        return recovery.lost ? recovery.ending : { status: 'kernel_died', recovery: recovery.text };
      }
      case 'timeout':
      case 'aborted': {
        const recovery = await this._unlessLost(this._interruptAndSettle(kernel, future));
        if (recovery.lost) {
          return recovery.ending;
        }
        const settled = await Promise.race([done, Promise.resolve(null)]);
        return { status: first.ending === 'timeout' ? 'timeout' : 'interrupted', reply: settled?.reply, recovery: recovery.text };
      }
    }
  }

  /** `recovery`'s text, or the lost ending when the driver is lost first (the recovery goes on unobserved). */
  private _unlessLost(recovery: Promise<string>): Promise<{ lost: false; text: string } | { lost: true; ending: IEnding }> {
    const lost = this._options.lost;
    let onLost: (() => void) | undefined;
    const whenLost = new Promise<{ lost: true; ending: IEnding }>(resolve => {
      onLost = () => resolve({ lost: true, ending: { status: 'interrupted', recovery: lostRecovery(lost) } });
      if (lost.aborted) {
        onLost();
      }
      lost.addEventListener('abort', onLost, { once: true });
    });
    const recovered = recovery.then(
      text => ({ lost: false as const, text }),
      (error: Error) => ({ lost: false as const, text: `The kernel could not be brought back (${error.message}).` })
    );
    return Promise.race([recovered, whenLost]).finally(() => lost.removeEventListener('abort', onLost!));
  }

  /** Interrupt, wait for the execute reply; restart the kernel when it does not come within the grace period. */
  private async _interruptAndSettle(kernel: Kernel.IKernelConnection, future: ExecuteFuture): Promise<string> {
    const graceMs = this._options.interruptGraceMs ?? 10000;
    await kernel.interrupt().catch(() => undefined);
    const settled = await Promise.race([
      future.done.then(
        () => true,
        () => false
      ),
      new Promise<boolean>(resolve => setTimeout(() => resolve(false), graceMs))
    ]);
    if (settled) {
      await untilIdle(kernel, graceMs);
      return 'The kernel was interrupted (KeyboardInterrupt) and is idle again; its state is kept.';
    }
    await this._options.restart();
    return `The kernel did not stop within ${graceMs / 1000} s of an interrupt and was restarted: all variables and imports are lost.`;
  }

  /**
   * After the kernel died: the server restarts it, and the client reconnects by itself, but a reconnect that lands
   * while the server is still restarting listens to the dead process and hears nothing. So: wait briefly for
   * `idle`; otherwise reconnect and probe with kernel_info until the new kernel answers; restart as a last resort.
   */
  private async _recoverDeadKernel(kernel: Kernel.IKernelConnection): Promise<string> {
    const lost = 'its state is lost (all variables and imports); re-run what you need.';
    const deadline = Date.now() + 60000;
    let answered = await untilIdle(kernel, 3000).then(
      () => true,
      () => false
    );
    while (!answered && Date.now() < deadline && !kernel.isDisposed && !this._options.lost.aborted) {
      answered = await kernel
        .reconnect()
        .then(() => withTimeout(kernel.requestKernelInfo(), 5000))
        .then(
          reply => reply !== undefined,
          () => false
        );
    }
    if (answered) {
      return `The kernel died and was restarted: ${lost}`;
    }
    await this._options.restart();
    return `The kernel died and had to be restarted by hand: ${lost}`;
  }
}

/** An execute request with stdin refused; the error when the connection cannot send any more. */
function request(kernel: Kernel.IKernelConnection, content: KernelMessage.IExecuteRequestMsg['content']): ExecuteFuture | Error {
  try {
    return kernel.requestExecute({ ...content, allow_stdin: false });
  } catch (error) {
    return error as Error; // a kernel whose server restart failed: its connection is disposed
  }
}

/** Resolve once the kernel reports `idle`; reject after `timeoutMs`. */
export function untilIdle(kernel: Kernel.IKernelConnection, timeoutMs: number): Promise<void> {
  if (kernel.status === 'idle') {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const onStatus = (_: unknown, status: Kernel.Status) => {
      if (status === 'idle') {
        finish();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`kernel not idle within ${timeoutMs} ms (status ${kernel.status})`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      kernel.statusChanged.disconnect(onStatus);
    };
    kernel.statusChanged.connect(onStatus);
  });
}

/** What a kernel says about itself (its kernel_info reply). */
export async function kernelFacts(kernel: Kernel.IKernelConnection): Promise<IKernelFacts> {
  const info = (await kernel.info) as KernelMessage.IInfoReply;
  return {
    name: kernel.name,
    language: info.language_info.name,
    protocolVersion: info.protocol_version,
    implementationVersion: info.implementation_version
  };
}

/** The message of a lost signal's reason. */
export function lostMessage(lost: AbortSignal): string {
  return (lost.reason as Error | undefined)?.message ?? 'the notebook is no longer available';
}

/** The recovery text of an execution its driver lost. */
function lostRecovery(lost: AbortSignal): string {
  return `The run was stopped because ${lostMessage(lost)}.`;
}

/** `promise`, or a rejection after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
