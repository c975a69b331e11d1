import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { ApprovalMode, IApprovalDecision, IApprovalRequest } from '../agent/approvals';
import type { IReviewItem, ReviewDecision } from '../agent/review';
import type { IBridgeCollection, ISessionSummary } from '../tokens';
import { ApprovalModeSelect, ApprovalPrompt } from './approvals';
import { ExportModel, redactionSummary, replayProblems } from './exportModel';
import { downloadFiles, ExportView } from './exportView';
import { baseName, ErrorBanner, HistoryList, IStatusLineProps, PromptBox, ReadOnlyBanner, StatusLine } from './controls';
import type { AievModel } from './model';
import { ReviewPanel } from './review';
import type { TranscriptItem } from './transcript';
import { TranscriptView } from './transcriptView';

/** What the sidebar can ask for. */
export interface ISidebarActions {
  onDraft: (text: string) => void;
  onSend: () => void;
  onStop: () => void;
  onNewSession: () => void;
  onDismissError: () => void;
  onOpenPast: (session: ISessionSummary) => void;
  onContinuePast: (session: ISessionSummary) => void;
  onRevealCell: (cellId: string | null, callId: string) => void;
  onDecide: (decision: IApprovalDecision) => void;
  onApprovalMode: (mode: ApprovalMode) => void;
  onUndo: () => void;
  onRestartAndRun: () => void;
  onReview: (target: { cellId: string } | { turn: number }, decision: ReviewDecision) => void;
  onExport: () => void;
}

/** Everything the sidebar shows, and what it can ask for. */
export interface ISidebarViewProps extends ISidebarActions {
  trans: TranslationBundle;
  rendermime: IRenderMimeRegistry;
  /** Notebook the conversation is (or will be) about. */
  notebookPath: string | null;
  /** `model @ host` of the server's configuration, when configured. */
  modelLabel: string | null;
  /** What to set on the server when no model endpoint is configured there. */
  setupMessage: string | null;
  /** That the server collects the sessions for a teacher (or why it cannot), when it is a classroom's. */
  collectionNotice: string | null;
  /** This session's approval mode (null for a past session). */
  approvalMode: ApprovalMode | null;
  /** The code waiting for the user's approval. */
  pendingApproval: IApprovalRequest | null;
  /** The last run's cells can be put back. */
  canUndo: boolean;
  /** After an undo: offer to restart the kernel and run the cells. */
  offerRestart: boolean;
  /** The agent's cells waiting for review (empty while a run goes). */
  reviewItems: readonly IReviewItem[];
  /** The session has a record to export. */
  canExport: boolean;
  /** The export view, when open. */
  exportView: React.ReactNode;
  items: TranscriptItem[];
  /** Identifies the conversation shown (its record id, else its notebook). */
  conversationKey: string;
  /** Set for a past session shown read-only. */
  readOnly: ISessionSummary | null;
  history: { path: string | null; sessions: ISessionSummary[] };
  error: string | null;
  draft: string;
  busy: boolean;
  status: IStatusLineProps | null;
  textareaRef?: React.Ref<HTMLTextAreaElement>;
}

