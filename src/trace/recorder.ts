/**
 * The session recorder: every call is redacted, handed to the event-log sink as one line, and only then applied
 * to the in-memory record, so the log always rebuilds exactly that record (`recordFromLines`). Browser-safe: the
 * Node file pieces (log file sink, atomic record writes) are in `logFile.ts`.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import { UUID } from '@lumino/coreutils';

import { interactiveCounts } from './counts';
import { ILogHeader, ILogLine, ILogSink, LogKind } from './eventLog';
import { locate, redactSecrets } from './redact';
import {
  IAction,
  IAssistantStep,
  IEnvironment,
  IEventStep,
  IExecutionStep,
  IOutcome,
  ISample,
  ISource,
  IStep,
  ITask,
  IToolDefinition,
  IToolResultStep,
  IUserStep,
  IVerification,
  SAMPLE_SCHEMA
} from './types';

/** Version of the verification criteria the recorder stamps on records. */
export const CRITERIA_VERSION = '0.2';

/** `outcome.message` of a record rebuilt from a log on which `finish` was never called. */
export const RECOVERED_MESSAGE = 'run ended without finishing (log recovered)';

/** How a recorder writes and scrubs: shared by new and resumed recorders. */
export interface IRecorderIO {
  /** Where each event-log line goes as it is made (`fileLogSink` in Node, the bridge's session store in the lab). */
  sink?: ILogSink;
  /** Values (API keys…) replaced by `[REDACTED]` in everything recorded, before anything is written. */
  secrets?: readonly string[];
  /** Clock, for deterministic tests. */
  now?: () => Date;
}

/** Options of a new `SessionRecorder`. */
export interface ISessionRecorderOptions extends IRecorderIO {
  source: ISource;
  task: ITask;
  tools: IToolDefinition[];
  /** Cap on raw output bytes per execution, as applied by the notebook driver; stored in the record. */
  outputsCapBytes: number;
  /** Record id; a random UUID by default. */
  id?: string;
  /** Licence stamped on the record; `unspecified` by default. */
  license?: string;
}

/** What the agent loop reports of one model turn; `time` is filled by the recorder. */
export interface IAssistantInput {
  text: string;
  reasoning?: string;
  actions: IAction[];
  usage?: IAssistantStep['usage'];
  finish_reason?: string | null;
}

export { fixesOf, interactiveCounts } from './counts';

/** Applies one log line to the record being rebuilt (live or from a log file). */
function applyLine(sample: ISample | null, line: ILogLine): ISample {
  if (line.kind === 'header') {
    const header = line.payload as ILogHeader;
    if (header.schema?.name !== SAMPLE_SCHEMA.name) {
      throw new Error(`event log: not a ${SAMPLE_SCHEMA.name} log (schema ${JSON.stringify(header.schema)})`);
    }
    return {
      schema: header.schema,
      id: header.id,
      created_at: header.created_at,
      license: header.license,
      redactions: [...(line.redactions ?? [])],
      source: header.source,
      task: header.task,
      tools: header.tools,
      steps: [],
      notebook: null,
      verification: verificationOf([]),
      environment: null,
      outcome: null,
      outputs_cap_bytes: header.outputs_cap_bytes
    };
  }
  if (!sample) {
    throw new Error(`event log: line ${line.seq} comes before the header`);
  }
  sample.redactions.push(...(line.redactions ?? []));
  switch (line.kind) {
    case 'user':
      // A user turn after a finished one continues the session: the record is open again until the next finish,
      // and its notebook unverified until it is replayed again.
      sample.outcome = null;
      sample.verification = verificationOf([]);
      sample.steps.push(line.payload as IStep);
      break;
    case 'assistant':
    case 'execution':
    case 'tool_result':
    case 'event':
      sample.steps.push(line.payload as IStep);
      break;
    case 'environment':
      sample.environment = line.payload as IEnvironment;
      break;
    case 'notebook':
      sample.notebook = line.payload as nbformat.INotebookContent;
      break;
    case 'attachments':
      sample.task = { ...sample.task, attachments: line.payload as ITask['attachments'] };
      break;
    case 'verification':
      sample.verification = line.payload as IVerification;
      break;
    case 'finish':
      sample.outcome = line.payload as IOutcome;
      break;
    default:
      throw new Error(`event log: unknown line kind ${JSON.stringify(line.kind)}`);
  }
  return sample;
}

