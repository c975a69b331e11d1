import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import type { ApprovalMode, IApprovalDecision, IApprovalRequest } from './agent/approvals';
import type { IReviewItem, ReviewDecision } from './agent/review';
import type { IOutcome, ISample, IStep } from './trace/types';

/** What the server bridge says about itself at `GET /aiev/status`. */
export interface IBridgeStatus {
  name: string;
  version: string;
  python: string;
  /** Whether the server sets TCP_NODELAY on kernel websockets (python_kernel_bridge/nodelay.py). */
  kernel_nodelay: boolean;
  /** The server's clock, epoch milliseconds. */
  time_ms: number;
}

/** What the server bridge says about the model it proxies, at `GET /aiev/config` (never the key). */
export interface IBridgeConfig {
  /** A base URL is set on the server and a model can be chosen. */
  configured: boolean;
  /** Host (and port) of the model endpoint; null when none is configured. */
  base_url_host: string | null;
  models: string[];
  /** The first of `models`; null when the server names none. */
  default_model: string | null;
  /** Whether the server holds an API key for the endpoint. */
  key_set: boolean;
  /** Name of the environment variable the key is read from. */
  key_env: string;
  /** The user-facing reason when not configured, saying what to set; null when configured. */
  message: string | null;
  /** Classroom collection (python_kernel_bridge/collection.py); null when it is off. */
  collection?: IBridgeCollection | null;
}

/** Where a classroom's server collects this user's sessions. */
export interface IBridgeCollection {
  /** The name the sessions are collected under. */
  user: string;
  required: boolean;
  /** Sessions are being saved in the collection folder. */
  active: boolean;
  /** Why they are not, when not. */
  message: string | null;
}

/** A saved session as the bridge's session store lists it. */
export interface ISessionSummary {
  id: string;
  notebook_path: string;
  created_at: string;
  updated_at: string;
  /** The first user message. */
  prompt: string;
  turns: number;
  lines: number;
  /** `cut`: the log ends without the session having been closed (a reload or a closed tab stopped it). */
  state: 'idle' | 'cut';
  outcome: IOutcome | null;
  model: string;
  has_record: boolean;
}

/** The agent settings (`schema/settings/plugin.json`), as the sidebar applies them to new sessions. */
export interface IAgentSettings {
  /** Model name; empty for the server's default model. */
  model: string;
  toolMode: 'native' | 'fenced';
  vision: boolean;
  maxSteps: number;
  /** Seconds. */
  cellTimeout: number;
  /** Characters of each output the model sees. */
  budgetChars: number;
  /** Replay the final notebook before a final answer stands, feeding failures back (the verify gate). */
  verifyGate: boolean;
  /** Whether code waits for the user's approval (src/agent/approvals.ts). */
  approvalMode: ApprovalMode;
}

/** Defaults of `IAgentSettings`, the same as the schema's. */
export const DEFAULT_AGENT_SETTINGS: IAgentSettings = {
  model: '',
  toolMode: 'native',
  vision: false,
  maxSteps: 20,
  cellTimeout: 120,
  budgetChars: 6000,
  verifyGate: false,
  approvalMode: 'run'
};

/** Whether the event log of a session has reached the server. */
export type SaveState =
  /** Every line is on the server. */
  | 'saved'
  /** Lines are on their way. */
  | 'saving'
  /** The server has not taken the last lines for a while; they are kept and resent. */
  | 'unsaved';

/**
 * What the sidebar needs of an agent session: `AgentSession` (src/agent/session.ts) is one. A session is
 * multi-turn: `send` after a final answer (or a stop) continues the same conversation and record.
 */
export interface IAgentSessionHandle {
  readonly id: string;
  /** A turn is running. */
  readonly busy: boolean;
  /** Messages sent while busy, delivered at the agent's next model turn. */
  readonly queued: readonly string[];
  readonly lastOutcome: IOutcome | null;
  /** Whether code waits for the user; settable while the session lives. */
  approvalMode: ApprovalMode;
  /** The code waiting for the user's decision; null when none waits. */
  readonly pendingApproval: IApprovalRequest | null;
  decide(decision: IApprovalDecision): void;
  /** A run ended whose cells can be put back. */
  readonly canUndo: boolean;
  /** Put the notebook's cells back to before the last run (the kernel is not undone). */
  undoLastRun(): Promise<boolean>;
  /** Restart the kernel for the user (the session goes on). */
  restartKernel(): Promise<void>;
  /** The cells the agent added or changed, waiting for Accept or Reject (with their positions). */
  readonly reviewItems: readonly IReviewItem[];
  /** The same without positions: cheap, for the notebook's marks. */
  readonly pendingReview: readonly IReviewItem[];
  /** Accept or reject one cell, or all of one run's (`turn`). */
  review(target: { cellId: string } | { turn: number }, decision: ReviewDecision): Promise<void>;
  record(): ISample;
  send(text: string): Promise<IOutcome>;
  stop(): Promise<void>;
  close(): Promise<ISample>;
  readonly stepAdded: ISignal<any, { step: IStep; index: number }>;
  readonly delta: ISignal<any, { text?: string; reasoning?: string }>;
  readonly stateChanged: ISignal<any, void>;
}

/** State shared by the sidebar views and the commands; see `AievModel` (src/ui/model.ts). */
export interface IAievModel {
  /** Emitted whenever anything the views show changes. */
  readonly changed: ISignal<IAievModel, void>;
  /** The server's model configuration; null until loaded. */
  readonly config: IBridgeConfig | null;
  /** Send a message to the current session, starting one on the active notebook if there is none. */
  send(text: string): Promise<void>;
  /** Stop the running turn: model request aborted, running cell interrupted, record saved. */
  stop(): Promise<void>;
  /** End the current session and start afresh on the active notebook. */
  newSession(): Promise<void>;
}

/** DI token of the sidebar model, for other plugins that want to drive or watch the agent. */
export const IAievModel = new Token<IAievModel>(
  'jupyterlab-aiev:IAievModel',
  'State of the jupyterlab-aiev agent sidebar.'
);
