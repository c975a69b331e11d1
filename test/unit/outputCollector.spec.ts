import type * as nbformat from '@jupyterlab/nbformat';
import type { KernelMessage } from '@jupyterlab/services';

import { utf8Length } from '../../src/notebook/cappedText';
import { DEFAULT_OUTPUT_CAP_BYTES, OutputCollector, errorSummary } from '../../src/notebook/outputCollector';
import { ZERO_DIVISION_TRACEBACK } from '../fixtures/tracebacks';

let sequence = 0;

/** An IOPub message shaped like the protocol's, as ipykernel sends it for one execute request. */
function iopub(msgType: KernelMessage.IOPubMessageType, content: Record<string, unknown>): KernelMessage.IIOPubMessage {
  const header = (type: string, id: string) => ({
    date: '2025-01-01T00:00:00.000Z',
    msg_id: id,
    msg_type: type,
    session: 'session-1',
    username: 'user',
    version: '5.4'
  });
  return {
    channel: 'iopub',
    header: header(msgType, `msg-${++sequence}`),
    parent_header: header('execute_request', 'request-1'),
    metadata: {},
    content
  } as unknown as KernelMessage.IIOPubMessage;
}

const stream = (name: 'stdout' | 'stderr', text: string) => iopub('stream', { name, text });
const display = (data: nbformat.IMimeBundle, displayId?: string) =>
  iopub('display_data', { data, metadata: {}, ...(displayId ? { transient: { display_id: displayId } } : {}) });
const update = (data: nbformat.IMimeBundle, displayId: string) =>
  iopub('update_display_data', { data, metadata: { updated: true }, transient: { display_id: displayId } });
const clear = (wait: boolean) => iopub('clear_output', { wait });

function collect(messages: KernelMessage.IIOPubMessage[], capBytes?: number): OutputCollector {
  const collector = new OutputCollector(capBytes === undefined ? {} : { capBytes });
  messages.forEach(msg => collector.add(msg));
  return collector;
}

function commas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function textOf(output: nbformat.IOutput): string {
  const text = (output as nbformat.IStream).text;
  return typeof text === 'string' ? text : text.join('');
}

