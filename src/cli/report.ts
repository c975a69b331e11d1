/** `aiev report`: a classroom's collection folder as a table, JSON and a self-contained HTML page. */
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, isAbsolute, join, resolve } from 'path';

import { classroomReport, countSession, ICollectedSession, readCollectedSessions, reportTable } from '../report/classroom';
import { reportHtml } from '../report/html';
import { parseOptions, UsageError } from './connect';
import { verifyAll } from './verifyAll';

export const REPORT_USAGE = `Usage: aiev report FOLDER [--out report.html] [--json report.json] [--verify [--homes PATTERN]]

Summarises a classroom's collection folder (c.AievBridge.collection_dir: one folder per student, each session's
record and event log): per student and assignment notebook, the sessions, questions, agent turns, errors hit and
fixed, verdicts, packages installed and time spent. Prints the table; --out writes a self-contained HTML page
with charts (verdicts per student, errors by type, turns per session), --json the same figures as JSON.
A session with an event log but no record yet is counted from its log; a file that cannot be read is listed
and skipped.

  --verify             replay every session in a fresh local kernel first (one verifier process), so the
                       verdicts are more than what each session had (most are unverified); the collection is
                       not changed
  --homes PATTERN      where the students' files are, for the replays: PATTERN with {student} replaced is a
                       student's server root (e.g. /home/jupyter-{student}); the files a session read are taken
                       from its notebook's folder there. Without it those sessions replay without their files
  --concurrency N      replays (kernels) at once (default 2)
  --timeout SECONDS    per-cell replay timeout (default 120)`;

/** Write `text` to `path` whole (a temporary file renamed over it). */
function writeWhole(path: string, text: string): void {
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
}

export async function reportCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    { out: { type: 'string' }, json: { type: 'string' }, verify: { type: 'boolean' }, homes: { type: 'string' }, concurrency: { type: 'string' }, timeout: { type: 'string' } } as const,
    true
  );
  if (positionals.length !== 1) {
    throw new UsageError('give exactly one collection folder');
  }
  const folder = resolve(positionals[0]);
  try {
    if (!statSync(folder).isDirectory()) {
      throw new Error();
    }
  } catch {
    throw new UsageError(`no such folder: ${positionals[0]}`);
  }
  const { entries, skipped } = readCollectedSessions(folder);
  if (values.verify) {
    await verifyCollected(entries, values, log);
  } else if (values.homes) {
    throw new UsageError('--homes goes with --verify');
  }
  const sessions = entries.map(entry => countSession(entry.student, entry.sample, entry.fromLog));
  const report = classroomReport(folder, sessions, skipped);
  process.stdout.write(reportTable(report) + '\n');
  if (values.json) {
    writeWhole(values.json, JSON.stringify(report, null, 2) + '\n');
    log(`aiev report: JSON → ${values.json}`);
  }
  if (values.out) {
    writeWhole(values.out, reportHtml(report));
    log(`aiev report: HTML → ${values.out}`);
  }
  return 0;
}

/**
 * Replay the collected sessions (scratch copies: the collection is only read), each with the files its code read
 * from its notebook's folder under `--homes`; a session that cannot be replayed keeps its verdict and is logged.
 */
async function verifyCollected(entries: ICollectedSession[], values: { homes?: string; concurrency?: string; timeout?: string }, log: (line: string) => void): Promise<void> {
  const homes = values.homes;
  if (homes !== undefined && !homes.includes('{student}')) {
    throw new UsageError('--homes needs {student} in it, e.g. /home/jupyter-{student}');
  }
  const scratch = mkdtempSync(join(tmpdir(), 'aiev-report-'));
  try {
    const inputs = entries.map(entry => ({
      sample: entry.sample,
      label: entry.path,
      // Without --homes: the session's own folder in the collection, which holds no student file.
      attachmentsFrom: homes ? notebookFolder(homes.replace(/\{student\}/g, entry.student), entry.sample.source.notebook_path) : dirname(entry.path)
    }));
    const concurrency = Math.max(1, Number(values.concurrency ?? 2) || 1);
    const failed = await verifyAll(inputs, scratch, { timeout: Number(values.timeout ?? 120), jobs: concurrency, verifierArgs: [], command: 'aiev report' }, log);
    log(`aiev report: ${entries.length - failed.size} of ${entries.length} sessions replayed`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The folder of a notebook under a student's root; the root itself for a path that would lead out of it. */
function notebookFolder(root: string, notebookPath: string | undefined): string {
  const folder = dirname(notebookPath || '.');
  return isAbsolute(folder) || folder.split(/[\\/]/).includes('..') ? resolve(root) : join(resolve(root), folder);
}
