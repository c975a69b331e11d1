/**
 * The verify gate: before a session's final answer stands, its final notebook is replayed from a clean start (a
 * fresh kernel, the task's setup, the cells top to bottom, then the task's tests) by the replay verifier; when that
 * fails, what failed goes back to the model as the next user-side turn and the agent goes on, within the step cap.
 * It catches what "it worked in my kernel" hides: state from cells that failed or were overwritten, cells run out
 * of order, definitions that are gone. Every attempt is a `verify_gate` event of the record, and the last replay's
 * block is the record's `verification`. Browser-safe: how a replay is made is the caller's (`IReplayer`).
 */
import type { SessionRecorder } from '../trace/recorder';
import type { IOutcome, ISample, IVerification } from '../trace/types';

/** One replay of a record's final notebook, and where it ran (`local`, `server <host>`, …). */
export interface IGateReplay {
  verification: IVerification;
  where: string;
}

/** Replays a record's final notebook with its task's setup and tests (the Python verifier, a server's kernels…). */
export interface IReplayer {
  /** The verification block of a fresh replay of `record.notebook`; rejects when no replay could be made. */
  replay(record: ISample, signal?: AbortSignal): Promise<IGateReplay>;
}

/** The verify gate of a session (`IAgentSessionOptions.verifyGate`). */
export interface IVerifyGateOptions {
  replayer: IReplayer;
  /** Most feedback turns after the first replay (default 2); the step cap bounds them too. */
  maxRounds?: number;
}

/** Detail of a `verify_gate` event: one attempt. */
export interface IGateAttempt {
  /** 0 for the replay of the first final answer, r after r rounds of feedback. */
  attempt: number;
  where: string;
  /** The replay's verdict; null when no replay could be made (`error`). */
  verdict: IVerification['verdict'] | null;
  passed: boolean;
  tests: { passed: number; total: number } | null;
  /** What was fed back to the model (null when the gate passed or stops here). */
  feedback: string | null;
  error?: string;
}

/** What the gate needs of the session it guards. */
export interface IGateHost {
  recorder: SessionRecorder;
  /** The record with its final notebook (and attachments) brought up to date. */
  finalRecord(): ISample | Promise<ISample>;
  /** Model turns left under the step cap of the current user message. */
  turnsLeft(): number;
  /** Continue the conversation with a user-side message, at most `maxSteps` model turns. */
  continueWith(feedback: string, maxSteps: number): Promise<IOutcome>;
  onProgress?: (line: string) => void;
}

/**
 * The gate after a turn's outcome: while it is a final answer, replay the final notebook (recorded as a
 * `verify_gate` event, its block as the record's verification); when the replay does not pass and rounds and
 * model turns remain, feed the failure back and take the outcome of that continuation. Returns the last outcome.
 */
export async function gateFinalAnswer(gate: IVerifyGateOptions, outcome: IOutcome, signal: AbortSignal, host: IGateHost): Promise<IOutcome> {
  const stopped: IOutcome = { reason: 'cancelled', message: 'stopped during the verify gate' };
  for (let attempt = 0; outcome.reason === 'final_answer'; attempt++) {
    if (signal.aborted) {
      return stopped;
    }
    const record = await host.finalRecord();
    const detail: IGateAttempt = { attempt, where: '', verdict: null, passed: false, tests: null, feedback: null };
    try {
      const { verification, where } = await gate.replayer.replay(record, signal);
      Object.assign(detail, { where, verdict: verification.verdict, passed: replayPassed(record, verification), tests: testCounts(verification) });
      host.recorder.setVerification(verification);
      if (!detail.passed && attempt < (gate.maxRounds ?? DEFAULT_GATE_ROUNDS) && host.turnsLeft() > 0 && !signal.aborted) {
        detail.feedback = gateFeedback(record, verification);
      }
    } catch (error) {
      detail.error = (error as Error).message;
    }
    host.recorder.event('verify_gate', { ...detail });
    const result = detail.error ? `no replay: ${detail.error}` : `${detail.verdict}${detail.passed ? ', passed' : ''}`;
    host.onProgress?.(`[verify gate ${attempt}] ${result} (${detail.where || 'nowhere'})`);
    if (!detail.passed && signal.aborted) {
      return stopped;
    }
    if (detail.feedback === null) {
      break;
    }
    outcome = await host.continueWith(detail.feedback, host.turnsLeft());
  }
  return outcome;
}

