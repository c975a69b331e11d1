import type * as nbformat from '@jupyterlab/nbformat';
import { YCodeCell, YNotebook } from '@jupyter/ydoc';
import {
  ContentsManager,
  Kernel,
  KernelManager,
  KernelMessage,
  ServerConnection,
  Session,
  SessionManager
} from '@jupyterlab/services';

import { OutputCollector, errorSummary } from './outputCollector';
import {
  ICellSnapshot,
  IExecuteOptions,
  IExecutionOutcome,
  IKernelFacts,
  INotebookDriver,
  ISilentResult,
  UnknownCellError
} from './tokens';

/** Options of `HeadlessNotebookDriver.open`. */
export interface IHeadlessDriverOptions {
  settings: ServerConnection.ISettings;
  /** Notebook path on the server; opened when it exists, created otherwise. */
  path: string;
  kernelName?: string;
  /** Raw output bytes kept per execution. */
  outputsCapBytes?: number;
  /** After an interrupt, how long to wait for the kernel to go idle before restarting it; default 10 s. */
  interruptGraceMs?: number;
}

/** What Jupyter Server writes to stderr when its IOPub rate limit drops output on the way to us. */
const SERVER_RATE_LIMIT = /^IOPub (data|message) rate exceeded\./m;

const KERNEL_GONE: ReadonlySet<Kernel.Status> = new Set(['dead', 'autorestarting', 'restarting']);

/**
 * A notebook on a Jupyter server, driven from Node: an `@jupyter/ydoc` notebook model, a kernel session from
 * `@jupyterlab/services`, saved through the contents API so every run leaves a real `.ipynb` on the server.
 */
export class HeadlessNotebookDriver implements INotebookDriver {
  private constructor(
    readonly path: string,
    private readonly _model: YNotebook,
    private readonly _contents: ContentsManager,
    private readonly _sessions: SessionManager,
    private readonly _kernels: KernelManager,
    private readonly _session: Session.ISessionConnection,
    private readonly _options: IHeadlessDriverOptions
  ) {}

  /** Open (or create) the notebook and start its kernel session; resolves once the kernel answered. */
  static async open(options: IHeadlessDriverOptions): Promise<HeadlessNotebookDriver> {
    const serverSettings = options.settings;
    const contents = new ContentsManager({ serverSettings });
    const model = YNotebook.create();
    const existing = await contents.get(options.path, { content: true, type: 'notebook' }).catch(() => null);
    if (existing) {
      model.fromJSON(existing.content as nbformat.INotebookContent);
    } else {
      model.metadata = {
        kernelspec: { name: options.kernelName ?? 'python3', display_name: 'Python 3' },
        language_info: { name: 'python' }
      };
      await contents.save(options.path, { type: 'notebook', format: 'json', content: model.toJSON() });
    }
    const kernels = new KernelManager({ serverSettings });
    const sessions = new SessionManager({ kernelManager: kernels, serverSettings });
    await sessions.ready;
    const session = await sessions.startNew({
      path: options.path,
      name: options.path.split('/').pop() ?? options.path,
      type: 'notebook',
      kernel: { name: options.kernelName ?? 'python3' }
    });
    await session.kernel!.info;
    return new HeadlessNotebookDriver(options.path, model, contents, sessions, kernels, session, options);
  }

  get lost(): AbortSignal {
    return this._lost.signal;
  }

  cells(): ICellSnapshot[] {
    return this._model.cells.map(cell => {
      const json = cell.toJSON() as nbformat.ICell;
      return {
        id: cell.id,
        cell_type: cell.cell_type as ICellSnapshot['cell_type'],
        source: cell.getSource(),
        execution_count: (json.execution_count as number | null | undefined) ?? null,
        outputs: (json.outputs as nbformat.IOutput[] | undefined) ?? []
      };
    });
  }

  appendCodeCell(source: string, metadata: Record<string, unknown> = {}): string {
    const cell = this._model.insertCell(this._model.cells.length, {
      cell_type: 'code',
      source,
      metadata: metadata as nbformat.ICodeCellMetadata
    });
    return cell.id;
  }

  setCellSource(cellId: string, source: string): void {
    this._codeCell(cellId).setSource(source);
  }

  async execute(cellId: string, options: IExecuteOptions): Promise<IExecutionOutcome> {
    const cell = this._codeCell(cellId);
    const kernel = this._kernel();
    const startedAt = new Date();
    const collector = new OutputCollector({ capBytes: this._options.outputsCapBytes });
    cell.setOutputs([]);
    cell.execution_count = null;

    const future = kernel.requestExecute({
      code: cell.getSource(),
      silent: false,
      store_history: true,
      allow_stdin: false,
      stop_on_error: false
    });
    let stdinRequested = false;
    let serverDroppedOutput = false;
    future.onIOPub = msg => {
      collector.add(msg);
      if (KernelMessage.isErrorMsg(msg)) {
        stdinRequested ||= msg.content.ename === 'StdinNotImplementedError';
      } else if (KernelMessage.isStreamMsg(msg) && msg.content.name === 'stderr') {
        serverDroppedOutput ||= SERVER_RATE_LIMIT.test(msg.content.text);
      }
    };

    const ending = await this._awaitEnd(kernel, future, options);
    let status = ending.status;
    let executionCount: number | null = null;
    if (ending.reply) {
      executionCount = ending.reply.content.execution_count ?? null;
      if (status === 'ok' && ending.reply.content.status !== 'ok') {
        status = 'error';
      }
    }
    const outputs = collector.outputs();
    cell.setOutputs(outputs as nbformat.IOutput[]);
    cell.execution_count = executionCount;
    const error = status === 'error' ? errorSummary(outputs) : undefined;
    return {
      cellId,
      status,
      executionCount,
      outputs,
      truncated: collector.truncated || serverDroppedOutput,
      totalBytes: collector.totalBytes,
      error,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      stdinRequested,
      recovery: ending.recovery
    };
  }