/** The agent sidebar's layout: header, past sessions, conversation, status line, prompt. */
export function SidebarView(props: ISidebarViewProps): JSX.Element {
  const { trans, notebookPath, readOnly } = props;
  const name = notebookPath ? baseName(notebookPath) : null;
  return (
    <>
      <div className="jp-aiev-Header">
        <div className="jp-aiev-Header-title">
          <span className="jp-aiev-Title">{trans.__('AIEV agent')}</span>
          <span className="jp-aiev-Header-notebook" title={notebookPath ?? undefined}>
            {name ?? trans.__('no notebook open')}
          </span>
        </div>
        {props.canExport && (
          <button type="button" className="jp-aiev-Button" onClick={() => props.onExport()}>
            {trans.__('Export')}
          </button>
        )}
        <button type="button" className="jp-aiev-Button" onClick={() => props.onNewSession()}>
          {trans.__('New session')}
        </button>
      </div>
      {props.modelLabel && <div className="jp-aiev-ModelLine">{props.modelLabel}</div>}
      {props.approvalMode && <ApprovalModeSelect trans={trans} mode={props.approvalMode} onChange={props.onApprovalMode} />}
      {props.setupMessage && (
        <div className="jp-aiev-Setup" role="status">
          {props.setupMessage}
        </div>
      )}
      {props.collectionNotice && (
        <div className="jp-aiev-Collection" role="note">
          {props.collectionNotice}
        </div>
      )}
      <HistoryList
        trans={trans}
        path={props.history.path}
        sessions={props.history.sessions}
        disabled={props.busy}
        onOpen={props.onOpenPast}
        onContinue={props.onContinuePast}
      />
      {readOnly && <ReadOnlyBanner trans={trans} session={readOnly} onContinue={() => props.onContinuePast(readOnly)} />}
      <TranscriptView
        items={props.items}
        conversationKey={props.conversationKey}
        trans={trans}
        rendermime={props.rendermime}
        onRevealCell={readOnly ? undefined : props.onRevealCell}
        empty={
          <div className="jp-aiev-Empty">
            {name
              ? trans.__('Ask the agent about %1: it writes cells there and runs them on its kernel.', name)
              : trans.__('Open a notebook, then ask the agent: it writes cells there and runs them on its kernel.')}
          </div>
        }
      />
      <ReviewPanel trans={trans} items={props.reviewItems} onDecide={props.onReview} onReveal={(cellId, callId) => props.onRevealCell(cellId, callId)} />
      {props.pendingApproval && <ApprovalPrompt key={props.pendingApproval.call_id} trans={trans} request={props.pendingApproval} onDecide={props.onDecide} />}
      {props.exportView}
      {(props.canUndo || props.offerRestart) && (
        <div className="jp-aiev-Undo">
          {props.canUndo && (
            <button type="button" className="jp-aiev-Button" onClick={() => props.onUndo()} title={trans.__('Put the notebook’s cells back to before the last run (the kernel’s state stays)')}>
              {trans.__('Undo agent run')}
            </button>
          )}
          {props.offerRestart && (
            <button type="button" className="jp-aiev-Button" onClick={() => props.onRestartAndRun()} title={trans.__('Restart the kernel, then run every cell, so its variables match the cells again')}>
              {trans.__('Restart kernel and run all')}
            </button>
          )}
        </div>
      )}
      {props.status && <StatusLine {...props.status} />}
      {props.error && <ErrorBanner trans={trans} message={props.error} onDismiss={props.onDismissError} />}
      <PromptBox
        trans={trans}
        draft={props.draft}
        busy={props.busy}
        disabled={Boolean(readOnly)}
        placeholder={name ? trans.__('Ask about %1 (Enter sends, Shift+Enter new line)', name) : trans.__('Ask the agent')}
        onDraft={props.onDraft}
        onSend={props.onSend}
        onStop={props.onStop}
        textareaRef={props.textareaRef}
      />
    </>
  );
}

/** The sidebar's line about classroom collection; null when the server collects nothing. */
export function collectionNotice(collection: IBridgeCollection | null | undefined, trans: TranslationBundle): string | null {
  if (!collection) {
    return null;
  }
  if (!collection.active) {
    return collection.message;
  }
  return trans.__('Collection is on: every session here is saved for your teacher under the name %1.', collection.user);
}

/** The agent sidebar: a view of `AievModel`, holding no state of its own. */
export class AievSidebar extends ReactWidget {
  constructor(
    private readonly _model: AievModel,
    private readonly _rendermime: IRenderMimeRegistry,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-aiev-Sidebar');
    _model.changed.connect(this._onChanged, this);
    _model.focusRequested.connect(this.focusPrompt, this);
  }

  /** Put the keyboard focus in the prompt box. */
  focusPrompt(): void {
    requestAnimationFrame(() => this._textarea.current?.focus());
  }

  dispose(): void {
    clearInterval(this._ticker);
    super.dispose();
  }

