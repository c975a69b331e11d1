/**
 * Approvals: whether the agent's code runs freely or waits for the user, by the action's kind. One gate per
 * session: the mode (switchable while the session lives), the kinds the user allowed for the rest of the session,
 * and the request waiting for a decision. Every decision is a recorded `approval` event; a rejection goes back to
 * the model as the call's result, with the user's reason, and the loop goes on.
 */
import type { SessionRecorder } from '../trace/recorder';
import type { ActionKind, IStep } from '../trace/types';

/** Run freely; ask before every execution; ask only before installs, shell commands and magics. */
export type ApprovalMode = 'run' | 'ask' | 'ask-risky';

/** The kinds `ask-risky` asks about. */
export const RISKY_KINDS: readonly ActionKind[] = ['pip', 'shell', 'magic'];

/** What waits for the user: the exact code, and the tool call with its arguments. */
export interface IApprovalRequest {
  call_id: string;
  tool: string;
  kind: ActionKind;
  code: string;
  arguments: Record<string, unknown>;
  /** For an edit: the cell's source it would replace (the prompt shows the change before it is applied). */
  before?: string;
}

/** The user's answer. */
export interface IApprovalDecision {
  choice: 'allow_once' | 'always_allow' | 'reject';
  /** Why, for a rejection (optional); the model reads it. */
  reason?: string;
}

/** The gate of one session. */
export class ApprovalGate {
  constructor(
    private readonly _recorder: SessionRecorder,
    mode: ApprovalMode = 'run',
    private readonly _onChange: () => void = () => undefined
  ) {
    this._mode = mode;
  }

  get mode(): ApprovalMode {
    return this._mode;
  }

  set mode(mode: ApprovalMode) {
    if (mode !== this._mode) {
      this._mode = mode;
      this._recorder.event('approval_mode', { mode });
      this._onChange();
    }
  }

  /**
   * Take up a continued session's decisions from its steps: the kinds the user always allowed, and the mode last
   * chosen in it (not recorded again). A continued session asks no more than it did before the reload.
   */
  restore(steps: readonly IStep[]): void {
    for (const step of steps) {
      if (step.type === 'event' && step.event === 'approval' && step.detail.decision === 'always_allow') {
        this._always.add(step.detail.kind as ActionKind);
      }
    }
    this._mode = lastApprovalMode(steps) ?? this._mode;
    this._onChange();
  }

  /** Kinds the user allowed for the rest of the session. */
  get alwaysAllowed(): readonly ActionKind[] {
    return [...this._always];
  }

  /** The request waiting for the user; null when none. */
  get pending(): IApprovalRequest | null {
    return this._pending?.request ?? null;
  }

  /** Whether code of `kind` waits for the user in the current mode. */
  asks(kind: ActionKind): boolean {
    if (this._mode === 'run' || this._always.has(kind)) {
      return false;
    }
    return this._mode === 'ask' || RISKY_KINDS.includes(kind);
  }

  /**
   * Null when `request` may run (at once when the mode does not ask); else the text the model reads instead of
   * its result (rejected, or the run stopped while waiting: `signal`).
   */
  async check(request: IApprovalRequest, signal?: AbortSignal): Promise<string | null> {
    if (!this.asks(request.kind)) {
      return null;
    }
    const askedAt = new Date().toISOString();
    let decision: IApprovalDecision | null;
    try {
      decision = await this._wait(request, signal);
    } finally {
      this._pending = null;
      this._onChange();
    }
    const common = { call_id: request.call_id, tool: request.tool, kind: request.kind, mode: this._mode, asked_at: askedAt };
    if (!decision) {
      this._recorder.event('approval', { ...common, decision: 'cancelled', decided_by: 'stop', reason: null });
      return `${notDone(request)}: the run was stopped while this call waited for the user's approval`;
    }
    const reason = decision.reason?.trim() || null;
    this._recorder.event('approval', { ...common, decision: decision.choice, decided_by: 'user', reason });
    if (decision.choice === 'always_allow') {
      this._always.add(request.kind);
    }
    if (decision.choice !== 'reject') {
      return null;
    }
    return `${notDone(request)}: the user rejected this ${request.tool} call${reason ? `, saying: ${reason}` : ' (no reason given)'}. Do not run it again as it was; take the user's answer into account.`;
  }

  /** Answer the pending request (nothing happens when none waits). */
  decide(decision: IApprovalDecision): void {
    this._pending?.resolve(decision);
  }

  private _wait(request: IApprovalRequest, signal?: AbortSignal): Promise<IApprovalDecision | null> {
    return new Promise(resolve => {
      if (signal?.aborted) {
        return resolve(null);
      }
      const onAbort = () => resolve(null);
      signal?.addEventListener('abort', onAbort, { once: true });
      this._pending = {
        request,
        resolve: decision => {
          signal?.removeEventListener('abort', onAbort);
          resolve(decision);
        }
      };
      this._onChange();
    });
  }

  private _mode: ApprovalMode;
  private readonly _always = new Set<ActionKind>();
  private _pending: { request: IApprovalRequest; resolve: (decision: IApprovalDecision) => void } | null = null;
}

/** How a call that did not happen is told: an edit was not applied, code was not run. */
function notDone(request: IApprovalRequest): string {
  return request.tool === 'edit_cell' ? 'not applied' : 'not run';
}

/** The approval mode last chosen in a session's steps; null when it was never changed. */
export function lastApprovalMode(steps: readonly IStep[]): ApprovalMode | null {
  let mode: ApprovalMode | null = null;
  for (const step of steps) {
    if (step.type === 'event' && step.event === 'approval_mode') {
      mode = step.detail.mode as ApprovalMode;
    }
  }
  return mode;
}
