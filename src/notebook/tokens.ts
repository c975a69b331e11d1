import type * as nbformat from '@jupyterlab/nbformat';

import type { ExecutionStatus } from '../trace/types';

/** A cell as the agent sees it: addressed by its nbformat id. */
export interface ICellSnapshot {
  id: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: string;
  execution_count: number | null;
  outputs: nbformat.IOutput[];
}

/** The result of running one cell on the kernel. */
export interface IExecutionOutcome {
  cellId: string;
  status: ExecutionStatus;
  executionCount: number | null;
  /** Raw nbformat outputs, capped (see `truncated`). */
  outputs: nbformat.IOutput[];
  truncated: boolean;
  /** Bytes of output the kernel sent, before any cap. */
  totalBytes: number;
  error?: { ename: string; evalue: string; traceback: string[] };
  startedAt: string;
  durationMs: number;
  /** The code asked for stdin; the driver refused it. */
  stdinRequested: boolean;
  /** For `timeout` / `kernel_died`: what the driver did about it, in words the model can read. */
  recovery?: string;
}

/** Result of a silent (introspection) execution: never in the notebook, always logged by the caller. */
export interface ISilentResult {
  status: 'ok' | 'error' | 'timeout';
  stdout: string;
  error?: { ename: string; evalue: string };
}

/** Facts the kernel reports about itself. */
export interface IKernelFacts {
  name: string;
  language: string;
  protocolVersion: string;
  implementationVersion: string;
}

/** Options of one execution. */
export interface IExecuteOptions {
  /** Interrupt the kernel after this many ms; the outcome is then `timeout`. */
  timeoutMs: number;
  /** Abort from outside (Ctrl-C, the stop button): the kernel is interrupted, the outcome is `interrupted`. */
  signal?: AbortSignal;
}

/**
 * The one seam between the agent and a notebook: the lab driver edits the open notebook panel, the headless
 * driver a notebook on a Jupyter server. Cells are addressed by id; edits keep ids and never rewrite the file.
 */
export interface INotebookDriver {
  /** Server path of the notebook. */
  readonly path: string;
  /** The cells, in order. */
  cells(): ICellSnapshot[];
  /** Append a code cell; returns its id. */
  appendCodeCell(source: string, metadata?: Record<string, unknown>): string;
  /** Replace a cell's source, keeping its id; throws `UnknownCellError` for an unknown id. */
  setCellSource(cellId: string, source: string): void;
  /** Remove a cell; throws `UnknownCellError` for an unknown id. */
  deleteCell(cellId: string): void;
  /** The cells as nbformat JSON (ids kept), for `restoreCells`. */
  cellsJSON(): nbformat.ICell[];
  /** Put back cells `cellsJSON` gave, in one transaction; the kernel is not touched. */
  restoreCells(cells: nbformat.ICell[]): void;
  /** Run a cell on the kernel; resolves with the outcome whatever happens (timeouts, death, stdin). */
  execute(cellId: string, options: IExecuteOptions): Promise<IExecutionOutcome>;
  /** Run code silently (no cell, no history) and collect stdout; for environment capture and install diffs. */
  executeSilent(code: string, timeoutMs?: number): Promise<ISilentResult>;
  /** Restart the kernel and wait until it is idle. */
  restartKernel(): Promise<void>;
  /** Kernel identity. */
  kernelFacts(): Promise<IKernelFacts>;
  /** Persist the notebook (headless: through the contents API). */
  save(): Promise<void>;
  /** The notebook as nbformat JSON. */
  toJSON(): nbformat.INotebookContent;
  /**
   * Aborted, with a `DriverLostError` as its reason, once the driver can no longer serve the session: its notebook
   * was closed, or its kernel was changed, shut down or restarted by someone else (a restart the driver made
   * itself, or the server's restart of a kernel that died during an execution, does not count). A session stops its
   * run on it, saves the record and tells the user the reason's message.
   */
  readonly lost: AbortSignal;
  /**
   * Release what the driver holds. The headless driver shuts its kernel session down (it started it); the lab
   * driver leaves the user's kernel running and only disconnects its listeners.
   */
  dispose(): Promise<void>;
}

/** Why a driver was lost (the reason of `INotebookDriver.lost`); the message is for the user. */
export class DriverLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriverLostError';
  }
}

/** A driver could not be opened on a notebook (no kernel, a dead kernel, closed); the message says what to do. */
export class NotebookUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookUnavailableError';
  }
}

/** A tool named a cell id the notebook does not have. */
export class UnknownCellError extends Error {
  constructor(readonly cellId: string) {
    super(`no cell with id '${cellId}'`);
    this.name = 'UnknownCellError';
  }
}