/** Default `maxRounds`. */
export const DEFAULT_GATE_ROUNDS = 2;

/** Characters of a cell's source or a test shown in feedback. */
const SOURCE_CHARS = 1200;

/** Tests passed and run in a replay; null without tests. */
export function testCounts(verification: IVerification): { passed: number; total: number } | null {
  const tests = verification.tests as { passed?: number; results?: unknown[] } | null;
  return tests ? { passed: tests.passed ?? 0, total: tests.results?.length ?? 0 } : null;
}

/**
 * Whether a replay passes the gate: it ran from a clean start without an error (verdict `verified`, or `diverged`:
 * it ran, an output differed, e.g. random numbers) and every test passed; a task with tests needs code to replay.
 */
export function replayPassed(record: ISample, verification: IVerification): boolean {
  const tests = testCounts(verification);
  if (verification.verdict === 'unverified') {
    return !record.task.tests?.length;
  }
  return verification.verdict !== 'failed' && (!tests || tests.passed === tests.total);
}

interface IReplayError {
  ename?: string;
  evalue?: string;
  traceback?: string;
}

/** The message the model gets when a replay failed: each failing setup source, cell and test, and what to do. */
export function gateFeedback(record: ISample, verification: IVerification): string {
  const replay = (verification.replay ?? {}) as {
    setup?: { index: number; status: string; error?: IReplayError }[];
    cells?: { cell_id: string; status: string; error?: IReplayError }[];
  };
  const sourceOf = new Map((record.notebook?.cells ?? []).map(cell => [String(cell.id), joinSource(cell.source)]));
  const problems: string[] = [];
  if (verification.verdict === 'unverified') {
    problems.push('The notebook has no code cell to replay, so the task\'s tests cannot run against your work.');
  }
  for (const setup of replay.setup ?? []) {
    if (setup.status !== 'ok') {
      problems.push(`The task's setup code ${setup.index + 1} ${describe(setup.status, setup.error)}`);
    }
  }
  for (const cell of replay.cells ?? []) {
    if (cell.status !== 'ok' && cell.status !== 'skipped') {
      const source = clip(sourceOf.get(cell.cell_id) ?? '');
      problems.push(`Cell ${cell.cell_id} ${describe(cell.status, cell.error)}\nIts source:\n${source}`);
    }
  }
  const tests = (verification.tests ?? {}) as { results?: { index: number; status: string; error?: IReplayError }[] };
  for (const test of tests.results ?? []) {
    if (test.status !== 'passed') {
      const source = clip(record.task.tests?.[test.index] ?? '');
      problems.push(`Test ${test.index + 1} ${test.status === 'skipped' ? 'did not run (the kernel had stopped)' : describe('error', test.error)}\nThe test:\n${source}`);
    }
  }
  return [
    'Your final answer was checked by replaying the notebook from a clean start: a fresh kernel running, top to',
    'bottom, the last successful version of each cell in the order they ran (cells that only failed, and code you',
    "overwrote, are not in it), then the task's tests. It did not pass:",
    '',
    problems.join('\n\n'),
    '',
    'Fix the notebook so that it runs from a clean start and passes, then give your final answer again.'
  ].join('\n');
}

/** `raised NameError: name 'f' is not defined` and the end of its traceback. */
function describe(status: string, error: IReplayError | undefined): string {
  if (status === 'timeout') {
    return 'timed out';
  }
  if (!error) {
    return `ended with status ${status}`;
  }
  const line = `raised ${error.ename ?? 'an error'}${error.evalue ? `: ${error.evalue}` : ''}`;
  return error.traceback ? `${line}\n${error.traceback}` : line;
}

function clip(text: string): string {
  return text.length <= SOURCE_CHARS ? text : `${text.slice(0, SOURCE_CHARS)}\n… (${text.length - SOURCE_CHARS} more characters)`;
}

function joinSource(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}
