/**
 * The sidebar's state: the server's model configuration, the settings, the current conversation (bound to the
 * notebook it started on: switching tabs changes nothing), the past sessions of the active notebook, the
 * prompt's draft and the error to show. Views read it and call its methods; it signals every change.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import type { BridgeClient } from '../request';
import type { ApprovalMode } from '../agent/approvals';
import type { ICellMark } from './cellMarks';
import { ExportModel } from './exportModel';
import { DEFAULT_AGENT_SETTINGS, IAgentSettings, IAievModel, IBridgeConfig, ISessionSummary } from '../tokens';
import type { ILogLine } from '../trace/eventLog';
import { recordFromLines } from '../trace/recorder';
import { errorText, INotebookFacts, preflightProblem } from './messages';
import { reviewMarks } from './review';
import { IStartedSession, SessionModel } from './session';

/** A notebook the sidebar can bind a session to (a NotebookPanel in the lab). */
export interface INotebookRef {
  readonly path: string;
  /** False once the notebook was closed. */
  readonly isOpen: boolean;
  facts(): INotebookFacts;
  /** Scroll to the cell with `cellId` (or the one agent call `callId` wrote) and select it; false if not found. */
  revealCell(cellId: string | null, callId: string): boolean;
  /** Run every cell of the notebook as its Run All does. */
  runAllCells(): Promise<void>;
  /** Mark the cells waiting for review (and only those). */
  markCells(marks: readonly ICellMark[]): void;
}

/** The settings a session starts with, the model resolved. */
export interface IResolvedSettings extends IAgentSettings {
  model: string;
  /** Host of the model endpoint the server proxies (for the record's source). */
  providerHost: string;
}

/** How a session starts: with its first message, and for a continued session the event log so far. */
export interface IStartOptions {
  prompt: string;
  lines?: ILogLine[];
}

/** What the sidebar needs from the application. */
export interface IAievHost {
  /** The notebook the user works in now. */
  activeNotebook(): INotebookRef | null;
  readonly activeNotebookChanged: ISignal<unknown, unknown>;
  /** Find or open the notebook at `path`. */
  openNotebook(path: string): Promise<INotebookRef>;
  /** Start an agent session on `notebook` (or resume one from its event log), before its first message is sent. */
  startSession(notebook: INotebookRef, settings: IResolvedSettings, start: IStartOptions): Promise<IStartedSession>;
}

/** Options of `AievModel`. */
export interface IAievModelOptions {
  host: IAievHost;
  client: BridgeClient;
  trans: TranslationBundle;
}