describe('OutputCollector: what JupyterLab would store', () => {
  it('merges consecutive same-name streams and separates interleaved ones', () => {
    const collector = collect([
      stream('stdout', 'a'),
      stream('stdout', 'b\n'),
      stream('stderr', 'warn\n'),
      stream('stdout', 'c\n')
    ]);
    expect(collector.outputs()).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'ab\n' },
      { output_type: 'stream', name: 'stderr', text: 'warn\n' },
      { output_type: 'stream', name: 'stdout', text: 'c\n' }
    ]);
    expect(collector.truncated).toBe(false);
    expect(collector.totalBytes).toBe(10);
  });

  it('keeps stream text raw, carriage returns included', () => {
    const chunks = ['\r  0%|          | 0/100', '\r 50%|#####     | 50/100', '\r100%|##########| 100/100', '\n'];
    const collector = collect(chunks.map(text => stream('stderr', text)));
    expect(collector.outputs()).toEqual([{ output_type: 'stream', name: 'stderr', text: chunks.join('') }]);
  });

  it('ignores status, execute_input and comm messages', () => {
    const collector = collect([
      iopub('status', { execution_state: 'busy' }),
      iopub('execute_input', { code: 'print(1)', execution_count: 1 }),
      stream('stdout', '1\n'),
      iopub('comm_msg', { comm_id: 'c', data: {} }),
      iopub('status', { execution_state: 'idle' })
    ]);
    expect(collector.outputs()).toEqual([{ output_type: 'stream', name: 'stdout', text: '1\n' }]);
  });

  it('keeps execute_result with its execution_count and drops transient', () => {
    const collector = collect([
      iopub('execute_result', {
        data: { 'text/plain': '42' },
        metadata: { m: 1 },
        execution_count: 7,
        transient: { display_id: 'x' }
      })
    ]);
    expect(collector.outputs()).toEqual([
      { output_type: 'execute_result', execution_count: 7, data: { 'text/plain': '42' }, metadata: { m: 1 } }
    ]);
  });

  it('keeps errors whole and summarises the first one', () => {
    const error = { ename: 'ZeroDivisionError', evalue: 'division by zero', traceback: ZERO_DIVISION_TRACEBACK };
    const collector = collect([stream('stdout', 'before\n'), iopub('error', error)]);
    const outputs = collector.outputs();
    expect(outputs[1]).toEqual({ output_type: 'error', ...error });
    expect(errorSummary(outputs)).toEqual(error);
    expect(errorSummary([{ output_type: 'stream', name: 'stdout', text: 'x' }])).toBeUndefined();
  });

  it('clears at once on clear_output(wait=False)', () => {
    const collector = collect([stream('stdout', 'old\n'), display({ 'text/plain': 'x' }), clear(false)]);
    expect(collector.outputs()).toEqual([]);
    collector.add(stream('stdout', 'new\n'));
    expect(collector.outputs()).toEqual([{ output_type: 'stream', name: 'stdout', text: 'new\n' }]);
  });

  it('clears on the next output after clear_output(wait=True), as in a captured ipykernel run', () => {
    // `h = display("first", display_id=True); print("between"); h.update("second");
    //  clear_output(wait=True); print("after clear"); 42`
    const collector = collect([
      display({ 'text/plain': "'first'" }, 'd1'),
      stream('stdout', 'between\n'),
      update({ 'text/plain': "'second'" }, 'd1'),
      clear(true)
    ]);
    // Nothing new yet: the old outputs stay, already updated.
    expect(collector.outputs()).toEqual([
      { output_type: 'display_data', data: { 'text/plain': "'second'" }, metadata: { updated: true } },
      { output_type: 'stream', name: 'stdout', text: 'between\n' }
    ]);
    collector.add(stream('stdout', 'after clear\n'));
    collector.add(iopub('execute_result', { data: { 'text/plain': '42' }, metadata: {}, execution_count: 3 }));
    expect(collector.outputs()).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'after clear\n' },
      { output_type: 'execute_result', execution_count: 3, data: { 'text/plain': '42' }, metadata: {} }
    ]);
  });

  it('does not merge a stream into one that a clear removed', () => {
    const collector = collect([stream('stdout', 'a\n'), clear(true), stream('stdout', 'b\n'), stream('stdout', 'c\n')]);
    expect(collector.outputs()).toEqual([{ output_type: 'stream', name: 'stdout', text: 'b\nc\n' }]);
  });

  it('updates every display with the same display_id, and nothing else', () => {
    const collector = collect([
      display({ 'text/plain': 'p1' }, 'progress'),
      display({ 'text/plain': 'other' }, 'other'),
      display({ 'text/plain': 'p2' }, 'progress'),
      iopub('execute_result', {
        data: { 'text/plain': 'r' },
        metadata: {},
        execution_count: 1,
        transient: { display_id: 'progress' }
      }),
      update({ 'text/plain': 'done', 'text/html': '<b>done</b>' }, 'progress'),
      update({ 'text/plain': 'ignored' }, 'unknown')
    ]);
    const updated = { output_type: 'display_data', data: { 'text/plain': 'done', 'text/html': '<b>done</b>' } };
    expect(collector.outputs()).toEqual([
      { ...updated, metadata: { updated: true } },
      { output_type: 'display_data', data: { 'text/plain': 'other' }, metadata: {} },
      { ...updated, metadata: { updated: true } },
      { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': 'r' }, metadata: {} }
    ]);
  });

  it('defaults to a 5 MiB cap', () => {
    expect(DEFAULT_OUTPUT_CAP_BYTES).toBe(5 * 1024 * 1024);
    expect(new OutputCollector().capBytes).toBe(DEFAULT_OUTPUT_CAP_BYTES);
  });
});

