import type { YNotebook } from '@jupyter/ydoc';
import type { ICodeCellModel } from '@jupyterlab/cells';
import type * as nbformat from '@jupyterlab/nbformat';
import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelAPI } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { IKernelDriverOptions, KernelBoundDriver } from './kernelDriver';
import { LiveOutputs } from './liveOutputs';
import { appendCodeCell, cellsJSON, cellSnapshots, codeCellById, deleteCell, restoreCells } from './sharedCells';
import {
  DriverLostError,
  ICellSnapshot,
  IExecuteOptions,
  IExecutionOutcome,
  INotebookDriver,
  NotebookUnavailableError
} from './tokens';

/**
 * Options of `LabNotebookDriver.open`: `outputsCapBytes` (bytes kept per execution, in the record and in the
 * cell alike: head + tail; default 5 MiB), `interruptGraceMs` (default 10 s) and `throttleMs`.
 */
export interface ILabDriverOptions extends IKernelDriverOptions {
  /** Shortest interval between two refreshes of a running cell's outputs, in ms; default 100. */
  throttleMs?: number;
}

/**
 * The notebook a user has open in JupyterLab, driven by the agent: cells are inserted and edited in the panel's
 * shared model (the user sees each appear), run on the panel's own kernel with the cell showing `[*]` and its
 * outputs rendered live by the notebook, and saved through the document context.
 *
 * Bound to the panel and kernel it was opened on (it never looks at the active widget): it is `lost` when the
 * panel is closed, its kernel changed or shut down, or the kernel restarted by anyone but the driver; a running
 * execution then ends at once as `interrupted`, saying why. `dispose()` leaves the kernel running.
 */
export class LabNotebookDriver extends KernelBoundDriver implements INotebookDriver {
  private constructor(
    private readonly _panel: NotebookPanel,
    kernel: Kernel.IKernelConnection,
    private readonly _options: ILabDriverOptions
  ) {
    super(kernel, _options);
    this._model = _panel.content.model!;
    _panel.disposed.connect(this._onClosed, this);
    _panel.sessionContext.disposed.connect(this._onClosed, this);
    _panel.sessionContext.kernelChanged.connect(this._onKernelChanged, this);
  }

  /**
   * A driver for `panel` once its document and kernel session are ready. Fails with a
   * `NotebookUnavailableError` saying what to do when the notebook has no kernel or its kernel is dead.
   */
  static async open(panel: NotebookPanel, options: ILabDriverOptions = {}): Promise<LabNotebookDriver> {
    await panel.context.ready;
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session?.kernel;
    if (panel.isDisposed || !panel.content.model) {
      throw new NotebookUnavailableError('the notebook was closed');
    }
    if (!kernel) {
      throw new NotebookUnavailableError('the notebook has no kernel: start one from the Kernel menu');
    }
    if (kernel.status === 'dead') {
      throw new NotebookUnavailableError("the notebook's kernel is dead: restart it from the Kernel menu");
    }
    return new LabNotebookDriver(panel, kernel, options);
  }

  /** The notebook's path now (it follows a rename). */
  get path(): string {
    return this._panel.context.path;
  }

  cells(): ICellSnapshot[] {
    return cellSnapshots(this._sharedModel());
  }

  appendCodeCell(source: string, metadata: Record<string, unknown> = {}): string {
    return appendCodeCell(this._editableModel(), source, metadata);
  }

  setCellSource(cellId: string, source: string): void {
    codeCellById(this._editableModel(), cellId).setSource(source);
  }

  deleteCell(cellId: string): void {
    deleteCell(this._editableModel(), cellId);
  }

  cellsJSON(): nbformat.ICell[] {
    return cellsJSON(this._sharedModel());
  }

  restoreCells(cells: nbformat.ICell[]): void {
    restoreCells(this._editableModel(), cells);
  }

  /** Run a cell as JupyterLab's own `CodeCell.execute` shows it, with the outputs from the executor's collector. */
  async execute(cellId: string, options: IExecuteOptions): Promise<IExecutionOutcome> {
    const cell = this._codeCellModel(cellId);
    const live = new LiveOutputs(cell.outputs, this._options.throttleMs);
    cell.sharedModel.transact(() => cell.clearExecution(), false);
    cell.executionState = 'running';
    cell.trusted = true;
    this._running++;
    const run = await this._executor.execute(cell.sharedModel.getSource(), {
      ...options,
      onOutput: collector => live.update(collector)
    });
    this._running--;
    if (!cell.isDisposed) {
      live.finish(run.outputs);
      cell.executionCount = run.executionCount;
      cell.executionState = 'idle';
    }
    return { cellId, ...run };
  }

  /** Save through the document context, as the user's save does; nothing when it cannot save (read-only, closed). */
  async save(): Promise<void> {
    const context = this._panel.context;
    if (!context.isDisposed && context.canSave) {
      await context.save();
    }
  }

  /** The live model as nbformat; after the notebook was closed, the model as it was then. */
  toJSON(): nbformat.INotebookContent {
    if (!this._model.isDisposed) {
      return this._model.toJSON() as nbformat.INotebookContent;
    }
    return this._closedJSON ?? { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] };
  }

  /** Disconnect from the panel and kernel; the kernel keeps running. */
  async dispose(): Promise<void> {
    this._stopWatching();
    Signal.disconnectReceiver(this);
  }

  /** Through the panel's session context, as the Kernel menu does. */
  protected _requestRestart(): Promise<void> {
    return this._panel.sessionContext.restartKernel();
  }

  private _onClosed(): void {
    if (!this._model.isDisposed) {
      this._closedJSON = this._model.toJSON() as nbformat.INotebookContent;
    }
    if (this._running && !this.lost.aborted) {
      // The agent's cell must not go on in a kernel whose notebook is gone.
      void KernelAPI.interruptKernel(this._kernel.id, this._kernel.serverSettings).catch(() => undefined);
    }
    this._lose('the notebook was closed');
  }

  private _onKernelChanged(_: unknown, change: { newValue: Kernel.IKernelConnection | null }): void {
    if (change.newValue !== this._kernel) {
      this._lose(change.newValue ? "the notebook's kernel was changed" : 'the kernel was shut down');
    }
  }

  private _sharedModel(): INotebookModel['sharedModel'] {
    if (this._model.isDisposed) {
      throw this.lost.reason ?? new DriverLostError('the notebook was closed');
    }
    return this._model.sharedModel;
  }

  /**
   * The shared model, about to be edited: a notebook older than nbformat 4.5 is upgraded to it first, since
   * JupyterLab saves such notebooks without cell ids, and the record addresses cells by id.
   */
  private _editableModel(): INotebookModel['sharedModel'] {
    const model = this._sharedModel();
    if (model.nbformat === 4 && model.nbformat_minor < 5) {
      (model as YNotebook).nbformat_minor = 5; // JupyterLab's shared notebook model is a YNotebook
    }
    return model;
  }

  private _codeCellModel(cellId: string): ICodeCellModel {
    codeCellById(this._sharedModel(), cellId);
    for (const cell of this._model.cells) {
      if (cell.id === cellId) {
        return cell as ICodeCellModel;
      }
    }
    throw new Error(`cell '${cellId}' is in the shared model but not in the notebook model`);
  }

  private readonly _model: INotebookModel;
  private _closedJSON: nbformat.INotebookContent | null = null;
  /** Executions in progress. */
  private _running = 0;
}
