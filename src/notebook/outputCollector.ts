/**
 * Builds the nbformat outputs of one execution from its IOPub messages, the way JupyterLab's output area
 * stores them, while keeping memory bounded: past a byte cap the middle of the output is dropped and a
 * marker says how much.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import type { KernelMessage } from '@jupyterlab/services';

import type { IErrorSummary } from '../trace/types';
import { formatCount, keepSlice, prefixWithinBytes, TextChunks, utf8Length } from './cappedText';

/** Default cap on the raw output bytes kept per execution (5 MiB). */
export const DEFAULT_OUTPUT_CAP_BYTES = 5 * 1024 * 1024;

/** Options of an `OutputCollector`. */
export interface IOutputCollectorOptions {
  /** Cap on the UTF-8 bytes of output payload kept; the first half is the head, the second the rolling tail. */
  capBytes?: number;
}

/** An error output's summary plus its (raw, ANSI-coloured) traceback. */
export interface IErrorDetail extends IErrorSummary {
  traceback: string[];
}

/**
 * Collects the IOPub messages of one execution into nbformat outputs.
 *
 * Semantics follow JupyterLab's `OutputArea`: consecutive same-name streams merge, `clear_output` clears now
 * or (with `wait`) when the next output arrives, `update_display_data` replaces the data and metadata of the
 * `display_data` outputs created with the same `transient.display_id`, and `transient` is not stored.
 * Stream text is stored exactly as received (carriage returns and backspaces are not applied).
 *
 * Memory: the first `capBytes / 2` bytes are kept as the head and the last `capBytes / 2` as a rolling tail;
 * whatever falls in between is dropped and replaced by one marker (inside the stream text when the gap lies
 * within one stream output, otherwise as a `display_data` marker output). CPU is linear in the input.
 */
export class OutputCollector {
  /** The cap in bytes. */
  readonly capBytes: number;

  constructor(options: IOutputCollectorOptions = {}) {
    this.capBytes = Math.max(2, Math.floor(options.capBytes ?? DEFAULT_OUTPUT_CAP_BYTES));
    this._headBudget = Math.floor(this.capBytes / 2);
    this._tailBudget = this.capBytes - this._headBudget;
  }

  /** True when `outputs()` lacks something because of the cap (reset by a clear, which discards it anyway). */
  get truncated(): boolean {
    return this._gap || this._replacedBytes > 0;
  }

  /** UTF-8 bytes of every output payload seen, including dropped, cleared and update payloads. */
  get totalBytes(): number {
    return this._totalBytes;
  }

  /** Feeds one IOPub message; message types that do not produce outputs are ignored. */
  add(msg: KernelMessage.IIOPubMessage): void {
    switch (msg.header.msg_type) {
      case 'stream': {
        const { name, text } = (msg as KernelMessage.IStreamMsg).content;
        const joined = typeof text === 'string' ? text : (text as string[]).join('');
        const bytes = this._count(utf8Length(joined));
        this._addStream(name, joined, bytes);
        break;
      }
      case 'display_data':
      case 'execute_result': {
        const { data, metadata, transient } = (msg as KernelMessage.IDisplayDataMsg).content;
        const bytes = this._count(bundleBytes(data));
        if (msg.header.msg_type === 'execute_result') {
          const count = (msg as KernelMessage.IExecuteResultMsg).content.execution_count;
          const result = { output_type: 'execute_result', execution_count: count, data, metadata: metadata ?? {} };
          this._addRich(result, bytes);
        } else {
          this._addRich({ output_type: 'display_data', data, metadata: metadata ?? {} }, bytes, transient?.display_id);
        }
        break;
      }
      case 'error': {
        const { ename, evalue, traceback } = (msg as KernelMessage.IErrorMsg).content;
        const bytes = this._count(utf8Length(ename + evalue + traceback.join('')));
        this._addRich({ output_type: 'error', ename, evalue, traceback }, bytes);
        break;
      }
      case 'update_display_data': {
        const { data, metadata, transient } = (msg as KernelMessage.IUpdateDisplayDataMsg).content;
        this._totalBytes += bundleBytes(data);
        this._updateDisplay(transient?.display_id, { output_type: 'display_data', data, metadata: metadata ?? {} });
        break;
      }
      case 'clear_output':
        if ((msg as KernelMessage.IClearOutputMsg).content.wait) {
          this._clearPending = true;
        } else {
          this._reset();
        }
        break;
      default:
        break;
    }
  }

