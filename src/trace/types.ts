/**
 * The canonical execution-verified sample (see ../shared/design/sample-format.md) and the pieces the agent,
 * the notebook drivers and the recorder exchange. `schema/sample.schema.json` is the JSON Schema of `ISample`;
 * tests validate every record against it.
 */
import type * as nbformat from '@jupyterlab/nbformat';

/** Name and version of the record format; bump the version on any incompatible change. */
export const SAMPLE_SCHEMA = { name: 'jupyterlab-aiev/sample', version: '0.1.0' } as const;

/** How an execution ended. */
export type ExecutionStatus = 'ok' | 'error' | 'timeout' | 'interrupted' | 'kernel_died';

/** What an agent action does, derived from its source. */
export type ActionKind = 'python' | 'pip' | 'shell' | 'magic' | 'final_answer' | 'notebook';

/** `ename` / `evalue` of a Python exception. */
export interface IErrorSummary {
  ename: string;
  evalue: string;
}

/** One distribution as `importlib.metadata` reports it in the kernel. */
export interface IPackageVersion {
  name: string;
  version: string;
}

/** What an install execution changed in the kernel's environment. */
export interface IInstallResult {
  /** Distributions added or whose version changed (after vs before), sorted by name. */
  resolved: IPackageVersion[];
  /** Distributions that disappeared. */
  removed: IPackageVersion[];
  /** True when a changed distribution provides a module the kernel had already imported. */
  restart_required: boolean;
}

/** A tool call (native mode) or execution request (fenced mode) in an assistant turn. */
export interface IAction {
  call_id: string;
  tool: string;
  kind: ActionKind;
  /** Target cell; null for tools without one (read_notebook, restart_kernel, final_answer). */
  cell_id: string | null;
  /** Arguments as the model sent them, parsed; `raw_arguments` holds the text when it did not parse. */
  arguments: Record<string, unknown>;
  raw_arguments?: string;
  code?: string;
  answer?: string;
}

/** A user turn. */
export interface IUserStep {
  type: 'user';
  text: string;
  time: string;
}

/** A model turn. */
export interface IAssistantStep {
  type: 'assistant';
  text: string;
  reasoning?: string;
  actions: IAction[];
  time: string;
  /** Model-reported token usage for this turn, when the endpoint gives it. */
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  finish_reason?: string | null;
}

/** One real kernel execution and exactly what the model was shown of it. */
export interface IExecutionStep {
  type: 'execution';
  call_id: string;
  cell_id: string;
  /** The source that ran. */
  code: string;
  executor: 'ipykernel';
  execution_count: number | null;
  status: ExecutionStatus;
  started_at: string;
  duration_ms: number;
  error?: IErrorSummary;
  /** Raw nbformat outputs, lossless unless `truncated` (see `outputs_cap_bytes`). */
  outputs: nbformat.IOutput[];
  /** True when raw outputs exceeded the cap and their middle was dropped. */
  truncated: boolean;
  /** The model-facing text, byte for byte what went into the tool message. */
  model_text: string;
  /** Installs only. */
  install?: IInstallResult;
  /** The kernel asked for stdin during this execution (and was refused). */
  stdin_requested?: boolean;
}

/**
 * The answer to a tool call that ran nothing on the kernel (edit_cell, read_notebook, restart_kernel,
 * final_answer, malformed or unknown calls), exactly as the model saw it.
 */
export interface IToolResultStep {
  type: 'tool_result';
  call_id: string;
  cell_id: string | null;
  model_text: string;
  /** The call was refused (bad arguments, unknown tool or cell). */
  is_error: boolean;
  time: string;
}

/**
 * Something that happened outside the dialogue: silent/introspection executions, kernel restarts, retries, faults,
 * a cell a person edited under the agent (`user_edit`), a session continued from its log (`resumed`), its notebook
 * or kernel gone (`driver_lost`), the model client adapting to its server's dialect (`model_adaptation`), a replay
 * of the final notebook by the verify gate (`verify_gate`), the user's decision on code waiting for approval
 * (`approval`: call, kind, mode, decision, who decided, reason), a change of the approval mode (`approval_mode`),
 * the notebook's cells put back to before a run (`undo_run`), a cell the agent added or changed with the source it
 * replaced (`agent_cell`: call, cell, turn, before, after) and the user's review of it (`review`, `IReviewDetail`).
 */
