/**
 * What a harvest tells its user about each input: one line of `DATASET.verdicts.jsonl` per input (its verdict,
 * what was compared, the first differing cell and what differed, or the error and its cause) and the counts by
 * cause for the summary. A cause is read from the replay's first failure: `network`, `missing file`, `missing
 * package`, `API change` (the library's API moved since the notebook ran: an attribute, name, keyword or style
 * that is gone), `timeout`, `kernel died`, else `error in the notebook`; a divergence is `output differs`; a sample
 * verified with no cell compared by text or image is `verified by status only`.
 */
import type { ISample, IVerification } from '../trace/types';

/** Why an input came out as it did (see the module doc). */
export type Cause =
  | 'verified'
  | 'verified by status only'
  | 'output differs'
  | 'network'
  | 'missing file'
  | 'missing package'
  | 'API change'
  | 'timeout'
  | 'kernel died'
  | 'error in the notebook'
  | 'not replayed'
  | 'could not verify'
  | 'bad input';

interface IReplayedError {
  ename?: string;
  evalue?: string;
  traceback?: string;
}

interface IReplayedCell {
  cell_id: string;
  status: string;
  compared: string;
  match: boolean;
  diff?: string;
  error?: IReplayedError;
  setup?: boolean;
}

/** One line of `DATASET.verdicts.jsonl`. */
export interface IVerdictLine {
  input: string;
  id: string | null;
  verdict: IVerification['verdict'] | null;
  cause: Cause;
  /** Cells by what was compared (`replay.compared`), when replayed. */
  compared?: Record<string, number>;
  /** The first cell whose outputs differ: its id and the diff. */
  first_difference?: { cell_id: string; diff: string };
  /** The first failure: where (`cell <id>`, `setup <n>`, `test <n>`, `attachment <path>`), the exception. */
  error?: { where: string; ename: string; evalue: string };
  /** Which environment replayed (`replay.environment`). */
  environment?: unknown;
  /** Whether the sample went into the dataset, else why not. */
  kept?: boolean;
  dropped?: string;
}

const NETWORK = /ConnectionError|URLError|HTTPError|gaierror|ConnectTimeout|ReadTimeout|SSLError|MaxRetryError|NewConnectionError|RemoteDisconnected/;
const NETWORK_TEXT = /Name or service not known|Temporary failure in name resolution|Network is unreachable|Connection refused|nodename nor servname/i;
/** A library saying another one it needs is missing (plotly: "Mime type rendering requires nbformat>=4.2.0 but it is not installed"). */
const MISSING_TEXT = /requires \S+ but (?:it )?is not installed|is required but (?:it )?is not installed|please install (?:the )?[\w.-]+ (?:package|module)/i;
const API_TEXT = /has no attribute|cannot import name|unexpected keyword argument|got an unexpected|missing \d+ required (?:positional|keyword-only) argument|is not a valid package style|is deprecated and (?:was|has been) removed|no longer supported|removed in/i;

/** The cause of a replay error (module doc). */
export function causeOfError(error: IReplayedError, status = 'error'): Cause {
  const ename = error.ename ?? '';
  const text = `${error.evalue ?? ''}\n${error.traceback ?? ''}`;
  if (status === 'timeout' || ename === 'CellTimeoutError') {
    return 'timeout';
  }
  if (ename === 'DeadKernelError') {
    return 'kernel died';
  }
  if (NETWORK.test(ename) || NETWORK_TEXT.test(text)) {
    return 'network';
  }
  if (ename === 'ModuleNotFoundError' || (ename === 'ImportError' && /No module named/.test(text)) || MISSING_TEXT.test(error.evalue ?? '')) {
    return 'missing package';
  }
  if (ename === 'FileNotFoundError' || /No such file or directory/.test(error.evalue ?? '')) {
    return 'missing file';
  }
  if (/^(?:AttributeError|ImportError|TypeError|OSError|ValueError|KeyError)$/.test(ename) && API_TEXT.test(error.evalue ?? '')) {
    return 'API change';
  }
  if (/(?:Future|Deprecation)Warning$/.test(ename)) {
    return 'API change';
  }
  return 'error in the notebook';
}

/** The verdicts line of a sample (after its replay, if any). */
export function verdictLine(input: string, sample: ISample): IVerdictLine {
  const { verification } = sample;
  const line: IVerdictLine = { input, id: sample.id, verdict: verification.verdict, cause: 'not replayed' };
  const replay = verification.replay as
    | { cells?: IReplayedCell[]; setup?: { index: number; status: string; error?: IReplayedError }[]; compared?: Record<string, number>; environment?: unknown; attachments?: { path: string; status: string }[] }
    | null;
  if (!replay) {
    return line;
  }
  line.compared = replay.compared;
  if (replay.environment !== undefined) {
    line.environment = replay.environment;
  }
  const failedSetup = (replay.setup ?? []).find(s => s.status !== 'ok');
  const failedCell = (replay.cells ?? []).find(c => c.status !== 'ok' && c.status !== 'skipped');
  const tests = (verification.tests as { results?: { index: number; status: string; error?: IReplayedError }[] } | null)?.results ?? [];
  const failedTest = tests.find(t => t.status === 'failed');
  const failure = failedSetup
    ? { where: `setup ${failedSetup.index}`, status: failedSetup.status, error: failedSetup.error }
    : failedCell
      ? { where: `cell ${failedCell.cell_id}`, status: failedCell.status, error: failedCell.error }
      : failedTest
        ? { where: `test ${failedTest.index}`, status: failedTest.status, error: failedTest.error }
        : null;
  if (verification.verdict === 'failed' && failure) {
    const error = failure.error ?? {};
    line.error = { where: failure.where, ename: error.ename ?? failure.status, evalue: error.evalue ?? '' };
    line.cause = causeOfError(error, failure.status);
    const missing = (replay.attachments ?? []).find(a => a.status !== 'copied');
    if (line.cause === 'missing file' && missing) {
      line.error.where += ` (attachment ${missing.path}: ${missing.status})`;
    }
    return line;
  }
  const differing = (replay.cells ?? []).find(c => c.status === 'ok' && !c.match);
  if (verification.verdict === 'diverged' && differing) {
    line.cause = 'output differs';
    line.first_difference = { cell_id: differing.cell_id, diff: differing.diff ?? '' };
    return line;
  }
  if (verification.verdict === 'verified') {
    const compared = replay.compared ?? {};
    line.cause = compared.text || compared.image ? 'verified' : 'verified by status only';
  } else if (verification.verdict === 'failed') {
    line.cause = 'error in the notebook'; // failed with no failing cell, setup or test named (an older block)
  } else if (verification.verdict === 'diverged') {
    line.cause = 'output differs';
  }
  return line;
}

/** Counts of lines by cause, most frequent first. */
export function countByCause(lines: IVerdictLine[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { cause } of lines) {
    counts[cause] = (counts[cause] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}