  /** The nbformat outputs so far (stream text as one string per output). */
  outputs(): nbformat.IOutput[] {
    const head = this._head;
    const tail = this._tail.slice(this._tailStart);
    const gap = this._gap;
    const result: nbformat.IOutput[] = head.map(toOutput);
    const last = head[head.length - 1];
    const first = tail[0];
    let rest = tail;
    if (last?.kind === 'stream' && first?.kind === 'stream' && first.id === last.id) {
      // The stream at the head/tail boundary: one output, the marker (if any) inside its text.
      const headText = last.chunks.text();
      const marker = gap ? streamMarker(headText, this._droppedBytes) : '';
      result[result.length - 1] = streamOutput(last.name, headText + marker + first.chunks.text());
      rest = tail.slice(1);
    } else if (gap) {
      result.push(gapMarkerOutput(this._droppedBytes, this._droppedOutputs));
    }
    return result.concat(rest.map(toOutput));
  }

  /** Counts an output's bytes into the total and applies a pending `clear_output(wait=True)`. */
  private _count(bytes: number): number {
    this._totalBytes += bytes;
    if (this._clearPending) {
      this._reset();
    }
    return bytes;
  }

  private _addStream(name: nbformat.StreamType, text: string, bytes: number): void {
    if (text === '') {
      return;
    }
    const last = this._last;
    const continues = last?.kind === 'stream' && last.name === name;
    const id = continues ? last.id : this._nextId++;
    if (!this._spilled && this._headBytes < this._headBudget) {
      let entry: IStreamEntry;
      if (continues) {
        entry = last;
      } else {
        entry = newStream(id, name, false);
        this._head.push(entry);
      }
      this._last = entry;
      const room = this._headBudget - this._headBytes;
      if (bytes <= room) {
        entry.chunks.push(text, bytes);
        this._headBytes += bytes;
        return;
      }
      const cut = prefixWithinBytes(text, bytes, room);
      entry.chunks.push(keepSlice(text, 0, cut.chars), cut.bytes);
      this._headBytes += cut.bytes;
      text = keepSlice(text, cut.chars, text.length);
      bytes -= cut.bytes;
    }
    let entry = this._last;
    if (!(entry?.kind === 'stream' && entry.id === id && entry.inTail)) {
      entry = newStream(id, name, true);
      this._tail.push(entry);
      this._spilled = true;
      this._last = entry;
    }
    entry.chunks.push(text, bytes);
    this._tailBytes += bytes;
    this._trimTail();
  }

  private _addRich(output: nbformat.IOutput, bytes: number, displayId?: string): void {
    const inTail = this._spilled || this._headBytes + bytes > this._headBudget;
    const entry: IRichEntry = { kind: 'rich', id: this._nextId++, inTail, output, bytes, displayId };
    if (inTail) {
      this._tail.push(entry);
      this._tailBytes += bytes;
      this._spilled = true;
    } else {
      this._head.push(entry);
      this._headBytes += bytes;
    }
    this._last = entry;
    if (displayId) {
      const targets = this._displays.get(displayId) ?? [];
      targets.push(entry);
      this._displays.set(displayId, targets);
    }
    this._trimTail();
  }

  /** Replaces the `display_data` outputs created with `displayId`; unknown ids are ignored, as JupyterLab does. */
  private _updateDisplay(displayId: string | undefined, output: nbformat.IDisplayData): void {
    const updateBytes = bundleBytes(output.data);
    for (const entry of (displayId && this._displays.get(displayId)) || []) {
      let bytes = updateBytes;
      let replacement: nbformat.IOutput = output;
      if (!entry.inTail && this._headBytes - entry.bytes + bytes > this._headBudget) {
        // The head never grows past its budget: an oversized update of a head output becomes a marker.
        const text = `[... aiev: display update of ${formatCount(bytes)} bytes dropped (output cap) ...]`;
        this._replacedBytes += bytes;
        replacement = { output_type: 'display_data', data: { 'text/plain': text }, metadata: {} };
        bytes = utf8Length(text);
      }
      if (entry.inTail) {
        this._tailBytes += bytes - entry.bytes;
      } else {
        this._headBytes += bytes - entry.bytes;
      }
      entry.output = replacement;
      entry.bytes = bytes;
    }
    this._trimTail();
  }

  /** Drops from the front of the tail until it fits its budget. */
  private _trimTail(): void {
    const headLastId = this._head[this._head.length - 1]?.id;
    while (this._tailBytes > this._tailBudget && this._tailStart < this._tail.length) {
      const front = this._tail[this._tailStart];
      const excess = this._tailBytes - this._tailBudget;
      if (front.kind === 'stream' && front.chunks.bytes > excess) {
        const dropped = front.chunks.dropFront(excess);
        this._tailBytes -= dropped;
        this._droppedBytes += dropped;
        break;
      }
      this._tail[this._tailStart++] = DROPPED;
      this._tailBytes -= entryBytes(front);
      this._droppedBytes += entryBytes(front);
      if (front.id !== headLastId) {
        this._droppedOutputs++;
      }
      if (front.kind === 'rich' && front.displayId) {
        const rest = (this._displays.get(front.displayId) ?? []).filter(e => e !== front);
        this._displays.set(front.displayId, rest);
      }
      if (front === this._last) {
        this._last = null;
      }
    }
    if (this._tailStart > 64 && this._tailStart * 2 > this._tail.length) {
      this._tail = this._tail.slice(this._tailStart);
      this._tailStart = 0;
    }
  }

