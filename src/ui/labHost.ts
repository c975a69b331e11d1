/**
 * The sidebar's hold on JupyterLab: notebook panels as `INotebookRef`s, and agent sessions started on them with
 * the lab notebook driver, the `openai` client talking to the bridge's model proxy (the key stays on the
 * server), the event log streamed to the bridge's session store and the record stored there after every turn.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { version } from '../../package.json';
import { AgentSession } from '../agent/session';
import { runSource } from '../agent/source';
import { ChatClient } from '../llm/client';
import { LabNotebookDriver } from '../notebook/lab';
import { BridgeClient, bridgeFetch, modelProxyUrl } from '../request';
import type { ILogLine } from '../trace/eventLog';
import { candidateAttachmentNames } from '../trace/literals';
import type { ISample } from '../trace/types';
import { CellMarks, ICellMark } from './cellMarks';
import { BridgeLogSink } from './logSink';
import type { IAievHost, INotebookRef, IResolvedSettings, IStartOptions } from './model';
import type { IStartedSession } from './session';
import type { INotebookFacts } from './messages';

/** Options of `LabHost`. */
export interface ILabHostOptions {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  client: BridgeClient;
  serverSettings?: ServerConnection.ISettings;
}

/** A notebook panel as the sidebar sees it. */
export class PanelRef implements INotebookRef {
  constructor(
    readonly panel: NotebookPanel,
    private readonly _app: JupyterFrontEnd
  ) {}

  get path(): string {
    return this.panel.context.path;
  }

  get isOpen(): boolean {
    return !this.panel.isDisposed;
  }

  facts(): INotebookFacts {
    const { context, sessionContext } = this.panel;
    const writable = context.contentsModel?.writable ?? true;
    const kernel = sessionContext.session?.kernel;
    let kernelStatus: string | null = kernel ? kernel.status : null;
    if (!kernel && !sessionContext.isReady && !sessionContext.hasNoKernel) {
      kernelStatus = 'starting';
    }
    return { path: context.path, readOnly: !writable || Boolean(context.model?.readOnly), kernelStatus };
  }

  async runAllCells(): Promise<void> {
    this._app.shell.activateById(this.panel.id);
    await this._app.commands.execute('notebook:run-all-cells');
  }

  markCells(marks: readonly ICellMark[]): void {
    if (!this.panel.isDisposed) {
      this._marks ??= new CellMarks(this.panel);
      this._marks.set(marks);
    }
  }

  revealCell(cellId: string | null, callId: string): boolean {
    const notebook = this.panel.content;
    const index = notebook.widgets.findIndex(cell => {
      const aiev = cell.model.getMetadata('aiev') as { call_id?: string } | undefined;
      return (cellId !== null && cell.model.id === cellId) || aiev?.call_id === callId;
    });
    if (index < 0) {
      return false;
    }
    this._app.shell.activateById(this.panel.id);
    notebook.deselectAll();
    notebook.activeCellIndex = index;
    void notebook.scrollToItem(index, 'center');
    return true;
  }

  private _marks: CellMarks | null = null;
}

/** `IAievHost` on a JupyterLab application and its notebook tracker. */
export class LabHost implements IAievHost {
  constructor(private readonly _options: ILabHostOptions) {
    _options.tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged();
  }

  /** The active notebook changed, or was renamed. */
  get activeNotebookChanged(): ISignal<this, void> {
    return this._activeChanged;
  }

  activeNotebook(): INotebookRef | null {
    const panel = this._options.tracker.currentWidget;
    return panel ? this._ref(panel) : null;
  }

  async openNotebook(path: string): Promise<INotebookRef> {
    let panel = this._options.tracker.find(widget => widget.context.path === path);
    if (!panel) {
      panel = (await this._options.app.commands.execute('docmanager:open', { path, factory: 'Notebook' })) as NotebookPanel;
    }
    await panel.context.ready;
    return this._ref(panel);
  }

  async startSession(notebook: INotebookRef, settings: IResolvedSettings, start: IStartOptions): Promise<IStartedSession> {
    const { panel } = notebook as PanelRef;
    await panel.sessionContext.ready;
    const serverSettings = this._options.serverSettings ?? ServerConnection.makeSettings();
    const driver = await LabNotebookDriver.open(panel, {});
    // Files written since the session started are its own output, not attachments (by the server's clock).
    const startedAt = await this._options.client.sessionStart(start.lines);
    const sink = new BridgeLogSink({
      client: this._options.client,
      id: start.lines ? headerId(start.lines) : undefined,
      history: start.lines
    });
    const options = {
      driver,
      client: new ChatClient({
        baseURL: modelProxyUrl(serverSettings),
        apiKey: 'kept-on-the-server',
        model: settings.model,
        stream: true,
        fetch: bridgeFetch(serverSettings)
      }),
      sink,
      source: runSource({
        app: 'jupyterlab-aiev/lab',
        appVersion: version,
        model: settings.model,
        baseUrl: `http://${settings.providerHost}`,
        toolMode: settings.toolMode,
        stream: true,
        notebookPath: notebook.path
      }),
      toolMode: settings.toolMode,
      maxSteps: settings.maxSteps,
      cellTimeoutMs: settings.cellTimeout * 1000,
      budgetChars: settings.budgetChars,
      vision: settings.vision,
      save: (record: ISample) => this._options.client.putRecord(record.id, record),
      // The files beside the notebook that its code names, hashed on the server: what a replay copies there.
      attachments: (codes: string[]) => this._options.client.attachments(notebook.path, candidateAttachmentNames(codes), startedAt),
      approvalMode: settings.approvalMode,
      verifyGate: settings.verifyGate
        ? { replayer: { replay: async (record: ISample) => ({ verification: await this._options.client.verify(record), where: 'server' }) } }
        : undefined
    };
    try {
      const session = start.lines
        ? await AgentSession.resume(options, start.lines)
        : await AgentSession.start({ ...options, prompt: start.prompt });
      return {
        session,
        save: sink,
        dispose: async () => {
          await sink.flush();
          sink.dispose();
          await driver.dispose();
        }
      };
    } catch (error) {
      sink.dispose();
      await driver.dispose().catch(() => undefined);
      throw error;
    }
  }

  private _onCurrentChanged(): void {
    this._watched?.context.pathChanged.disconnect(this._emitChanged, this);
    this._watched = this._options.tracker.currentWidget;
    this._watched?.context.pathChanged.connect(this._emitChanged, this);
    this._emitChanged();
  }

  private _emitChanged(): void {
    this._activeChanged.emit();
  }

  private _ref(panel: NotebookPanel): PanelRef {
    let ref = this._refs.get(panel);
    if (!ref) {
      ref = new PanelRef(panel, this._options.app);
      this._refs.set(panel, ref);
    }
    return ref;
  }

  private readonly _refs = new WeakMap<NotebookPanel, PanelRef>();
  private readonly _activeChanged = new Signal<this, void>(this);
  private _watched: NotebookPanel | null = null;
}

function headerId(lines: ILogLine[]): string | undefined {
  const header = lines.find(line => line.kind === 'header');
  return (header?.payload as { id?: string } | undefined)?.id;
}