/** The verification block of an interactive record: counts filled, not replayed yet. */
function verificationOf(steps: readonly IStep[]): IVerification {
  const interactive = interactiveCounts(steps);
  return { interactive, replay: null, tests: null, verdict: 'unverified', criteria_version: CRITERIA_VERSION };
}

/** A deep copy of the record with its verification counts brought up to date. */
function finalise(sample: ISample): ISample {
  const copy: ISample = JSON.parse(JSON.stringify(sample));
  copy.verification = { ...copy.verification, interactive: interactiveCounts(copy.steps) };
  return copy;
}

/**
 * Records one agent session. Every call is redacted, handed to the sink as one event-log line and only then
 * applied to the in-memory record, so the log always rebuilds exactly that record. A session may have several
 * turns: `finish` ends one, a later `user` opens the next. Calls remain allowed after `finish` (a late
 * `notebook_saved` event, the final notebook).
 */
export class SessionRecorder {
  constructor(options: ISessionRecorderOptions | (IRecorderIO & { resumeFrom: readonly ILogLine[] })) {
    this._sink = options.sink;
    this._secrets = [...(options.secrets ?? [])];
    this._now = options.now ?? (() => new Date());
    if ('resumeFrom' in options) {
      this._sample = foldLines(options.resumeFrom);
      this._seq = options.resumeFrom.length;
      return;
    }
    if (!Number.isInteger(options.outputsCapBytes) || options.outputsCapBytes < 0) {
      throw new Error(`outputsCapBytes must be a non-negative integer, got ${options.outputsCapBytes}`);
    }
    const header: ILogHeader = {
      schema: { name: SAMPLE_SCHEMA.name, version: SAMPLE_SCHEMA.version },
      id: options.id ?? UUID.uuid4(),
      created_at: this._time(),
      license: options.license ?? 'unspecified',
      source: options.source,
      task: options.task,
      tools: options.tools,
      outputs_cap_bytes: options.outputsCapBytes
    };
    this._sample = this._record('header', header, '', header.created_at);
  }

  /**
   * Continues a session from its event log (a reload, a crash, a follow-up in a new process): the same record, id
   * and sequence numbers; new lines go to `io.sink`. A log cut in the middle of a turn stays open (no outcome)
   * until the next `finish`.
   */
  static resume(lines: readonly ILogLine[], io: IRecorderIO = {}): SessionRecorder {
    return new SessionRecorder({ ...io, resumeFrom: lines });
  }

  /** Id of the record. */
  get id(): string {
    return this._sample.id;
  }

  /** Where the record comes from (app, model, endpoint…), without building a snapshot. */
  get source(): Readonly<ISource> {
    return this._sample.source;
  }

  /** True once `finish` has been called and no user turn came after it. */
  get finished(): boolean {
    return this._sample.outcome !== null;
  }

  /** Number of lines recorded so far (the next line's `seq`). */
  get lineCount(): number {
    return this._seq;
  }

  /** Also scrub these values from everything recorded from now on (e.g. secrets found in the kernel). */
  addSecrets(values: readonly string[]): void {
    for (const value of values) {
      if (value && !this._secrets.includes(value)) {
        this._secrets.push(value);
      }
    }
  }

  /** Records a user turn. */
  user(text: string): IUserStep {
    const time = this._time();
    return this._step('user', { type: 'user', text, time }, time);
  }

  /** Records a model turn; `usage` keeps only `prompt_tokens` / `completion_tokens`. */
  assistant(input: IAssistantInput): IAssistantStep {
    const time = this._time();
    const step: IAssistantStep = { type: 'assistant', text: input.text, actions: input.actions, time };
    if (input.reasoning !== undefined) {
      step.reasoning = input.reasoning;
    }
    if (input.usage) {
      const { prompt_tokens, completion_tokens } = input.usage;
      step.usage = { prompt_tokens, completion_tokens };
    }
    if (input.finish_reason !== undefined) {
      step.finish_reason = input.finish_reason;
    }
    return this._step('assistant', step, time);
  }

  /**
   * Records a kernel execution as given: the notebook driver caps raw outputs at `outputs_cap_bytes` and sets
   * `truncated`; the recorder does not rewrite outputs.
   */
  execution(input: Omit<IExecutionStep, 'type'>): IExecutionStep {
    return this._step('execution', { type: 'execution', ...input }, this._time());
  }

