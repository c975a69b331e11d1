/**
 * Records on the local disk (Node only): the JSONL event-log sink the CLI writes as a session runs, reading such a
 * log back, and atomic writes of a finished record.
 */
import { randomBytes } from 'crypto';
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'fs';
import { dirname } from 'path';

import { ILogSink, parseLog } from './eventLog';
import { recordFromLines, redactRecord } from './recorder';
import type { ISample } from './types';

/** A sink appending each line to `path` (parent folders created; the header line replaces an existing file). */
export function fileLogSink(path: string): ILogSink {
  mkdirSync(dirname(path), { recursive: true });
  return {
    append: line =>
      appendFileSync(path, JSON.stringify(line) + '\n', { encoding: 'utf8', flag: line.kind === 'header' ? 'w' : 'a' })
  };
}

/** The lines of an event-log file (a last line cut short by a crash is ignored). */
export function readLogFile(path: string) {
  return parseLog(readFileSync(path, 'utf8'));
}

/** Rebuilds a record from an event-log file alone (see `recordFromLines`). */
export function recordFromLogFile(path: string): ISample {
  const lines = readLogFile(path);
  if (!lines.length) {
    throw new Error(`event log ${path} has no header`);
  }
  return recordFromLines(lines);
}

/**
 * Writes a record as 2-space JSON atomically: a temporary file in the same folder, synced, then renamed over
 * `path`. Parent folders are created. With `secrets`, they are redacted first and their places added to
 * `redactions`.
 */
export function writeSample(path: string, sample: ISample, options: { secrets?: string[] } = {}): void {
  const out = redactRecord(sample, options.secrets);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(out, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