describe('OutputCollector: byte cap', () => {
  const MARKER = /\n?\[\.\.\. aiev: ([\d,]+) bytes of stream output dropped \.\.\.\]\n/;

  /** `line 0\nline 1\n…` fed in chunks of about `chunkBytes`; returns the whole text for comparison. */
  function feedLines(collector: OutputCollector, lines: number, chunkBytes: number): string {
    const all: string[] = [];
    let chunk = '';
    for (let i = 0; i < lines; i++) {
      chunk += `line ${i}\n`;
      if (chunk.length >= chunkBytes) {
        collector.add(stream('stdout', chunk));
        all.push(chunk);
        chunk = '';
      }
    }
    if (chunk) {
      collector.add(stream('stdout', chunk));
      all.push(chunk);
    }
    return all.join('');
  }

  it('keeps the exact head and tail of a multi-megabyte stream around one marker', () => {
    const cap = 1024 * 1024;
    const collector = new OutputCollector({ capBytes: cap });
    const full = feedLines(collector, 1_500_000, 4096); // ~18 MB
    const outputs = collector.outputs();
    expect(outputs).toHaveLength(1);
    const text = textOf(outputs[0]);
    const match = text.match(MARKER);
    expect(match).not.toBeNull();
    expect(text.match(new RegExp(MARKER.source, 'g'))).toHaveLength(1);
    const head = text.slice(0, match!.index);
    const tail = text.slice(match!.index! + match![0].length);
    expect(head).toBe(full.slice(0, cap / 2));
    // The head ends mid-line, so the marker starts on a line of its own.
    expect(match![0].startsWith('\n')).toBe(true);
    expect(tail).toBe(full.slice(full.length - cap / 2));
    expect(tail.endsWith('line 1499999\n')).toBe(true);
    expect(Number(match![1].replace(/,/g, ''))).toBe(full.length - cap);
    expect(text.length).toBeLessThanOrEqual(cap + match![0].length);
    expect(collector.truncated).toBe(true);
    expect(collector.totalBytes).toBe(full.length);
  });

  it('bounds a single huge message the same way', () => {
    const cap = 64 * 1024;
    const full = 'x'.repeat(3_000_000) + 'END\n';
    const collector = collect([stream('stdout', 'start\n'), stream('stdout', full)], cap);
    const text = textOf(collector.outputs()[0]);
    expect(text.startsWith('start\nxxx')).toBe(true);
    expect(text.endsWith('xxxEND\n')).toBe(true);
    expect(text).toContain(`\n[... aiev: ${commas(full.length + 6 - cap)} bytes of stream output dropped ...]\n`);
    expect(text.length).toBeLessThanOrEqual(cap + 60);
  });

  it('counts UTF-8 bytes and never splits a character', () => {
    const cap = 10_000;
    const piece = 'é€😀 '; // 2 + 3 + 4 + 1 bytes
    const collector = new OutputCollector({ capBytes: cap });
    for (let i = 0; i < 2000; i++) {
      collector.add(stream('stdout', piece.repeat(7)));
    }
    const text = textOf(collector.outputs()[0]);
    const match = text.match(MARKER)!;
    const kept = text.slice(0, match.index) + text.slice(match.index! + match[0].length);
    expect(kept).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(utf8Length(kept)).toBeLessThanOrEqual(cap);
    expect(utf8Length(kept)).toBeGreaterThan(cap - 8);
    expect(collector.totalBytes).toBe(2000 * 7 * 10);
    expect(Number(match[1].replace(/,/g, ''))).toBe(collector.totalBytes - utf8Length(kept));
  });

  it('keeps the first and last display outputs and marks the dropped ones', () => {
    const collector = new OutputCollector({ capBytes: 10_000 });
    for (let i = 0; i < 100; i++) {
      collector.add(display({ 'text/plain': `${i}`.padStart(1000, '.') }));
    }
    const outputs = collector.outputs();
    const plain = outputs.map(output => ((output as nbformat.IDisplayData).data['text/plain'] as string).trim());
    expect(plain.slice(0, 5).map(text => text.replace(/^\.+/, ''))).toEqual(['0', '1', '2', '3', '4']);
    expect(plain[5]).toBe('[... aiev: 90,000 bytes of output dropped (90 whole outputs) ...]');
    expect(plain.slice(6).map(text => text.replace(/^\.+/, ''))).toEqual(['95', '96', '97', '98', '99']);
    expect((outputs[5] as nbformat.IDisplayData).metadata).toEqual({
      aiev: { dropped_bytes: 90_000, dropped_outputs: 90 }
    });
    expect(collector.truncated).toBe(true);
  });

  it('puts the marker between outputs when the gap spans several', () => {
    const collector = new OutputCollector({ capBytes: 2000 });
    collector.add(stream('stdout', 'a'.repeat(900)));
    for (let i = 0; i < 10; i++) {
      collector.add(display({ 'text/plain': 'd'.repeat(500) }));
    }
    collector.add(stream('stderr', 'z'.repeat(400)));
    const outputs = collector.outputs();
    expect(outputs[0]).toEqual({ output_type: 'stream', name: 'stdout', text: 'a'.repeat(900) });
    expect((outputs[1] as nbformat.IDisplayData).data['text/plain']).toBe(
      '[... aiev: 4,500 bytes of output dropped (9 whole outputs) ...]'
    );
    expect(outputs.slice(2)).toEqual([
      { output_type: 'display_data', data: { 'text/plain': 'd'.repeat(500) }, metadata: {} },
      { output_type: 'stream', name: 'stderr', text: 'z'.repeat(400) }
    ]);
  });

  it('keeps everything exactly at the cap', () => {
    const collector = collect([stream('stdout', 'x'.repeat(999)), stream('stdout', '\n')], 1000);
    expect(collector.truncated).toBe(false);
    expect(collector.outputs()).toEqual([{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(999) + '\n' }]);
    collector.add(stream('stdout', 'y'));
    expect(collector.truncated).toBe(true);
  });

  it('turns an oversized update of a kept head display into a marker', () => {
    const messages = [display({ 'text/plain': 'small' }, 'd'), update({ 'text/plain': 'u'.repeat(5000) }, 'd')];
    const collector = collect(messages, 2000);
    expect((collector.outputs()[0] as nbformat.IDisplayData).data['text/plain']).toBe(
      '[... aiev: display update of 5,000 bytes dropped (output cap) ...]'
    );
    expect(collector.truncated).toBe(true);
  });

  it('forgets truncation when a clear discards the outputs', () => {
    const collector = collect([stream('stdout', 'x'.repeat(5000)), clear(false), stream('stdout', 'ok\n')], 1000);
    expect(collector.truncated).toBe(false);
    expect(collector.outputs()).toEqual([{ output_type: 'stream', name: 'stdout', text: 'ok\n' }]);
    expect(collector.totalBytes).toBe(5003);
  });
});
