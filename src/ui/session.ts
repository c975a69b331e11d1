/**
 * One conversation as the sidebar shows it: a live agent session bound to one notebook (started on the first
 * message), or a past session read from the session store. Holds the steps, the streamed text in flight, the
 * messages waiting for the agent, the notices of how runs ended, and run timing; signals every change.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { ApprovalMode, IApprovalDecision, IApprovalRequest, lastApprovalMode } from '../agent/approvals';
import type { IReviewItem, ReviewDecision } from '../agent/review';
import type { IAgentSessionHandle, ISessionSummary, SaveState } from '../tokens';
import type { IOutcome, ISample, IStep } from '../trace/types';
import { errorText, outcomeNotice } from './messages';
import { buildTranscript, ILiveState, IPlacedNotice, ISessionCounts, sessionCounts, TranscriptItem } from './transcript';

/** Whether a session's event log is on the server (`BridgeLogSink` is one). */
export interface ISaveStatus {
  readonly state: SaveState;
  /** The last failure while not saved. */
  readonly error: string | null;
  readonly stateChanged: ISignal<unknown, SaveState>;
}

/** A started agent session and where its log goes. */
export interface IStartedSession {
  session: IAgentSessionHandle;
  save: ISaveStatus;
  /** Release what the session holds (its notebook driver, the log once flushed), after `close`. */
  dispose?: () => Promise<void>;
}

/** Where a conversation stands. */
export type SessionPhase =
  /** Bound to a notebook, no message yet. */
  | 'new'
  /** The agent session is starting (kernel environment captured) with the first message waiting. */
  | 'starting'
  /** Live: messages go to the agent. */
  | 'live'
  /** Starting failed; the next message tries again. */
  | 'failed'
  /** A past session shown read-only. */
  | 'readonly';

/** Options of a live conversation. */
export interface ILiveSessionOptions {
  notebookPath: string;
  /** Starts (or resumes) the agent session; called with the first message, which is sent once it resolves. */
  start: (prompt: string) => Promise<IStartedSession>;
  /** Steps already recorded (a resumed session). */
  steps?: IStep[];
  trans: TranslationBundle;
  /** Most model turns per run, for the step counter. */
  maxSteps: number;
  /** Name of the server's key variable, for messages. */
  keyEnv?: string;
  /** The approval mode the session starts with (the settings'); switchable with `approvalMode`. */
  approvalMode?: ApprovalMode;
  now?: () => number;
}

/** A conversation: live on a notebook, or a past session read-only. */
export class SessionModel {
  /** A conversation bound to a notebook; the agent session starts with the first message. */
  static live(options: ILiveSessionOptions): SessionModel {
    return new SessionModel(options, 'new', options.steps ?? [], null);
  }

  /** A past session, read-only; `summary` says whether it was cut. */
  static readonly(record: ISample, summary: ISessionSummary, trans: TranslationBundle): SessionModel {
    const model = new SessionModel(
      { notebookPath: summary.notebook_path, start: () => Promise.reject(new Error('read-only')), trans, maxSteps: 0 },
      'readonly',
      record.steps,
      summary
    );
    if (record.outcome) {
      model._tell(record.outcome);
    }
    model._pastRecord = record;
    return model;
  }

  private constructor(
    private readonly _options: ILiveSessionOptions,
    phase: SessionPhase,
    steps: IStep[],
    readonly summary: ISessionSummary | null
  ) {
    this._phase = phase;
    this._steps = [...steps];
    this._now = _options.now ?? Date.now;
    // A continued session keeps the mode last chosen in it.
    this._approvalMode = lastApprovalMode(steps) ?? _options.approvalMode ?? 'run';
  }

  /** Emitted on every change the views show. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get phase(): SessionPhase {
    return this._phase;
  }

  get notebookPath(): string {
    return this._options.notebookPath;
  }

  /** The record id, once the agent session exists (or the past session's id). */
  get id(): string | null {
    return this._started?.session.id ?? this.summary?.id ?? null;
  }

  /** A turn is running, or the session is starting for a message. */
  get busy(): boolean {
    return this._phase === 'starting' || Boolean(this._started?.session.busy);
  }

  /** Messages waiting for the agent's next model turn. */
  get queued(): readonly string[] {
    return this._started ? this._started.session.queued : this._waiting;
  }

  get steps(): readonly IStep[] {
    return this._steps;
  }

  /** Why the last start failed, for the user. */
  get error(): string | null {
    return this._error;
  }

  get saveState(): SaveState {
    return this._started?.save.state ?? 'saved';
  }

  /** Why the log is not saved, while it is not. */
  get saveError(): string | null {
    return this._started?.save.error ?? null;
  }

  /** Model turns and tokens of the whole session. */
  get counts(): ISessionCounts {
    return sessionCounts(this._steps);
  }

  /** Model turns of the current (or last) run, and the cap. */
  get runTurns(): { turns: number; max: number } {
    const turns = this._steps.slice(this._runFrom).filter(step => step.type === 'assistant').length;
    return { turns, max: this._options.maxSteps };
  }