export interface IEventStep {
  type: 'event';
  event:
    | 'silent_execution'
    | 'kernel_restart'
    | 'kernel_died'
    | 'model_retry'
    | 'model_adaptation'
    | 'model_error'
    | 'tool_error'
    | 'interrupted'
    | 'notebook_saved'
    | 'user_edit'
    | 'resumed'
    | 'driver_lost'
    | 'verify_gate'
    | 'approval'
    | 'approval_mode'
    | 'undo_run'
    | 'agent_cell'
    | 'review';
  time: string;
  detail: Record<string, unknown>;
}

/**
 * The detail of a `review` event: the user accepted or rejected a cell the agent added (`before` null) or changed.
 * `replacement` is the user's own source when they had edited the agent's cell before rejecting it (the cell keeps
 * it); otherwise a rejection put `before` back (or removed the added cell) and `replacement` is null.
 */
export interface IReviewDetail {
  cell_id: string;
  /** The call that added or changed the cell (execute_cell, edit_cell, or a fenced execution). */
  call_id: string;
  tool: string;
  /** The user turn (1-based) whose run made the change. */
  turn: number;
  change: 'added' | 'changed';
  decision: 'accepted' | 'rejected';
  decided_by: 'user';
  /** A cell's own Accept/Reject, or the run's Accept all/Reject all. */
  scope: 'cell' | 'run';
  before: string | null;
  after: string;
  replacement: string | null;
}

export type IStep = IUserStep | IAssistantStep | IExecutionStep | IToolResultStep | IEventStep;

/** The OpenAI-format definition of a tool the model was given. */
export interface IToolDefinition {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** Where the sample came from. Never holds an API key. */
export interface ISource {
  app: string;
  app_version: string;
  model: string;
  /** Host (and port) of the model endpoint only, never a path with a key or the key itself. */
  provider_host: string;
  tool_mode: 'native' | 'fenced';
  stream: boolean;
  sampling: Record<string, unknown>;
  system_prompt_id: string;
  /** Server path of the notebook the session worked on (sidebar sessions). */
  notebook_path?: string;
}

export interface ITask {
  prompt: string;
  system?: string;
  attachments: { path: string; sha256: string }[];
  tests?: string[];
  /** Python sources run silently before the agent starts (and before the final notebook in a replay). */
  setup?: string[];
  tags: string[];
}

/** Interpreter and kernel facts, and the packages before and after the session. */
export interface IEnvironment {
  python: string;
  implementation: string;
  platform: string;
  kernel: { name: string; language: string; protocol_version: string; ipykernel: string | null };
  packages_before: IPackageVersion[];
  packages_after: IPackageVersion[];
  installed_during_session: IPackageVersion[];
  /**
   * Names (never values) of the kernel's secret-named environment variables; their values were scrubbed from the
   * record, and the verifier scrubs the same variables' values from replayed outputs.
   */
  secret_env_names?: string[];
}

export type Verdict = 'verified' | 'diverged' | 'failed' | 'unverified';

export interface IVerification {
  interactive: { turns: number; executions: number; errors: number; fixes: number };
  /** Filled by the replay verifier; null until replayed. */
  replay: Record<string, unknown> | null;
  tests: Record<string, unknown> | null;
  verdict: Verdict;
  criteria_version: string;
}

/** How the run ended. */
export interface IOutcome {
  /** `final_answer`: the model called it; otherwise why the loop stopped. */
  reason: 'final_answer' | 'max_steps' | 'model_error' | 'cancelled' | 'error';
  answer?: string;
  message?: string;
}

/** The canonical record of one agent session. */
export interface ISample {
  schema: { name: string; version: string };
  id: string;
  created_at: string;
  license: string;
  redactions: { kind: string; location: string }[];
  source: ISource;
  task: ITask;
  tools: IToolDefinition[];
  steps: IStep[];
  notebook: nbformat.INotebookContent | null;
  verification: IVerification;
  environment: IEnvironment | null;
  outcome: IOutcome | null;
  /** Cap on raw output bytes kept per execution; executions over it have `truncated: true`. */
  outputs_cap_bytes: number;
}
