/**
 * One agent session, for every home (the `aiev` CLI, the JupyterLab sidebar, batch runs): the recorder and its
 * event log, the kernel's environment and secrets, the agent's conversation over several user turns, the final
 * notebook after each turn, and the record saved as it grows. Browser-safe: where the log and the record go is
 * the caller's (`sink`, `save`).
 */
import { ISignal, Signal } from '@lumino/signaling';

import type { ChatClient, ITurnDelta } from '../llm/client';
import { DEFAULT_OUTPUT_CAP_BYTES } from '../notebook/outputCollector';
import { lostMessage } from '../notebook/kernelExecution';
import type { INotebookDriver } from '../notebook/tokens';
import type { ILogLine, ILogSink } from '../trace/eventLog';
import { buildFinalNotebook } from '../trace/finalNotebook';
import { SessionRecorder } from '../trace/recorder';
import type { ActionKind, IEnvironment, IOutcome, ISample, ISource, IStep, ITask } from '../trace/types';
import { Agent } from './agent';
import { conversationOf, unansweredActions } from './conversation';
import { ApprovalGate, ApprovalMode, IApprovalDecision, IApprovalRequest } from './approvals';
import { CellReview, IReviewItem, ReviewDecision } from './review';
import { captureEnvironment, finishEnvironment, kernelSecrets, mayHaveInstalled } from './environment';
import { STEP_KINDS, StepTee } from './stepTee';
import { TOOL_DEFINITIONS } from './tools';
import { gateFinalAnswer, IVerifyGateOptions } from './verifyGate';

/** Options of a session (new or continued). */
export interface IAgentSessionOptions {
  driver: INotebookDriver;
  client: ChatClient;
  /** Where event-log lines go as they are made (CLI: a JSONL file; lab: the bridge's session store). */
  sink?: ILogSink;
  /** Who runs the session against which endpoint (`runSource`), with `notebook_path` in the lab. */
  source: ISource;
  toolMode: 'native' | 'fenced';
  /** Most model turns per user message (default 20). */
  maxSteps?: number;
  cellTimeoutMs?: number;
  /** Characters of each output the model sees (default 6000). */
  budgetChars?: number;
  vision?: boolean;
  /** Values scrubbed from everything recorded (the CLI's API key, a server token). */
  secrets?: string[];
  /** Called with the record after every turn (CLI: write the .aiev.json; lab: PUT it to the session store). */
  save?: (record: ISample) => Promise<void> | void;
  /**
   * The task's attachments, from the code executed so far; asked after every turn and before each verify-gate
   * replay (the CLI's served folder on disk; the sidebar asks the server, `/aiev/attachments`).
   */
  attachments?: (executedCode: string[]) => ITask['attachments'] | Promise<ITask['attachments']>;
  /** Progress lines, for a command line. */
  onProgress?: (line: string) => void;
  /** Replay the final notebook before a final answer stands, feeding failures back (`verifyGate.ts`). */
  verifyGate?: IVerifyGateOptions;
  /** Whether code waits for the user's approval (`approvals.ts`; default `run`: a session nobody watches). */
  approvalMode?: ApprovalMode;
}

/** Options of a new session. */
export interface INewSessionOptions extends IAgentSessionOptions {
  /** The first user message: the record's `task.prompt`. Send it with `send` once the session has started. */
  prompt: string;
  tags?: string[];
  /** The task's tests (Python sources run after the final notebook in a replay): the record's `task.tests`. */
  tests?: string[];
  /** Python sources run silently in the kernel before the agent starts (and first in a replay): `task.setup`. */
  setup?: string[];
  /** Raw output bytes kept per execution (the driver's cap). */
  outputsCapBytes?: number;
}

/** A user message waiting for the agent's next model turn, and who waits for its outcome. */
interface IQueued {
  text: string;
  resolve: (outcome: IOutcome) => void;
}