/** Sidebar state: owns every fact the views show and signals its changes. */
export class AievModel implements IAievModel {
  constructor(private readonly _options: IAievModelOptions) {
    _options.host.activeNotebookChanged.connect(this._onActiveChanged, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when the prompt should take the keyboard focus. */
  get focusRequested(): ISignal<this, void> {
    return this._focusRequested;
  }

  get config(): IBridgeConfig | null {
    return this._config;
  }

  get settings(): IAgentSettings {
    return this._settings;
  }

  /** The conversation shown; null before the first message or after "New session" with no notebook open. */
  get current(): SessionModel | null {
    return this._current;
  }

  /** The approval mode of the current session, or of the next one (the settings', unless switched before it). */
  get approvalMode(): ApprovalMode {
    const live = this._current && this._current.phase !== 'readonly' ? this._current : null;
    return live ? live.approvalMode : (this._nextApprovalMode ?? this._settings.approvalMode);
  }

  set approvalMode(mode: ApprovalMode) {
    if (this._current && this._current.phase !== 'readonly') {
      this._current.approvalMode = mode;
    } else {
      this._nextApprovalMode = mode;
    }
    this._changed.emit();
  }

  /** The export view of the current session, while it is open. */
  get exportView(): ExportModel | null {
    return this._export;
  }

  /** Open the export view of the current session (it needs a record). */
  openExport(): void {
    const session = this._current;
    if (!session?.record() || this._export) {
      return;
    }
    this._export = new ExportModel({ client: this._options.client, notebookPath: session.notebookPath, record: () => session.record() });
    this._export.changed.connect(this._emitChanged, this);
    this._changed.emit();
  }

  closeExport(): void {
    this._export?.changed.disconnect(this._emitChanged, this);
    this._export = null;
    this._changed.emit();
  }

  /** Path of the notebook the sidebar is about: the current session's, else the active one's. */
  get notebookPath(): string | null {
    if (this._current) {
      return this._notebook?.path ?? this._current.notebookPath;
    }
    return this._options.host.activeNotebook()?.path ?? null;
  }

  /** Past sessions of the active notebook (the current one left out), and the notebook they belong to. */
  get history(): { path: string | null; sessions: ISessionSummary[] } {
    const id = this._current?.id;
    return { path: this._historyPath, sessions: this._history.filter(s => s.id !== id) };
  }

  get draft(): string {
    return this._draft;
  }

  /** The problem to show above the prompt (cannot start, bridge unreachable…); null when none. */
  get error(): string | null {
    return this._error ?? this._current?.error ?? null;
  }

  setDraft(text: string): void {
    this._draft = text;
    this._changed.emit();
  }

  dismissError(): void {
    this._error = null;
    this._changed.emit();
  }

  /** Settings changed (Settings Editor): applied to sessions started from now on. */
  setSettings(settings: Partial<IAgentSettings>): void {
    this._settings = { ...DEFAULT_AGENT_SETTINGS, ...settings };
    this._changed.emit();
  }

  /** Ask for the prompt to take the focus (the "ask" command). */
  requestFocus(): void {
    this._focusRequested.emit();
  }

  /** Load the server's configuration and the active notebook's past sessions. */
  async refresh(): Promise<void> {
    try {
      this._config = await this._options.client.config();
      if (this._error === this._bridgeError) {
        this._error = null;
      }
    } catch (error) {
      this._error = this._bridgeError = this._options.trans.__(
        'The jupyterlab-aiev server extension does not answer (%1). Check that it is installed and enabled (jupyter server extension list), then reload.',
        errorText(error, this._options.trans)
      );
    }
    this._changed.emit();
    await this.refreshHistory();
  }

  /** Reload the list of past sessions of the active notebook. */
  async refreshHistory(): Promise<void> {
    const path = this._options.host.activeNotebook()?.path ?? this._current?.notebookPath ?? null;
    const request = ++this._historyRequest;
    let sessions: ISessionSummary[] = [];
    try {
      sessions = path ? await this._options.client.sessions(path) : [];
    } catch {
      // The list is a convenience: an unreachable store is said by the save state and the config error.
    }
    if (request === this._historyRequest) {
      this._historyPath = path;
      this._history = sessions;
      this._changed.emit();
    }
  }

  /** Send the draft (or `text`); false (with `error` set) when the message cannot go to an agent now. */
  async send(text: string = this._draft): Promise<void> {
    this.trySend(text);
  }

  /** Like `send`, synchronously: whether the message was taken. */
  trySend(text: string = this._draft): boolean {
    if (!text.trim()) {
      return false;
    }
    const { trans } = this._options;
    if (this._current?.phase === 'readonly') {
      return this._fail(trans.__('This is a past session: press Continue to go on with it, or start a New session.'));
    }
    if (!this._current || this._current.phase === 'new' || this._current.phase === 'failed') {
      const notebook = this._current ? this._notebook : this._options.host.activeNotebook();
      if (this._current && !notebook?.isOpen) {
        return this._fail(
          trans.__('%1, the notebook of this session, is closed: open it again or start a New session.', this._current.notebookPath)
        );
      }
      const facts: INotebookFacts = notebook ? notebook.facts() : { path: null, readOnly: false, kernelStatus: null };
      const problem = preflightProblem(facts, this._config, this._resolved().model, trans);
      if (problem || !notebook) {
        return this._fail(problem ?? trans.__('Open a notebook first.'));
      }
      if (!this._current) {
        this._bind(notebook);
      }
    }
    this._error = null;
    this._draft = '';
    this._current!.send(text);
    this._changed.emit();
    return true;
  }

  /** Stop the running turn. */
  async stop(): Promise<void> {
    await this._current?.stop();
  }

  /** End the current session (saved, listed in the history) and bind a new one to the active notebook. */
  async newSession(): Promise<void> {
    await this._closeCurrent();
    const active = this._options.host.activeNotebook();
    if (active) {
      this._bind(active);
    }
    this._changed.emit();
    await this.refreshHistory();
  }

  /** Show a past session read-only (the current one is closed first; not while it runs). */
  async openPast(summary: ISessionSummary): Promise<void> {
    await this._guard(async () => {
      const lines = await this._options.client.events(summary.id);
      await this._closeCurrent();
      this._current = SessionModel.readonly(recordFromLines(lines), summary, this._options.trans);
      this._current.changed.connect(this._onSessionChanged, this);
      this._notebook = null;
    });
  }

  /** Continue a past (or cut) session: same record, on its notebook (opened if needed); it resumes on the next message. */
  async continuePast(summary: ISessionSummary): Promise<void> {
    await this._guard(async () => {
      const [lines, notebook] = await Promise.all([
        this._options.client.events(summary.id),
        this._options.host.openNotebook(summary.notebook_path)
      ]);
      await this._closeCurrent();
      this._bind(notebook, lines);
      // Continued at once, so that the cells it left to review are marked and listed again.
      this._current?.connect();
    });
    this.requestFocus();
  }

  /** After an undo: restart the session's kernel, then run the notebook's cells, so the kernel matches them. */
  async restartAndRunAll(): Promise<void> {
    const session = this._current;
    const notebook = this._notebook;
    await this._guard(async () => {
      await session?.restartKernel();
      if (notebook?.isOpen) {
        await notebook.runAllCells();
      }
    });
  }

  /** Scroll the bound notebook to the cell of an action card; false when it is not there any more. */
  revealCell(cellId: string | null, callId: string): boolean {
    return Boolean(this._notebook?.isOpen && this._notebook.revealCell(cellId, callId));
  }

  private _bind(notebook: INotebookRef, lines?: ILogLine[]): void {
    this._notebook = notebook;
    const settings = this._resolved();
    this._current = SessionModel.live({
      notebookPath: notebook.path,
      start: prompt => this._options.host.startSession(notebook, this._resolved(), { prompt, lines }),
      steps: lines ? recordFromLines(lines).steps : [],
      trans: this._options.trans,
      maxSteps: settings.maxSteps,
      keyEnv: this._config?.key_env,
      approvalMode: this._nextApprovalMode ?? settings.approvalMode
    });
    this._nextApprovalMode = null;
    this._current.changed.connect(this._onSessionChanged, this);
  }

  private async _closeCurrent(): Promise<void> {
    const current = this._current;
    if (!current) {
      return;
    }
    current.changed.disconnect(this._onSessionChanged, this);
    this._notebook?.markCells([]);
    this.closeExport();
    this._current = null;
    this._notebook = null;
    if (current.busy) {
      await current.stop();
    }
    await current.close().catch(error => {
      this._error = errorText(error, this._options.trans);
    });
  }

  private async _guard(action: () => Promise<void>): Promise<void> {
    if (this._current?.busy) {
      this._fail(this._options.trans.__('The agent is working: stop it first.'));
      return;
    }
    try {
      await action();
      this._error = null;
    } catch (error) {
      this._error = errorText(error, this._options.trans);
    }
    this._changed.emit();
  }

  private _resolved(): IResolvedSettings {
    return {
      ...this._settings,
      model: this._settings.model || this._config?.default_model || '',
      providerHost: this._config?.base_url_host ?? ''
    };
  }

  private _fail(message: string): false {
    this._error = message;
    this._changed.emit();
    return false;
  }

  private _onSessionChanged(session: SessionModel): void {
    const unsent = session.takeUnsent();
    if (unsent.length && !this._draft) {
      this._draft = unsent.join('\n\n');
    }
    if (this._wasBusy && !session.busy) {
      void this.refreshHistory();
    }
    this._wasBusy = session.busy;
    this._notebook?.markCells(reviewMarks(session.pendingReview, session.id ?? '', this._resolved().model, this._options.trans));
    this._changed.emit();
  }

  private _emitChanged(): void {
    this._changed.emit();
  }

  private _onActiveChanged(): void {
    void this.refreshHistory();
    this._changed.emit();
  }

  private _config: IBridgeConfig | null = null;
  private _export: ExportModel | null = null;
  /** A mode chosen before the next session exists. */
  private _nextApprovalMode: ApprovalMode | null = null;
  private _settings: IAgentSettings = DEFAULT_AGENT_SETTINGS;
  private _current: SessionModel | null = null;
  private _notebook: INotebookRef | null = null;
  private _history: ISessionSummary[] = [];
  private _historyPath: string | null = null;
  private _draft = '';
  private _error: string | null = null;
  private _bridgeError: string | null = null;
  private _historyRequest = 0;
  private _wasBusy = false;
  private readonly _changed = new Signal<this, void>(this);
  private readonly _focusRequested = new Signal<this, void>(this);
}