  /** Milliseconds of the current (or last) run; for a past session, from its first to its last step. */
  get elapsedMs(): number {
    if (this._runStartedAt !== null) {
      return (this._runEndedAt ?? this._now()) - this._runStartedAt;
    }
    const times = this._steps.map(step => Date.parse(stepTime(step))).filter(Number.isFinite);
    return times.length ? Math.max(...times) - Math.min(...times) : 0;
  }

  /** Whether the agent's code waits for the user; set before the first message, it applies from the start. */
  get approvalMode(): ApprovalMode {
    return this._started?.session.approvalMode ?? this._approvalMode;
  }

  set approvalMode(mode: ApprovalMode) {
    this._approvalMode = mode;
    if (this._started) {
      this._started.session.approvalMode = mode;
    }
    this._changed.emit();
  }

  /** The code waiting for the user's decision. */
  get pendingApproval(): IApprovalRequest | null {
    return this._started?.session.pendingApproval ?? null;
  }

  /** Answer the code waiting for approval. */
  decide(decision: IApprovalDecision): void {
    this._started?.session.decide(decision);
  }

  /** The record as it stands: the live session's, or the past session's; null before the agent session started. */
  record(): ISample | null {
    return this._started?.session.record() ?? this._pastRecord;
  }

  /** The last run's cell changes can be undone. */
  get canUndo(): boolean {
    return Boolean(this._started?.session.canUndo);
  }

  /** Put the notebook's cells back to before the last run; a notice says the kernel's state was kept. */
  async undoLastRun(): Promise<void> {
    if (await this._started?.session.undoLastRun()) {
      this._offerRestart = true;
      this.addNotice({
        level: 'info',
        text: this._options.trans.__(
          'The notebook’s cells are back to what they were before the agent’s last run. The kernel’s variables are not undone: restart the kernel and run the cells to match them (Restart kernel and run all).'
        )
      });
    }
  }

  /** After an undo, until the next message: the kernel can be restarted so that its state matches the cells. */
  get offerRestart(): boolean {
    return this._offerRestart && !this.busy;
  }

  /** Restart the session's kernel for the user (the cells are then run by the notebook, see `AievModel`). */
  async restartKernel(): Promise<void> {
    this._offerRestart = false;
    await this._started?.session.restartKernel();
    this._changed.emit();
  }

  /** The agent's cells waiting for the user's review (none while a run goes: review comes after it). */
  get reviewItems(): readonly IReviewItem[] {
    return this._started?.session.reviewItems ?? [];
  }

  /** The same without positions in the notebook: for its marks, cheap enough for every change. */
  get pendingReview(): readonly IReviewItem[] {
    return this._started?.session.pendingReview ?? [];
  }

  /** Accept or reject one cell the agent wrote, or all of one run's. */
  review(target: { cellId: string } | { turn: number }, decision: ReviewDecision): Promise<void> {
    return this._started?.session.review(target, decision) ?? Promise.resolve();
  }

  /** The transcript items to render. */
  transcript(): TranscriptItem[] {
    const live: ILiveState = {
      busy: this.busy,
      streaming: this._streaming,
      queued: this.queued,
      notices: this._notices,
      awaitingApproval: this.pendingApproval?.call_id ?? null
    };
    return buildTranscript(this._steps, live, this._options.trans, this._options.keyEnv);
  }

  /** Send a message: starts the agent session on the first one, queues while the agent works. */
  send(text: string): void {
    if (this._phase === 'readonly') {
      throw new Error('a past session is read-only: continue it first');
    }
    this._offerRestart = false;
    if (this._started) {
      this._deliver(this._started.session, text);
      return;
    }
    this._waiting.push(text);
    if (this._phase !== 'starting') {
      void this._start();
    }
    this._changed.emit();
  }

  /** Stop the running turn (or a start in progress). Resolves once the kernel is idle and the record saved. */
  async stop(): Promise<void> {
    if (this._phase === 'starting') {
      this._stopRequested = true;
      this._waiting.length = 0;
      this._changed.emit();
      return;
    }
    await this._started?.session.stop();
  }

  /** End the agent session (final notebook, environment, record saved); the conversation becomes read-only. */
  async close(): Promise<void> {
    const started = this._started;
    this._disconnect();
    if (started) {
      try {
        await started.session.close();
      } finally {
        await started.dispose?.();
      }
    }
  }

  /** The messages a failed start could not deliver (once), to give back to the prompt box. */
  takeUnsent(): string[] {
    return this._unsent.splice(0);
  }

  /** Mark the notice of a problem found outside the session (e.g. the notebook closed). */
  addNotice(notice: IPlacedNotice['notice']): void {
    this._notices.push({ at: this._steps.length, notice });
    this._changed.emit();
  }

  /** Start the agent session now, before any message (a continued session: its cells to review come back at once). */
  connect(): void {
    if (this._phase === 'new' && !this._started) {
      void this._start();
    }
  }