/**
 * A multi-turn agent session on one notebook and its kernel. `send` runs a turn (or queues the message for the
 * running turn's next model call); `stop` interrupts; each turn ends with the record's final notebook, outcome
 * and `save`. The session stops when its driver is lost (notebook closed, kernel changed) and says why.
 */
export class AgentSession {
  private constructor(
    private readonly _options: IAgentSessionOptions,
    private readonly _recorder: SessionRecorder,
    tee: StepTee,
    private readonly _environment: IEnvironment | null,
    messages: ReturnType<typeof conversationOf> | undefined
  ) {
    this._approvals = new ApprovalGate(_recorder, _options.approvalMode ?? 'run', () => this._stateChanged.emit());
    this._review = new CellReview(_options.driver, _recorder, () => this._stateChanged.emit());
    tee.onStep = (step, index) => this._stepAdded.emit({ step, index });
    this._agent = new Agent({
      client: _options.client,
      driver: _options.driver,
      recorder: _recorder,
      toolMode: _options.toolMode,
      maxSteps: _options.maxSteps,
      cellTimeoutMs: _options.cellTimeoutMs,
      modelBudgetChars: _options.budgetChars,
      vision: _options.vision,
      onProgress: _options.onProgress,
      onDelta: delta => this._delta.emit(delta),
      messages,
      takeQueued: () => this._takeQueued(),
      approvals: this._approvals,
      onCellWritten: write => this._review.wrote(write)
    });
    _options.driver.lost.addEventListener('abort', this._onLost);
  }

  /**
   * Start a session: reads the kernel's secret-named variables, then its environment, then runs the task's setup
   * (silent, logged executions; a setup source that fails rejects, the kernel being the caller's).
   */
  static async start(options: INewSessionOptions): Promise<AgentSession> {
    const secrets = await kernelSecrets(options.driver);
    const tee = new StepTee(options.sink, 0);
    const task = {
      prompt: options.prompt,
      attachments: [],
      ...(options.tests?.length ? { tests: options.tests } : {}),
      ...(options.setup?.length ? { setup: options.setup } : {}),
      tags: options.tags ?? []
    };
    const recorder = new SessionRecorder({
      sink: tee,
      source: options.source,
      task,
      tools: options.toolMode === 'native' ? TOOL_DEFINITIONS : [],
      secrets: [...(options.secrets ?? []), ...secrets.values],
      outputsCapBytes: options.outputsCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES
    });
    recorder.event('silent_execution', { purpose: 'secret environment variables', status: secrets.status, names: secrets.names });
    const environment = await captureEnvironment(options.driver, recorder, secrets.names);
    for (const [index, code] of (options.setup ?? []).entries()) {
      const result = await options.driver.executeSilent(code);
      recorder.event('silent_execution', { purpose: 'task setup', index, code, status: result.status, error: result.error ?? null });
      if (result.status !== 'ok') {
        const why = result.error ? `${result.error.ename}: ${result.error.evalue}` : result.status;
        throw new Error(`the task's setup code ${index + 1} failed (${why})`);
      }
    }
    return new AgentSession(options, recorder, tee, environment, undefined);
  }

  /**
   * Continue a session from its event log (after a reload, or in a new process): same record, id and sequence
   * numbers. Calls of a turn the log was cut in are answered as not run, so the conversation stays whole.
   */
  static async resume(options: IAgentSessionOptions, lines: readonly ILogLine[]): Promise<AgentSession> {
    const secrets = await kernelSecrets(options.driver);
    const tee = new StepTee(options.sink, lines.filter(line => STEP_KINDS.has(line.kind)).length);
    const recorder = SessionRecorder.resume(lines, { sink: tee, secrets: [...(options.secrets ?? []), ...secrets.values] });
    const before = recorder.snapshot();
    const cut = before.outcome === null;
    recorder.event('resumed', { from_line: lines.length, cut });
    for (const action of unansweredActions(before)) {
      const text = 'not run: the session was interrupted (the page was reloaded or the process ended) before this call ran';
      recorder.toolResult({ call_id: action.call_id, cell_id: action.cell_id, model_text: text, is_error: true });
    }
    const environment = before.environment;
    if (environment && secrets.names.some(name => !environment.secret_env_names?.includes(name))) {
      environment.secret_env_names = [...new Set([...(environment.secret_env_names ?? []), ...secrets.names])];
      recorder.setEnvironment(environment);
    }
    const session = new AgentSession(options, recorder, tee, environment, conversationOf(recorder.snapshot()));
    session._approvals.restore(recorder.snapshot().steps);
    session._review.restore(recorder.snapshot().steps);
    return session;
  }