  protected render(): JSX.Element {
    const model = this._model;
    const session = model.current;
    const config = model.config;
    const counts = session?.counts;
    const status: IStatusLineProps | null =
      session && counts
        ? {
            trans: this._trans,
            turns: session.phase === 'readonly' ? counts.turns : session.runTurns.turns,
            maxTurns: session.phase === 'readonly' ? 0 : session.runTurns.max,
            elapsedMs: session.elapsedMs,
            tokensIn: counts.tokensIn,
            tokensOut: counts.tokensOut,
            saveState: session.saveState,
            saveError: session.saveError,
            busy: session.busy
          }
        : null;
    return (
      <SidebarView
        trans={this._trans}
        rendermime={this._rendermime}
        notebookPath={model.notebookPath}
        modelLabel={config?.configured ? `${model.settings.model || config.default_model || '?'} @ ${config.base_url_host}` : null}
        setupMessage={config && !config.configured ? config.message || this._trans.__('No model is configured on the Jupyter server.') : null}
        collectionNotice={collectionNotice(config?.collection, this._trans)}
        approvalMode={session?.phase === 'readonly' ? null : model.approvalMode}
        pendingApproval={session?.pendingApproval ?? null}
        canUndo={Boolean(session?.canUndo)}
        offerRestart={Boolean(session?.offerRestart)}
        reviewItems={session && !session.busy ? session.reviewItems : []}
        canExport={Boolean(session && !session.busy && session.record() && !model.exportView)}
        exportView={model.exportView && this._exportView(model.exportView)}
        items={session ? session.transcript() : []}
        conversationKey={session?.id ?? session?.notebookPath ?? ''}
        readOnly={session?.phase === 'readonly' ? session.summary : null}
        history={model.history}
        error={model.error}
        draft={model.draft}
        busy={Boolean(session?.busy)}
        status={status}
        textareaRef={this._textarea}
        {...this._actions}
      />
    );
  }

  private _exportView(view: ExportModel): JSX.Element {
    const sample = view.scrubbed();
    return (
      <ExportView
        trans={this._trans}
        formats={view.formats}
        allFormats={view.allFormats}
        verifying={view.verifying}
        verdict={view.verification?.verdict ?? null}
        problems={view.verification ? replayProblems(view.verification) : []}
        redactions={sample ? redactionSummary(sample) : []}
        error={view.error}
        saved={view.saved}
        onToggle={format => view.toggleFormat(format)}
        onVerify={() => void view.verify()}
        onSave={() => void view.saveNextToNotebook()}
        onDownload={() => downloadFiles(view.files())}
        onClose={() => this._model.closeExport()}
      />
    );
  }

  /** Re-render; while a run goes, once a second too (the elapsed time). */
  private _onChanged(): void {
    this.update();
    const busy = Boolean(this._model.current?.busy);
    if (busy && this._ticker === undefined) {
      this._ticker = setInterval(() => this.update(), 1000);
    } else if (!busy && this._ticker !== undefined) {
      clearInterval(this._ticker);
      this._ticker = undefined;
    }
  }

  /** The views' callbacks, made once (stable props let unchanged entries skip re-rendering). */
  private readonly _actions: ISidebarActions = {
    onDraft: text => this._model.setDraft(text),
    onSend: () => this._model.trySend(),
    onStop: () => void this._model.stop(),
    onNewSession: () => void this._model.newSession(),
    onDismissError: () => this._model.dismissError(),
    onOpenPast: summary => void this._model.openPast(summary),
    onContinuePast: summary => void this._model.continuePast(summary),
    onRevealCell: (cellId, callId) => void this._model.revealCell(cellId, callId),
    onDecide: decision => this._model.current?.decide(decision),
    onApprovalMode: mode => (this._model.approvalMode = mode),
    onUndo: () => void this._model.current?.undoLastRun(),
    onRestartAndRun: () => void this._model.restartAndRunAll(),
    onReview: (target, decision) => void this._model.current?.review(target, decision),
    onExport: () => this._model.openExport()
  };
  private readonly _textarea = React.createRef<HTMLTextAreaElement>();
  private _ticker: ReturnType<typeof setInterval> | undefined;
}
