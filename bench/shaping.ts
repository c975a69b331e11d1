/**
 * Item 2: output shaping (`shapeOutputs`, src/agent/shaping.ts) on 1 MB and 50 MB of output: the time it takes
 * and the size of what the model sees (characters, and characters / 4 as tokens), at the CLI's default budget.
 *
 * Kinds of output, each built once at 1 MB and 50 MB (UTF-16 characters; ASCII, so bytes too):
 * - `plain`: one stdout stream of numbered log lines (a loop that prints);
 * - `terminal`: coloured lines (ANSI SGR), tqdm-style `\r` progress redraws and CRLF: everything the cleaner handles;
 * - `many`: 2,000 outputs alternating stdout / stderr / execute_result (text/plain + text/html), so nothing merges.
 * The headline keys (shape_1mb_*, shape_50mb_*) are the slowest kind. Baseline, in the same run: serialising the
 * same outputs once with JSON.stringify (what the record costs anyway).
 *
 * Also measured: the path a 50 MB print really takes in the agent: its IOPub messages (64 KiB each) through
 * `OutputCollector` (5 MiB cap per execution, the CLI's default), then shaping of what it kept.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import type { KernelMessage } from '@jupyterlab/services';

import { DEFAULT_MODEL_BUDGET_CHARS, shapeOutputs } from '../src/agent/shaping';
import { DEFAULT_OUTPUT_CAP_BYTES, OutputCollector } from '../src/notebook/outputCollector';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IRow, IStats, msWithP90, nowMs, ratio, stats } from './common';

const MB = 1024 * 1024;

/** Repeat `make(i)` lines until `size` characters; the last line is cut to fit exactly. */
function linesOf(size: number, make: (i: number) => string): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = make(i);
    parts.push(line);
    length += line.length;
  }
  return parts.join('').slice(0, size);
}

const plainLine = (i: number) => `${String(i).padStart(8, '0')} epoch=${i % 97} loss=${(1 / (i + 1)).toFixed(6)} ok\n`;

function terminalLine(i: number): string {
  if (i % 10 < 7) {
    return `\u001b[3${i % 8}m${plainLine(i).trimEnd()}\u001b[0m\r\n`;
  }
  const pct = (i * 7) % 101;
  const bar = '#'.repeat(Math.floor(pct / 10)).padEnd(10);
  return `\r${String(pct).padStart(3)}%|${bar}| ${pct}/100 [00:0${i % 10}<00:00, 1.2it/s]\u001b[K`;
}

function stream(name: 'stdout' | 'stderr', text: string): nbformat.IStream {
  return { output_type: 'stream', name, text };
}

function kind(name: string, size: number): nbformat.IOutput[] {
  switch (name) {
    case 'plain':
      return [stream('stdout', linesOf(size, plainLine))];
    case 'terminal':
      return [stream('stdout', linesOf(size, terminalLine))];
    case 'many': {
      const count = 2000;
      const each = Math.floor(size / count);
      const outputs: nbformat.IOutput[] = [];
      for (let i = 0; i < count; i++) {
        const text = linesOf(each, j => plainLine(i * 1000 + j));
        if (i % 3 === 0) {
          outputs.push(stream('stdout', text));
        } else if (i % 3 === 1) {
          outputs.push(stream('stderr', text));
        } else {
          const half = Math.floor(each / 2);
          outputs.push({
            output_type: 'execute_result',
            execution_count: i,
            metadata: {},
            data: { 'text/plain': text.slice(0, half), 'text/html': `<pre>${text.slice(half)}</pre>` }
          });
        }
      }
      return outputs;
    }
  }
  throw new Error(`unknown kind ${name}`);
}

interface IShapeCase {
  kind: string;
  size: string;
  inputChars: number;
  shape: IStats;
  stringify: IStats;
  modelChars: number;
  modelTokens: number;
  truncated: boolean;
}

function measure(kindName: string, sizeName: string, outputs: nbformat.IOutput[], reps: number): IShapeCase {
  const inputChars = outputs.reduce((n, o) => n + JSON.stringify(o).length, 0);
  const shapeTimes: number[] = [];
  const stringifyTimes: number[] = [];
  let shaped = shapeOutputs(outputs, { budgetChars: DEFAULT_MODEL_BUDGET_CHARS }); // warm-up
  for (let i = 0; i < reps; i++) {
    let t0 = nowMs();
    shaped = shapeOutputs(outputs, { budgetChars: DEFAULT_MODEL_BUDGET_CHARS });
    shapeTimes.push(nowMs() - t0);
    t0 = nowMs();
    JSON.stringify(outputs);
    stringifyTimes.push(nowMs() - t0);
  }
  return {
    kind: kindName,
    size: sizeName,
    inputChars,
    shape: stats(shapeTimes),
    stringify: stats(stringifyTimes),
    modelChars: shaped.text.length,
    modelTokens: Math.ceil(shaped.text.length / 4),
    truncated: shaped.truncated
  };
}