  /** The record's id. */
  get id(): string {
    return this._recorder.id;
  }

  /** True while a turn runs. */
  get busy(): boolean {
    return this._running !== null;
  }

  /** Messages sent while busy, waiting for the agent's next model turn. */
  get queued(): readonly string[] {
    return this._queue.map(item => item.text);
  }

  /** How the last turn ended; null before the first. */
  get lastOutcome(): IOutcome | null {
    return this._lastOutcome;
  }

  /** Why the session can no longer run (its notebook closed, its kernel changed), or null. */
  get lostReason(): string | null {
    return this._options.driver.lost.aborted ? lostMessage(this._options.driver.lost) : null;
  }

  /** Whether code waits for the user; a change applies from the next call on (and is recorded). */
  get approvalMode(): ApprovalMode {
    return this._approvals.mode;
  }

  set approvalMode(mode: ApprovalMode) {
    this._approvals.mode = mode;
  }

  /** The code waiting for the user's decision; null when none waits. */
  get pendingApproval(): IApprovalRequest | null {
    return this._approvals.pending;
  }

  /** Kinds of code the user allowed for the rest of this session. */
  get alwaysAllowed(): readonly ActionKind[] {
    return this._approvals.alwaysAllowed;
  }

  /** Answer the pending approval (a Stop answers it too: the run ends, the call not run). */
  decide(decision: IApprovalDecision): void {
    this._approvals.decide(decision);
  }

  /** The cells the agent added or changed that wait for the user's review. */
  get reviewItems(): readonly IReviewItem[] {
    return this._options.driver.lost.aborted ? [] : this._review.items;
  }

  /** The same without their positions in the notebook (for its marks, asked on every change). */
  get pendingReview(): readonly IReviewItem[] {
    return this._review.pending;
  }

  /**
   * Accept or reject a cell the agent wrote (`turn` instead of a cell id: all of that run's cells), recorded as
   * `review` events; the notebook and the record are saved. Nothing happens while a run goes.
   */
  async review(target: { cellId: string } | { turn: number }, decision: ReviewDecision): Promise<void> {
    if (this._running || this._options.driver.lost.aborted) {
      return;
    }
    if ('cellId' in target) {
      this._review.decide(target.cellId, decision);
    } else {
      this._review.decideRun(target.turn, decision);
    }
    await this._saveAll();
  }

  /** Whether `undoLastRun` can put the notebook back (a run ended, its cells not yet undone, none running). */
  get canUndo(): boolean {
    return this._review.canUndo && !this._running && !this._options.driver.lost.aborted;
  }

  /**
   * Put the notebook's cells back to what they were before the last run, in one change (recorded as `undo_run`,
   * the notebook saved). The kernel's state is not undone. False when there is nothing to undo.
   */
  async undoLastRun(): Promise<boolean> {
    if (!this.canUndo || !this._review.undoLastRun()) {
      return false;
    }
    await this._saveAll();
    return true;
  }

  /**
   * Restart the kernel for the user (after an undo, so that its state can match the cells again); recorded as a
   * `kernel_restart` the user asked for. The driver made it, so the session goes on.
   */
  async restartKernel(): Promise<void> {
    if (this._running || this._options.driver.lost.aborted) {
      return;
    }
    await this._options.driver.restartKernel();
    this._recorder.event('kernel_restart', { requested_by: 'user' });
    await this._saveAll();
  }