  /** Records the answer to a tool call that ran nothing on the kernel, exactly as the model saw it. */
  toolResult(result: Omit<IToolResultStep, 'type' | 'time'>): IToolResultStep {
    const time = this._time();
    return this._step('tool_result', { type: 'tool_result', ...result, time }, time);
  }

  /** Records something outside the dialogue. */
  event(event: IEventStep['event'], detail: Record<string, unknown> = {}): IEventStep {
    const time = this._time();
    return this._step('event', { type: 'event', event, time, detail }, time);
  }

  /** Sets (or replaces) the environment facts. */
  setEnvironment(environment: IEnvironment): void {
    this._record('environment', environment, 'environment', this._time());
  }

  /** Sets (or replaces) the final notebook. */
  setNotebook(notebook: nbformat.INotebookContent): void {
    this._record('notebook', notebook, 'notebook', this._time());
  }

  /** Sets (or replaces) the task's attachments, once the files the session read are known. */
  setAttachments(attachments: ITask['attachments']): void {
    this._record('attachments', attachments, 'task.attachments', this._time());
  }

  /** Sets the verification block (a replay of the final notebook: the verify gate's last attempt). */
  setVerification(verification: IVerification): void {
    this._record('verification', verification, 'verification', this._time());
  }

  /**
   * Ends the session's current turn: stores the outcome and returns the record (verdict `unverified`, counts
   * filled). A later `user` turn opens the session again; finishing twice without one throws.
   */
  finish(outcome: IOutcome): ISample {
    if (this.finished) {
      throw new Error('SessionRecorder.finish called twice');
    }
    this._record('finish', outcome, 'outcome', this._time());
    return this.snapshot();
  }

  /** A deep copy of the record so far; `outcome` is null until `finish`. */
  snapshot(): ISample {
    return finalise(this._sample);
  }

  private _time(): string {
    return this._now().toISOString();
  }

  private _step<T extends IStep>(kind: LogKind, step: T, time: string): T {
    const sample = this._record(kind, step, locate('steps', this._sample.steps.length), time);
    return JSON.parse(JSON.stringify(sample.steps[sample.steps.length - 1]));
  }

  /** Redacts a payload, appends its line to the log, then applies it to the record. */
  private _record(kind: LogKind, payload: unknown, location: string, time: string): ISample {
    const clean = redactSecrets(payload, this._secrets, location);
    const line: ILogLine = { seq: this._seq, time, kind, payload: clean.value };
    if (clean.locations.length) {
      line.redactions = clean.locations.map(where => ({ kind: 'api_key', location: where }));
    }
    this._sink?.append(line);
    this._seq++;
    this._sample = applyLine(kind === 'header' ? null : this._sample, line);
    return this._sample;
  }

  private readonly _sink: ILogSink | undefined;
  private readonly _secrets: string[];
  private readonly _now: () => Date;
  private _seq = 0;
  private _sample!: ISample;
}

/** Folds log lines into the record they describe (no outcome when the last turn was never finished). */
function foldLines(lines: readonly ILogLine[]): ISample {
  let sample: ISample | null = null;
  for (const line of lines) {
    sample = applyLine(sample, line);
  }
  if (!sample) {
    throw new Error('event log has no header');
  }
  return sample;
}

/**
 * Rebuilds a record from its event log alone (crash recovery, read-only history). A log whose last turn has no
 * `finish` line gets the outcome `{ reason: 'error', message: RECOVERED_MESSAGE }`, so a recovered record is
 * complete and says why it ended.
 */
export function recordFromLines(lines: readonly ILogLine[]): ISample {
  const sample = foldLines(lines);
  if (!sample.outcome) {
    sample.outcome = { reason: 'error', message: RECOVERED_MESSAGE };
  }
  return finalise(sample);
}

/** The redacted copy of a record and the `redactions` entries for what was scrubbed (for writers of records). */
export function redactRecord(sample: ISample, secrets: readonly string[] = []): ISample {
  if (!secrets.length) {
    return sample;
  }
  const clean = redactSecrets(sample, secrets);
  clean.value.redactions.push(...clean.locations.map(location => ({ kind: 'api_key', location })));
  return clean.value;
}
