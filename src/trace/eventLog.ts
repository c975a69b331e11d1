/**
 * The JSONL event log a `SessionRecorder` appends as a session runs: one line per recorder call after a
 * header line, each carrying a sequence number, time, kind, redacted payload and the redactions made in it.
 * This module holds the line types and `parseLog`, which reads a log back tolerating a last line cut short
 * by a crash; folding the lines into a record is the recorder's job (`recordFromLines`).
 */
import type { Redaction } from './redact';
import type { ISample, ISource, IStep, ITask, IToolDefinition } from './types';

/** Kinds of event-log lines: one per recorder call, after the header. */
export type LogKind = 'header' | IStep['type'] | 'environment' | 'notebook' | 'attachments' | 'finish';

/** Payload of the log's first line: everything of the record known at the start. */
export interface ILogHeader {
  schema: ISample['schema'];
  id: string;
  created_at: string;
  license: string;
  source: ISource;
  task: ITask;
  tools: IToolDefinition[];
  outputs_cap_bytes: number;
}

/** One line of the JSONL event log. `redactions` lists where this line's payload had secrets scrubbed. */
export interface ILogLine {
  seq: number;
  time: string;
  kind: LogKind;
  payload: unknown;
  redactions?: Redaction[];
}

/** Where a recorder's event-log lines go, in order, as they are made. */
export interface ILogSink {
  /** Takes one line; synchronous (a sink that writes asynchronously queues, in order). */
  append(line: ILogLine): void;
}

/** Parses an event log; a last line cut short by a crash is ignored, any other bad line throws. */
export function parseLog(text: string): ILogLine[] {
  const rows = text.split('\n');
  const lines: ILogLine[] = [];
  rows.forEach((row, index) => {
    if (!row.trim()) {
      return;
    }
    try {
      lines.push(JSON.parse(row) as ILogLine);
    } catch (error) {
      const isLast = rows.slice(index + 1).every(rest => !rest.trim());
      if (!isLast) {
        throw new Error(`event log: line ${index + 1} is not JSON: ${(error as Error).message}`);
      }
    }
  });
  lines.forEach((line, index) => {
    if (line.seq !== index) {
      throw new Error(`event log: expected seq ${index}, found ${line.seq}`);
    }
  });
  return lines;
}
