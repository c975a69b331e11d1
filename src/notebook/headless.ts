import type * as nbformat from '@jupyterlab/nbformat';
import { YNotebook } from '@jupyter/ydoc';
import {
  ContentsManager,
  KernelManager,
  ServerConnection,
  Session,
  SessionManager
} from '@jupyterlab/services';

import { IKernelDriverOptions, KernelBoundDriver } from './kernelDriver';
import { appendCodeCell, cellsJSON, cellSnapshots, codeCellById, deleteCell, restoreCells } from './sharedCells';
import { ICellSnapshot, IExecuteOptions, IExecutionOutcome, INotebookDriver } from './tokens';

/** Options of `HeadlessNotebookDriver.open`. */
export interface IHeadlessDriverOptions extends IKernelDriverOptions {
  settings: ServerConnection.ISettings;
  /** Notebook path on the server; opened when it exists, created otherwise. */
  path: string;
  kernelName?: string;
}

/**
 * A notebook on a Jupyter server, driven from Node: an `@jupyter/ydoc` notebook model, a kernel session from
 * `@jupyterlab/services`, saved through the contents API so every run leaves a real `.ipynb` on the server.
 * Lost when its kernel session is deleted, its kernel changed, shut down or restarted by someone else.
 */
export class HeadlessNotebookDriver extends KernelBoundDriver implements INotebookDriver {
  private constructor(
    readonly path: string,
    private readonly _model: YNotebook,
    private readonly _contents: ContentsManager,
    private readonly _sessions: SessionManager,
    private readonly _kernels: KernelManager,
    private readonly _session: Session.ISessionConnection,
    options: IHeadlessDriverOptions
  ) {
    super(_session.kernel!, options);
    _session.disposed.connect(this._onSessionDisposed, this);
    _session.kernelChanged.connect(this._onKernelChanged, this);
  }

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

  cells(): ICellSnapshot[] {
    return cellSnapshots(this._model);
  }

  appendCodeCell(source: string, metadata: Record<string, unknown> = {}): string {
    return appendCodeCell(this._model, source, metadata);
  }

  setCellSource(cellId: string, source: string): void {
    codeCellById(this._model, cellId).setSource(source);
  }

  deleteCell(cellId: string): void {
    deleteCell(this._model, cellId);
  }

  cellsJSON(): nbformat.ICell[] {
    return cellsJSON(this._model);
  }

  restoreCells(cells: nbformat.ICell[]): void {
    restoreCells(this._model, cells);
  }

  async execute(cellId: string, options: IExecuteOptions): Promise<IExecutionOutcome> {
    const cell = codeCellById(this._model, cellId);
    cell.setOutputs([]);
    cell.execution_count = null;
    const run = await this._executor.execute(cell.getSource(), options);
    cell.setOutputs(run.outputs);
    cell.execution_count = run.executionCount;
    return { cellId, ...run };
  }

  async save(): Promise<void> {
    await this._contents.save(this.path, { type: 'notebook', format: 'json', content: this.toJSON() });
  }

  toJSON(): nbformat.INotebookContent {
    return this._model.toJSON();
  }

  async dispose(): Promise<void> {
    this._stopWatching();
    this._session.disposed.disconnect(this._onSessionDisposed, this);
    this._session.kernelChanged.disconnect(this._onKernelChanged, this);
    try {
      // After a loss the session may be gone already (deleted, its kernel shut down).
      await this._session.shutdown().catch(error => {
        if (!this.lost.aborted) {
          throw error;
        }
      });
    } finally {
      this._sessions.dispose();
      this._kernels.dispose();
      this._contents.dispose();
      this._model.dispose();
    }
  }

  private _onSessionDisposed(): void {
    this._lose("the notebook's kernel session was deleted");
  }

  private _onKernelChanged(): void {
    this._lose("the notebook's kernel was changed");
  }

  protected _requestRestart(): Promise<void> {
    return this._kernel.restart();
  }
}