interface ICollected {
  kind: string;
  total: IStats;
  collect: IStats;
  shape: IStats;
  modelChars: number;
}

/** `size` characters printed in 64 KiB stream messages, collected (the CLI's 5 MiB cap) and shaped. */
function collectedPath(kindName: string, size: number, reps: number): ICollected {
  const text = linesOf(size, kindName === 'terminal' ? terminalLine : plainLine);
  const chunk = 64 * 1024;
  const messages: KernelMessage.IIOPubMessage[] = [];
  for (let i = 0; i < text.length; i += chunk) {
    messages.push({
      header: { msg_type: 'stream' },
      content: { name: 'stdout', text: text.slice(i, i + chunk) }
    } as unknown as KernelMessage.IIOPubMessage);
  }
  const totals: number[] = [];
  const collects: number[] = [];
  const shapes: number[] = [];
  let modelChars = 0;
  for (let r = 0; r <= reps; r++) {
    const t0 = nowMs();
    const collector = new OutputCollector({ capBytes: DEFAULT_OUTPUT_CAP_BYTES });
    for (const msg of messages) {
      collector.add(msg);
    }
    const outputs = collector.outputs();
    const t1 = nowMs();
    const shaped = shapeOutputs(outputs, { budgetChars: DEFAULT_MODEL_BUDGET_CHARS });
    const t2 = nowMs();
    modelChars = shaped.text.length;
    if (r > 0) {
      collects.push(t1 - t0);
      shapes.push(t2 - t1);
      totals.push(t2 - t0);
    }
  }
  return { kind: kindName, total: stats(totals), collect: stats(collects), shape: stats(shapes), modelChars };
}

export const shaping: IBenchModule = {
  name: 'shaping',
  title: 'output shaping (shapeOutputs) on 1 MB and 50 MB outputs, default budget',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const cases: IShapeCase[] = [];
    for (const [sizeName, size, reps] of [
      ['1mb', MB, 20],
      ['50mb', 50 * MB, 5]
    ] as const) {
      for (const kindName of ['plain', 'terminal', 'many']) {
        const outputs = kind(kindName, size);
        cases.push(measure(kindName, sizeName, outputs, reps));
        ctx.log(`  ${kindName} ${sizeName}: ${fmt(cases[cases.length - 1].shape.median)} ms`);
      }
    }
    const collected = ['plain', 'terminal'].map(k => collectedPath(k, 50 * MB, 3));
    const worst = (sizeName: string) =>
      cases.filter(c => c.size === sizeName).reduce((a, b) => (b.shape.median > a.shape.median ? b : a));
    const w1 = worst('1mb');
    const w50 = worst('50mb');
    const rows: IRow[] = cases.map(c => ({
      item: `shape ${c.size} ${c.kind}`,
      value: `${msWithP90(c.shape)}, ${c.modelChars} chars`,
      versus: `${ratio(c.shape.median, c.stringify.median)}x JSON.stringify (${fmt(c.stringify.median)} ms)`
    }));
    for (const c of collected) {
      rows.push({
        item: `50 MB ${c.kind} print: collect (5 MiB cap) + shape`,
        value: `${msWithP90(c.total)}, ${c.modelChars} chars`,
        versus: `collect ${fmt(c.collect.median)} + shape ${fmt(c.shape.median)} ms`
      });
    }
    return {
      keys: {
        shape_1mb_ms: w1.shape.median,
        shape_1mb_ms_p90: w1.shape.p90,
        shape_1mb_model_chars: w1.modelChars,
        shape_50mb_ms: w50.shape.median,
        shape_50mb_ms_p90: w50.shape.p90,
        shape_50mb_ratio_vs_stringify: ratio(w50.shape.median, w50.stringify.median),
        shape_50mb_model_chars: w50.modelChars,
        shape_50mb_model_tokens: w50.modelTokens,
        ...Object.fromEntries(cases.map(c => [`shape_${c.size}_${c.kind}_ms`, c.shape.median])),
        ...Object.fromEntries(collected.map(c => [`shape_50mb_${c.kind}_print_collected_ms`, c.total.median]))
      },
      rows,
      details: { budget_chars: DEFAULT_MODEL_BUDGET_CHARS, cases, collected_50mb_prints: collected },
      notes: [`headline shaping keys are the slowest kind: 1 MB ${w1.kind}, 50 MB ${w50.kind}`]
    };
  }
};