  private async _start(): Promise<void> {
    this._phase = 'starting';
    this._error = null;
    this._stopRequested = false;
    if (this._waiting.length) {
      this._markRunStart();
    }
    this._changed.emit();
    let started: IStartedSession;
    try {
      started = await this._options.start(this._waiting[0] ?? '');
    } catch (error) {
      this._phase = 'failed';
      this._error = errorText(error, this._options.trans);
      this._unsent = this._waiting.splice(0);
      this._runEndedAt = this._now();
      this._changed.emit();
      return;
    }
    this._started = started;
    this._phase = 'live';
    const { session } = started;
    session.approvalMode = this._approvalMode;
    // Steps recorded while starting (secrets, environment; a resumed log) may be signalled before we listen.
    this._steps.splice(0, this._steps.length, ...session.record().steps);
    this._runFrom = this._steps.length;
    session.stepAdded.connect(this._onStep, this);
    session.delta.connect(this._onDelta, this);
    session.stateChanged.connect(this._onState, this);
    started.save.stateChanged.connect(this._emit, this);
    const waiting = this._waiting.splice(0);
    if (this._stopRequested) {
      this._runEndedAt = this._now();
      this.addNotice(outcomeNotice({ reason: 'cancelled' }, this._options.trans)!);
      return;
    }
    waiting.forEach(text => this._deliver(session, text));
    this._changed.emit();
  }

  private _deliver(session: IAgentSessionHandle, text: string): void {
    session.send(text).then(
      outcome => this._onOutcome(outcome),
      error => this.addNotice({ level: 'error', text: errorText(error, this._options.trans) })
    );
    this._changed.emit();
  }

  private _markRunStart(): void {
    if (this._runStartedAt === null || this._runEndedAt !== null) {
      this._runStartedAt = this._now();
      this._runEndedAt = null;
      this._runFrom = this._steps.length;
    }
  }

  /** Several messages can resolve with the outcome of one run, a stop also with "not sent": tell the run's once. */
  private _onOutcome(outcome: IOutcome): void {
    const session = this._started?.session;
    if (session && outcome !== session.lastOutcome) {
      return;
    }
    this._tell(outcome);
    this._changed.emit();
  }

  /** Add the notice of how a run ended, unless its recorded events (a model error, a lost notebook) said it already. */
  private _tell(outcome: IOutcome): void {
    if (this._told.has(outcome)) {
      return;
    }
    this._told.add(outcome);
    const toldByEvent =
      outcome.reason === 'model_error' ||
      (outcome.reason === 'cancelled' && this._steps.some(step => step.type === 'event' && step.event === 'driver_lost'));
    const notice = toldByEvent ? null : outcomeNotice(outcome, this._options.trans, this._options.keyEnv);
    if (notice) {
      this._notices.push({ at: this._steps.length, notice });
    }
  }

  private _onStep(_: unknown, { step, index }: { step: IStep; index: number }): void {
    this._steps[index] = step;
    if (step.type === 'assistant') {
      this._streaming = null;
    }
    this._changed.emit();
  }

  private _onDelta(_: unknown, delta: { text?: string; reasoning?: string }): void {
    const current = this._streaming ?? { text: '', reasoning: '' };
    this._streaming = { text: current.text + (delta.text ?? ''), reasoning: current.reasoning + (delta.reasoning ?? '') };
    this._changed.emit();
  }

  /** A turn started (also one a queued message started after the last ended) or ended. */
  private _onState(): void {
    const busy = Boolean(this._started?.session.busy);
    if (busy && !this._sessionBusy) {
      this._markRunStart();
    } else if (!busy && this._sessionBusy) {
      this._runEndedAt = this._now();
      this._streaming = null;
    }
    this._sessionBusy = busy;
    this._changed.emit();
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _disconnect(): void {
    const started = this._started;
    if (started) {
      started.session.stepAdded.disconnect(this._onStep, this);
      started.session.delta.disconnect(this._onDelta, this);
      started.session.stateChanged.disconnect(this._onState, this);
      started.save.stateChanged.disconnect(this._emit, this);
    }
  }

  private _phase: SessionPhase;
  private readonly _steps: IStep[];
  private readonly _now: () => number;
  private _started: IStartedSession | null = null;
  private readonly _waiting: string[] = [];
  private _unsent: string[] = [];
  private _streaming: { text: string; reasoning: string } | null = null;
  private readonly _notices: IPlacedNotice[] = [];
  private readonly _told = new WeakSet<IOutcome>();
  private _error: string | null = null;
  private _stopRequested = false;
  private _runStartedAt: number | null = null;
  private _runEndedAt: number | null = null;
  private _runFrom = 0;
  private _sessionBusy = false;
  private _approvalMode: ApprovalMode;
  private _offerRestart = false;
  private _pastRecord: ISample | null = null;
  private readonly _changed = new Signal<this, void>(this);
}

function stepTime(step: IStep): string {
  return step.type === 'execution' ? step.started_at : step.time;
}
