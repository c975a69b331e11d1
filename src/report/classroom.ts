/**
 * A classroom's collection folder (python_kernel_bridge/collection.py: `<folder>/<student>/<id>.aiev.json` and
 * `<id>.aiev.events.jsonl`) read into one report: per student and assignment notebook, the sessions, questions,
 * agent turns, errors hit and fixed, verdicts, packages installed and time spent.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';

import { interactiveCounts } from '../trace/counts';
import { recordFromLogFile } from '../trace/logFile';
import type { ISample, Verdict } from '../trace/types';
import { validateSample } from '../trace/validate';

const RECORD_SUFFIX = '.aiev.json';
const EVENTS_SUFFIX = '.aiev.events.jsonl';
const VERDICTS: Verdict[] = ['verified', 'diverged', 'failed', 'unverified'];

/** One student's session, counted. */
export interface IClassroomSession {
  student: string;
  /** The notebook the session worked on (its server path; `(no notebook)` when the record names none). */
  notebook: string;
  id: string;
  /** User messages. */
  questions: number;
  /** Agent turns (assistant steps). */
  turns: number;
  errors: number;
  fixes: number;
  /** `ename` (or status) of each failed execution. */
  errorTypes: string[];
  verdict: Verdict;
  /** `name==version` of each package installed. */
  packages: string[];
  /** From the session's start to its last step. */
  seconds: number;
  /** The session has an event log but no record yet (rebuilt from the log). */
  fromLog: boolean;
}

/** One student × notebook line of the report. */
export interface IReportRow {
  student: string;
  notebook: string;
  sessions: number;
  questions: number;
  turns: number;
  errors: number;
  fixes: number;
  verdicts: Record<Verdict, number>;
  packages: string[];
  seconds: number;
}

/** What `aiev report` writes as JSON (and draws in HTML). */
export interface IClassroomReport {
  folder: string;
  generated_at: string;
  students: string[];
  notebooks: string[];
  rows: IReportRow[];
  /** The same counts per student, over every notebook. */
  per_student: IReportRow[];
  errors_by_type: Record<string, number>;
  /** Sessions by number of agent turns (bins 1, 2, 3-5, 6-10, 11-20, 21+). */
  turns_histogram: Record<string, number>;
  skipped: { path: string; reason: string }[];
}

/** One session file of a collection: whose, where, the record (from its event log when it has no record yet). */
export interface ICollectedSession {
  student: string;
  path: string;
  sample: ISample;
  fromLog: boolean;
}

/** Every session under `folder` (one sub-folder per student; dot-folders skipped), counted, and the files not usable. */
export function readCollection(folder: string): { sessions: IClassroomSession[]; skipped: { path: string; reason: string }[] } {
  const { entries, skipped } = readCollectedSessions(folder);
  return { sessions: entries.map(entry => countSession(entry.student, entry.sample, entry.fromLog)), skipped };
}

/** Every session file under `folder` with its record, and the files not usable. */
export function readCollectedSessions(folder: string): { entries: ICollectedSession[]; skipped: { path: string; reason: string }[] } {
  const entries: ICollectedSession[] = [];
  const skipped: { path: string; reason: string }[] = [];
  for (const student of readdirSync(folder).sort()) {
    const dir = join(folder, student);
    if (student.startsWith('.') || !statSync(dir).isDirectory()) {
      continue;
    }
    const names = new Set(readdirSync(dir));
    for (const name of [...names].sort()) {
      const isRecord = name.endsWith(RECORD_SUFFIX);
      const id = name.slice(0, -(isRecord ? RECORD_SUFFIX : EVENTS_SUFFIX).length);
      if (!(isRecord || (name.endsWith(EVENTS_SUFFIX) && !names.has(id + RECORD_SUFFIX)))) {
        continue;
      }
      const path = join(dir, name);
      try {
        entries.push({ student, path, sample: readSession(path, isRecord), fromLog: !isRecord });
      } catch (error) {
        skipped.push({ path, reason: (error as Error).message });
      }
    }
  }
  return { entries, skipped };
}