  async executeSilent(code: string, timeoutMs = 60000): Promise<ISilentResult> {
    const kernel = this._kernel();
    const future = kernel.requestExecute({ code, silent: true, store_history: false, allow_stdin: false });
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
    const status = ending.status === 'ok' && !error ? 'ok' : ending.status === 'timeout' ? 'timeout' : 'error';
    return { status, stdout, error };
  }

  async restartKernel(): Promise<void> {
    const kernel = this._kernel();
    await kernel.restart();
    await this._untilIdle(kernel, 60000);
  }

  async kernelFacts(): Promise<IKernelFacts> {
    const kernel = this._kernel();
    const info = (await kernel.info) as KernelMessage.IInfoReply;
    return {
      name: kernel.name,
      language: info.language_info.name,
      protocolVersion: info.protocol_version,
      implementationVersion: info.implementation_version
    };
  }

  async save(): Promise<void> {
    await this._contents.save(this.path, { type: 'notebook', format: 'json', content: this.toJSON() });
  }

  toJSON(): nbformat.INotebookContent {
    return this._model.toJSON();
  }

  async dispose(): Promise<void> {
    try {
      await this._session.shutdown();
    } finally {
      this._sessions.dispose();
      this._kernels.dispose();
      this._contents.dispose();
      this._model.dispose();
    }
  }

  /**
   * Wait for an execution to finish, time out, be aborted or lose its kernel. A timeout or abort interrupts the
   * kernel and waits for idle; a kernel that stays busy is restarted. A dead kernel is brought back.
   */
  private async _awaitEnd(
    kernel: Kernel.IKernelConnection,
    future: Kernel.IShellFuture<KernelMessage.IExecuteRequestMsg, KernelMessage.IExecuteReplyMsg>,
    options: IExecuteOptions
  ): Promise<{
    status: IExecutionOutcome['status'];
    reply?: KernelMessage.IExecuteReplyMsg;
    recovery?: string;
  }> {
    type Ending = 'done' | 'timeout' | 'aborted' | 'died';
    let onStatus: ((_: unknown, status: Kernel.Status) => void) | undefined;
    let onAbort: (() => void) | undefined;
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
    if (onAbort) {
      options.signal?.removeEventListener('abort', onAbort);
    }

    switch (first.ending) {
      case 'done':
        return { status: 'ok', reply: first.reply };
      case 'died':
        return { status: 'kernel_died', recovery: await this._recoverDeadKernel(kernel) };
      case 'timeout':
      case 'aborted': {
        const status = first.ending === 'timeout' ? 'timeout' : 'interrupted';
        const recovery = await this._interruptAndSettle(kernel, future);
        const settled = await Promise.race([done, Promise.resolve(null)]);
        return { status, reply: settled?.reply, recovery };
      }
    }
  }

  /** Interrupt, wait for the execute reply; restart the kernel when it does not come within the grace period. */
  private async _interruptAndSettle(
    kernel: Kernel.IKernelConnection,
    future: Kernel.IShellFuture<KernelMessage.IExecuteRequestMsg, KernelMessage.IExecuteReplyMsg>
  ): Promise<string> {
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
      await this._untilIdle(kernel, graceMs);
      return 'The kernel was interrupted (KeyboardInterrupt) and is idle again; its state is kept.';
    }
    await this.restartKernel();
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
    let answered = await this._untilIdle(kernel, 3000).then(
      () => true,
      () => false
    );
    while (!answered && Date.now() < deadline && !kernel.isDisposed) {
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
    await this.restartKernel();
    return `The kernel died and had to be restarted by hand: ${lost}`;
  }

  /** Resolve once the kernel reports `idle`; reject after `timeoutMs`. */
  private _untilIdle(kernel: Kernel.IKernelConnection, timeoutMs: number): Promise<void> {
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

  private readonly _lost = new AbortController();

  private _kernel(): Kernel.IKernelConnection {
    const kernel = this._session.kernel;
    if (!kernel) {
      throw new Error('the notebook session has no kernel');
    }
    return kernel;
  }

  private _codeCell(cellId: string): YCodeCell {
    const cell = this._model.cells.find(c => c.id === cellId);
    if (!cell) {
      throw new UnknownCellError(cellId);
    }
    if (cell.cell_type !== 'code') {
      throw new Error(`cell '${cellId}' is a ${cell.cell_type} cell, not code`);
    }
    return cell as YCodeCell;
  }
}

/** `promise`, or a rejection after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