  /** True when something between head and tail was dropped. */
  private get _gap(): boolean {
    return this._droppedBytes > 0 || this._droppedOutputs > 0;
  }

  private _reset(): void {
    this._head = [];
    this._tail = [];
    this._tailStart = 0;
    this._spilled = false;
    this._headBytes = 0;
    this._tailBytes = 0;
    this._droppedBytes = 0;
    this._droppedOutputs = 0;
    this._replacedBytes = 0;
    this._displays.clear();
    this._last = null;
    this._clearPending = false;
  }

  private readonly _headBudget: number;
  private readonly _tailBudget: number;
  private _head: Entry[] = [];
  private _tail: Entry[] = [];
  private _tailStart = 0;
  /** Set once anything went to the tail: from then on the head is sealed. */
  private _spilled = false;
  private _headBytes = 0;
  private _tailBytes = 0;
  private _droppedBytes = 0;
  private _droppedOutputs = 0;
  private _replacedBytes = 0;
  private _totalBytes = 0;
  private _nextId = 0;
  private _last: Entry | null = null;
  private _clearPending = false;
  private readonly _displays = new Map<string, IRichEntry[]>();
}

/** The first error output's name, value and traceback, or undefined when there is none. */
export function errorSummary(outputs: readonly nbformat.IOutput[]): IErrorDetail | undefined {
  for (const output of outputs) {
    if (output.output_type === 'error') {
      const error = output as nbformat.IError;
      return { ename: error.ename, evalue: error.evalue, traceback: error.traceback };
    }
  }
  return undefined;
}

/** A stream output: consecutive same-name stream messages; head and tail parts share an `id`. */
interface IStreamEntry {
  kind: 'stream';
  id: number;
  inTail: boolean;
  name: nbformat.StreamType;
  chunks: TextChunks;
}

/** Any other output, kept whole or dropped whole. */
interface IRichEntry {
  kind: 'rich';
  id: number;
  inTail: boolean;
  output: nbformat.IOutput;
  bytes: number;
  displayId?: string;
}

type Entry = IStreamEntry | IRichEntry;

/** Placeholder for a dropped tail entry until the array is compacted (so its text can be collected). */
const DROPPED: IRichEntry = { kind: 'rich', id: -1, inTail: true, output: { output_type: 'display_data' }, bytes: 0 };

function newStream(id: number, name: nbformat.StreamType, inTail: boolean): IStreamEntry {
  return { kind: 'stream', id, name, inTail, chunks: new TextChunks() };
}

function entryBytes(entry: Entry): number {
  return entry.kind === 'stream' ? entry.chunks.bytes : entry.bytes;
}

function toOutput(entry: Entry): nbformat.IOutput {
  return entry.kind === 'stream' ? streamOutput(entry.name, entry.chunks.text()) : entry.output;
}

function streamOutput(name: nbformat.StreamType, text: string): nbformat.IStream {
  return { output_type: 'stream', name, text };
}

/** The marker line placed inside a stream whose middle was dropped. */
function streamMarker(headText: string, droppedBytes: number): string {
  const lead = headText === '' || headText.endsWith('\n') ? '' : '\n';
  return `${lead}[... aiev: ${formatCount(droppedBytes)} bytes of stream output dropped ...]\n`;
}

/** The marker output placed between head and tail when the gap spans output boundaries. */
function gapMarkerOutput(droppedBytes: number, droppedOutputs: number): nbformat.IDisplayData {
  const outputs = droppedOutputs > 0 ? ` (${formatCount(droppedOutputs)} whole outputs)` : '';
  return {
    output_type: 'display_data',
    data: { 'text/plain': `[... aiev: ${formatCount(droppedBytes)} bytes of output dropped${outputs} ...]` },
    metadata: { aiev: { dropped_bytes: droppedBytes, dropped_outputs: droppedOutputs } }
  };
}

/** UTF-8 bytes of a mime bundle's values (JSON values counted as their serialisation). */
function bundleBytes(data: nbformat.IMimeBundle | undefined): number {
  let bytes = 0;
  for (const value of Object.values(data ?? {})) {
    if (typeof value === 'string') {
      bytes += utf8Length(value);
    } else if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
      bytes += value.reduce((n: number, v) => n + utf8Length(v as string), 0);
    } else if (value !== undefined) {
      bytes += utf8Length(JSON.stringify(value) ?? '');
    }
  }
  return bytes;
}