  /** The notebook and the record saved now (after the user's review or undo). */
  private async _saveAll(): Promise<void> {
    await this._agent.runner.save();
    await this._options.save?.(this._recorder.snapshot());
    this._stateChanged.emit();
  }

  /** A snapshot of the record so far. */
  record(): ISample {
    return this._recorder.snapshot();
  }

  /** Each recorded step, once it is in the record. */
  get stepAdded(): ISignal<this, { step: IStep; index: number }> {
    return this._stepAdded;
  }

  /** Streamed text of the model turn in progress. */
  get delta(): ISignal<this, ITurnDelta> {
    return this._delta;
  }

  /** `busy`, `queued`, `lastOutcome`, `lostReason`, `pendingApproval` or `approvalMode` changed. */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /**
   * Send a user message: runs a turn, or, while one runs, waits for the agent's next model turn. Resolves with the
   * outcome of the turn that took it; model, kernel and tool failures are outcomes, never rejections.
   */
  send(text: string): Promise<IOutcome> {
    if (this._closed) {
      return Promise.resolve({ reason: 'error', message: 'the session is closed; start a new session' });
    }
    if (this._running) {
      return new Promise(resolve => {
        this._queue.push({ text, resolve });
        this._stateChanged.emit();
      });
    }
    return this._turn(text);
  }

  /** Stop the running turn: the model request is aborted, a running cell interrupted; resolves once the turn ended. */
  async stop(): Promise<void> {
    const dropped = this._queue.splice(0);
    this._controller?.abort();
    await this._running?.catch(() => undefined);
    dropped.forEach(item => item.resolve({ reason: 'cancelled', message: 'stopped before this message was sent' }));
    if (dropped.length) {
      this._stateChanged.emit();
    }
  }

  /** End the session (a running turn is stopped first); the record as it stands. The driver is the caller's. */
  async close(): Promise<ISample> {
    this._closed = true;
    await this.stop();
    this._options.driver.lost.removeEventListener('abort', this._onLost);
    return this._recorder.snapshot();
  }

  private async _turn(text: string): Promise<IOutcome> {
    const lost = this._options.driver.lost;
    if (lost.aborted) {
      return { reason: 'error', message: `${lostMessage(lost)}; start a new session` };
    }
    const controller = new AbortController();
    this._controller = controller;
    const signal = anySignal([controller.signal, lost]);
    const run = this._runTurn(text, signal.signal);
    this._running = run;
    this._stateChanged.emit();
    let outcome: IOutcome;
    try {
      outcome = await run;
    } finally {
      signal.dispose();
      this._running = null;
      this._controller = null;
    }
    this._lastOutcome = outcome;
    this._consumed.splice(0).forEach(item => item.resolve(outcome));
    this._stateChanged.emit();
    const next = this._queue.shift();
    if (next && !this._closed) {
      void this._turn(next.text).then(next.resolve);
    }
    return outcome;
  }

  private async _runTurn(text: string, signal: AbortSignal): Promise<IOutcome> {
    this._review.beginRun();
    let outcome: IOutcome;
    try {
      const before = this._assistantTurns();
      outcome = await this._agent.run(text, signal);
      outcome = await this._verified(outcome, signal, before);
    } catch (error) {
      outcome = { reason: 'error', message: (error as Error).message };
    }
    const lost = this._options.driver.lost;
    if (lost.aborted && outcome.reason !== 'final_answer') {
      outcome = { reason: 'cancelled', message: lostMessage(lost) };
    }
    await this._endTurn(outcome);
    return outcome;
  }