function readSession(path: string, isRecord: boolean): ISample {
  if (!isRecord) {
    return recordFromLogFile(path);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const check = validateSample(data);
  if (!check.valid) {
    throw new Error(`not a valid record: ${check.errors[0]}`);
  }
  return data as ISample;
}

/** One session's counts. */
export function countSession(student: string, sample: ISample, fromLog = false): IClassroomSession {
  const counts = interactiveCounts(sample.steps);
  const times = sample.steps
    .map(step => (step.type === 'execution' ? Date.parse(step.started_at) + step.duration_ms : Date.parse(step.time)))
    .filter(Number.isFinite);
  const start = Date.parse(sample.created_at);
  const end = times.length ? Math.max(...times) : start;
  return {
    student,
    notebook: sample.source.notebook_path || '(no notebook)',
    id: sample.id,
    questions: sample.steps.filter(step => step.type === 'user').length,
    turns: counts.turns,
    errors: counts.errors,
    fixes: counts.fixes,
    errorTypes: sample.steps.flatMap(step => (step.type === 'execution' && step.status !== 'ok' ? [step.error?.ename ?? step.status] : [])),
    verdict: sample.verification.verdict,
    packages: sample.steps.flatMap(step => (step.type === 'execution' ? (step.install?.resolved ?? []).map(p => `${p.name}==${p.version}`) : [])),
    seconds: Number.isFinite(start) && end > start ? (end - start) / 1000 : 0,
    fromLog
  };
}

/** The report of `sessions` read from `folder`. */
export function classroomReport(folder: string, sessions: IClassroomSession[], skipped: IClassroomReport['skipped'], now = new Date()): IClassroomReport {
  const errorsByType: Record<string, number> = {};
  const histogram: Record<string, number> = {};
  for (const session of sessions) {
    session.errorTypes.forEach(name => (errorsByType[name] = (errorsByType[name] ?? 0) + 1));
    const bin = turnsBin(session.turns);
    histogram[bin] = (histogram[bin] ?? 0) + 1;
  }
  return {
    folder,
    generated_at: now.toISOString(),
    students: unique(sessions.map(s => s.student)),
    notebooks: unique(sessions.map(s => s.notebook)),
    rows: groupRows(sessions, s => `${s.student}\u0000${s.notebook}`),
    per_student: groupRows(sessions, s => s.student).map(row => ({ ...row, notebook: '*' })),
    errors_by_type: Object.fromEntries(Object.entries(errorsByType).sort(([a, x], [b, y]) => y - x || a.localeCompare(b))),
    turns_histogram: Object.fromEntries(TURN_BINS.map(([label]) => [label, histogram[label] ?? 0])),
    skipped
  };
}

const TURN_BINS: [string, number][] = [
  ['0', 0],
  ['1', 1],
  ['2', 2],
  ['3-5', 5],
  ['6-10', 10],
  ['11-20', 20],
  ['21+', Infinity]
];

function turnsBin(turns: number): string {
  return TURN_BINS.find(([, upTo]) => turns <= upTo)![0];
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function groupRows(sessions: IClassroomSession[], key: (s: IClassroomSession) => string): IReportRow[] {
  const rows = new Map<string, IReportRow>();
  for (const s of sessions) {
    let row = rows.get(key(s));
    if (!row) {
      row = { student: s.student, notebook: s.notebook, sessions: 0, questions: 0, turns: 0, errors: 0, fixes: 0, verdicts: Object.fromEntries(VERDICTS.map(v => [v, 0])) as Record<Verdict, number>, packages: [], seconds: 0 };
      rows.set(key(s), row);
    }
    row.sessions++;
    row.questions += s.questions;
    row.turns += s.turns;
    row.errors += s.errors;
    row.fixes += s.fixes;
    row.verdicts[s.verdict]++;
    row.packages = unique([...row.packages, ...s.packages]);
    row.seconds += s.seconds;
  }
  return [...rows.values()].sort((a, b) => a.student.localeCompare(b.student) || a.notebook.localeCompare(b.notebook));
}

/** `h:mm:ss` (or `m:ss`) of a number of seconds. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** The report as a terminal table: one line per student and notebook. */
export function reportTable(report: IClassroomReport): string {
  const header = ['student', 'notebook', 'sessions', 'questions', 'turns', 'errors', 'fixed', 'verified', 'diverged', 'failed', 'unverified', 'packages', 'time'];
  const lines = report.rows.map(row => [
    row.student,
    row.notebook,
    ...[row.sessions, row.questions, row.turns, row.errors, row.fixes, ...VERDICTS.map(v => row.verdicts[v])].map(String),
    row.packages.join(' ') || '-',
    formatDuration(row.seconds)
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map(line => line[i].length)));
  const text = [header, ...lines].map(line => line.map((cell, i) => (i < 2 || i === 11 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd());
  const summary = `${report.students.length} students, ${report.notebooks.length} notebooks, ${report.rows.reduce((n, r) => n + r.sessions, 0)} sessions`;
  const skipped = report.skipped.map(s => `skipped ${s.path}: ${s.reason}`);
  return [...text, '', summary, ...skipped].join('\n');
}
