/**
 * What makes a step slower as a session grows (see run_memory: ms per step, first vs last 100 of 1,000): the two
 * parts of a step whose cost depends on the session's length, measured at 10, 100 and 1,000 steps.
 *
 * - notebook save: `HeadlessNotebookDriver.save()` (Yjs model -> JSON, PUT through the contents API; the server
 *   validates, signs and writes the notebook) on a notebook of N `print(1)` cells with their outputs, and the
 *   client-side part alone (`driver.toJSON()`);
 * - model round trip: `ChatClient.complete` (streaming) with the conversation of N steps (assistant tool call +
 *   tool result each), against the scripted model in its own process answering at once.
 * Medians of 8 after one warm-up. The baseline: the same at N = 10.
 */
import { randomUUID } from 'crypto';

import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { ContentsManager } from '@jupyterlab/services';

import { SYSTEM_PROMPTS } from '../src/agent/prompts';
import { TOOL_DEFINITIONS } from '../src/agent/tools';
import { ChatClient } from '../src/llm/client';
import { HeadlessNotebookDriver } from '../src/notebook/headless';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IRow, IStats, nowMs, ratio, stats } from './common';
import { startModelProcess } from './scriptedModel';

const SIZES = [10, 100, 1000];
const REPS = 8;

async function timeIt(reps: number, fn: () => unknown): Promise<IStats> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = nowMs();
    await fn();
    times.push(nowMs() - t0);
  }
  return stats(times);
}

function notebookOf(cells: number): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' }, language_info: { name: 'python' } },
    cells: Array.from({ length: cells }, (_, i) => ({
      cell_type: 'code',
      id: randomUUID(),
      source: 'print(1)',
      metadata: { aiev: { call_id: `call_${i + 1}`, kind: 'python', step: 2 * i + 3 } },
      outputs: [{ output_type: 'stream', name: 'stdout', text: '1\n' }],
      execution_count: i + 1
    }))
  };
}

function conversationOf(steps: number): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: SYSTEM_PROMPTS['native-v1'] },
    { role: 'user', content: 'benchmark' }
  ];
  for (let i = 1; i <= steps; i++) {
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'execute_cell', arguments: '{"code":"print(1)"}' } }]
    });
    messages.push({
      role: 'tool',
      tool_call_id: `call_${i}`,
      content: `cell_id: ${randomUUID()}\nstatus: ok\nexecution_count: ${i}\noutput:\n1`
    });
  }
  return messages;
}

export const stepGrowth: IBenchModule = {
  name: 'step_growth',
  title: 'what grows with the session: notebook save and model round trip at 10 / 100 / 1,000 steps',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const server = await ctx.server(true);
    const contents = new ContentsManager({ serverSettings: server.settings });
    const save: Record<number, IStats> = {};
    const toJson: Record<number, IStats> = {};
    try {
      for (const n of SIZES) {
        const path = `bench-growth-${n}.ipynb`;
        await contents.save(path, { type: 'notebook', format: 'json', content: notebookOf(n) });
        const driver = await HeadlessNotebookDriver.open({ settings: server.settings, path });
        try {
          toJson[n] = await timeIt(REPS, () => driver.toJSON());
          save[n] = await timeIt(REPS, () => driver.save());
        } finally {
          await driver.dispose().catch(() => undefined);
        }
        ctx.log(`  save, ${n} cells: ${fmt(save[n].median)} ms`);
      }
    } finally {
      contents.dispose();
    }

    const model = await startModelProcess(
      Array.from({ length: SIZES.length * (REPS + 1) }, () => ({ content: 'ok' })),
      ctx.tmp,
      'growth'
    );
    const rtt: Record<number, IStats> = {};
    try {
      const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'bench', model: 'scripted', stream: true });
      for (const n of SIZES) {
        const messages = conversationOf(n);
        rtt[n] = await timeIt(REPS, () => client.complete(messages, TOOL_DEFINITIONS as never));
        ctx.log(`  model round trip, ${n} steps of conversation: ${fmt(rtt[n].median)} ms`);
      }
    } finally {
      await model.stop();
    }

    const rows: IRow[] = [];
    const keys: Record<string, number | null> = {};
    for (const n of SIZES) {
      keys[`save_${n}_cells_ms`] = save[n].median;
      keys[`model_rtt_${n}_steps_ms`] = rtt[n].median;
      rows.push({
        item: `notebook save, ${n} cells`,
        value: `${fmt(save[n].median)} ms (p90 ${fmt(save[n].p90)})`,
        versus: `${ratio(save[n].median, save[SIZES[0]].median)}x at ${SIZES[0]}; client toJSON ${fmt(toJson[n].median)} ms`
      });
    }
    for (const n of SIZES) {
      rows.push({
        item: `model round trip, ${n}-step conversation`,
        value: `${fmt(rtt[n].median)} ms (p90 ${fmt(rtt[n].p90)})`,
        versus: `${ratio(rtt[n].median, rtt[SIZES[0]].median)}x at ${SIZES[0]}`
      });
    }
    return { keys, rows, details: { save, to_json: toJson, model_round_trip: rtt } };
  }
};