  /** The verify gate after a final answer (`verifyGate.ts`): replays, and turns of feedback within `maxSteps`. */
  private _verified(outcome: IOutcome, signal: AbortSignal, turnsBefore: number): Promise<IOutcome> {
    const gate = this._options.verifyGate;
    const maxSteps = this._options.maxSteps ?? 20;
    return !gate
      ? Promise.resolve(outcome)
      : gateFinalAnswer(gate, outcome, signal, {
          recorder: this._recorder,
          finalRecord: async () => {
            this._setFinalNotebook();
            await this._setAttachments();
            return this._recorder.snapshot();
          },
          turnsLeft: () => maxSteps - (this._assistantTurns() - turnsBefore),
          continueWith: (feedback, steps) => this._agent.run(feedback, signal, steps),
          onProgress: this._options.onProgress
        });
  }

  /** The task's attachments from the code executed so far (kept as they were when they cannot be found). */
  private async _setAttachments(codes = this._executedCodes()): Promise<void> {
    if (this._options.attachments) {
      try {
        this._recorder.setAttachments(await this._options.attachments(codes));
      } catch (error) {
        this._options.onProgress?.(`aiev: the attachments could not be listed: ${(error as Error).message}`);
      }
    }
  }

  private _executedCodes(): string[] {
    return this._recorder.snapshot().steps.flatMap(step => (step.type === 'execution' ? [step.code] : []));
  }

  private _assistantTurns(): number {
    return this._recorder.snapshot().steps.filter(step => step.type === 'assistant').length;
  }

  /** The record's final notebook from its steps (the notebook's metadata from the driver, when it has one). */
  private _setFinalNotebook(): void {
    let notebook = null;
    try {
      notebook = this._options.driver.toJSON();
    } catch {
      // A lost notebook may have no model left: its metadata is all the final notebook takes from it.
    }
    this._recorder.setNotebook(buildFinalNotebook(this._recorder.snapshot().steps, notebook));
  }

  /** The record after a turn: final notebook, environment, attachments, outcome; the notebook and record saved. */
  private async _endTurn(outcome: IOutcome): Promise<void> {
    const { driver } = this._options;
    const recorder = this._recorder;
    this._setFinalNotebook();
    const codes = this._executedCodes();
    if (this._environment && !driver.lost.aborted && mayHaveInstalled(codes)) {
      await finishEnvironment(driver, recorder, this._environment).catch(() => undefined);
    }
    await this._setAttachments(codes);
    recorder.finish(outcome);
    if (!driver.lost.aborted) {
      await this._agent.runner.save();
    }
    try {
      await this._options.save?.(recorder.snapshot());
    } catch (error) {
      this._options.onProgress?.(`aiev: the record could not be saved: ${(error as Error).message}`);
    }
  }

  private _takeQueued(): string[] {
    const taken = this._queue.splice(0);
    this._consumed.push(...taken);
    if (taken.length) {
      this._stateChanged.emit();
    }
    return taken.map(item => item.text);
  }

  private readonly _onLost = (): void => {
    this._recorder.event('driver_lost', { message: lostMessage(this._options.driver.lost), during_turn: this.busy });
    this._stateChanged.emit();
  };

  private readonly _agent: Agent;
  private readonly _approvals: ApprovalGate;
  private readonly _review: CellReview;
  private readonly _queue: IQueued[] = [];
  private readonly _consumed: IQueued[] = [];
  private _running: Promise<IOutcome> | null = null;
  private _controller: AbortController | null = null;
  private _lastOutcome: IOutcome | null = null;
  private _closed = false;
  private readonly _stepAdded = new Signal<this, { step: IStep; index: number }>(this);
  private readonly _delta = new Signal<this, ITurnDelta>(this);
  private readonly _stateChanged = new Signal<this, void>(this);
}

/**
 * A signal aborted when any of `signals` is (`AbortSignal.any`, which some environments lack); `dispose` takes its
 * listeners off them (the driver's `lost` outlives every turn: one listener left per turn would pile up).
 */
function anySignal(signals: AbortSignal[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const listening: [AbortSignal, () => void][] = [];
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    listening.push([signal, onAbort]);
  }
  return { signal: controller.signal, dispose: () => listening.forEach(([signal, onAbort]) => signal.removeEventListener('abort', onAbort)) };
}
