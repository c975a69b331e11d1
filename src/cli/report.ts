/** `aiev report`: a classroom's collection folder as a table, JSON and a self-contained HTML page. */
import { renameSync, statSync, writeFileSync } from 'fs';
import { resolve } from 'path';

import { classroomReport, readCollection, reportTable } from '../report/classroom';
import { reportHtml } from '../report/html';
import { parseOptions, UsageError } from './connect';

export const REPORT_USAGE = `Usage: aiev report FOLDER [--out report.html] [--json report.json]

Summarises a classroom's collection folder (c.AievBridge.collection_dir: one folder per student, each session's
record and event log): per student and assignment notebook, the sessions, questions, agent turns, errors hit and
fixed, verdicts, packages installed and time spent. Prints the table; --out writes a self-contained HTML page
with charts (verdicts per student, errors by type, turns per session), --json the same figures as JSON.
A session with an event log but no record yet is counted from its log; a file that cannot be read is listed
and skipped.`;

/** Write `text` to `path` whole (a temporary file renamed over it). */
function writeWhole(path: string, text: string): void {
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
}

export async function reportCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseOptions(argv, { out: { type: 'string' }, json: { type: 'string' } } as const, true);
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
  const { sessions, skipped } = readCollection(folder);
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
