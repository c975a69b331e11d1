/**
 * Item 1 (c): one full agent step, headless, with an instant scripted model, and the floor under it.
 *
 * The real `Agent` with the real `HeadlessNotebookDriver`, `SessionRecorder` (event log on disk) and `ChatClient`
 * (streaming, the CLI's default) against the scripted model in its own process: warm-ups + runs turns of
 * `execute_cell("print(1)")`, then `final_answer`. A step is one model turn and its tool call, from the start of
 * one model request to the start of the next. Timing wrappers on the instances (nothing in src/ changes) split
 * each step into: model round trip, kernel execution (driver.execute), notebook save (contents API), recording
 * (recorder calls, event-log appends included) and the rest (shaping, the agent's bookkeeping).
 *
 * Variants: as shipped (server with TCP_NODELAY); a stock server (no NODELAY) with plain `@jupyterlab/services`
 * settings; and that stock server with the settings `aiev run --server-url` gives it (`connect`: every kernel frame
 * acked with a pong, `AckingWebSocket`).
 *
 * The floor: a step cannot be shorter than its two round trips in sequence: the model's (the same `ChatClient`
 * sending the conversation the agent sent at its median step, to a fresh scripted-model process) then the
 * kernel's (`print(1)` until idle over the server's websocket with `@jupyterlab/services`, as in kernel_rtt). Each
 * round measures them without the agent, alternating as in a step, then each alone in a tight loop (faster: on
 * this VM a process that has just been idle answers slower, so alternating work costs more than either loop
 * suggests), and a bare HTTP POST of the same body (Node's `http`, keep-alive, the SSE body read to its end) to
 * show what the SDK adds. The runs are split into 4 rounds; a round is a block of raw ZMQ baseline, one session
 * per variant (fresh notebook and kernel, a few warm-up steps, then its share of the runs), then the floor blocks.
 */
import { request as httpRequest, Agent as HttpAgent } from 'http';

import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';

import { Agent } from '../src/agent/agent';
import { runSource } from '../src/agent/source';
import { settingsFor } from '../src/cli/connect';
import { TOOL_DEFINITIONS } from '../src/agent/tools';
import { ChatClient } from '../src/llm/client';
import { HeadlessNotebookDriver } from '../src/notebook/headless';
import { fileLogSink } from '../src/trace/logFile';
import { SessionRecorder } from '../src/trace/recorder';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IStats, msWithP90, nowMs, splitRuns, stats } from './common';
import { ServerKernelProbe } from './kernelRtt';
import { executeScript, IModelProcess, startModelProcess } from './scriptedModel';

const PARTS = ['model', 'execute', 'save', 'record', 'other'] as const;
type Part = (typeof PARTS)[number];

let sessionCounter = 0;

/** One measured step: its duration and parts (ms). */
type IStepRow = Record<Part | 'step', number>;

interface IVariantResult {
  step: IStats;
  /** Each part over the measured steps. */
  parts: Record<Part, IStats>;
  /** Medians over the first and the last 10 measured steps of each session: what grows with the notebook. */
  firstSteps: IStepRow;
  lastSteps: IStepRow;
  sessions: number;
  steps: number;
}

/** A session's steps, and the conversation its median measured step sent to the model. */
interface ISessionResult {
  rows: IStepRow[];
  medianConversation: ChatCompletionMessageParam[];
}

function summarise(sessions: IStepRow[][]): IVariantResult {
  const all = sessions.flat();
  const medianOf = (rows: IStepRow[]) =>
    Object.fromEntries((['step', ...PARTS] as const).map(k => [k, stats(rows.map(r => r[k])).median])) as IStepRow;
  const edge = Math.min(10, ...sessions.map(s => s.length));
  return {
    step: stats(all.map(r => r.step)),
    parts: Object.fromEntries(PARTS.map(p => [p, stats(all.map(r => r[p]))])) as Record<Part, IStats>,
    firstSteps: medianOf(sessions.flatMap(s => s.slice(0, edge))),
    lastSteps: medianOf(sessions.flatMap(s => s.slice(-edge))),
    sessions: sessions.length,
    steps: all.length
  };
}

async function runSession(
  ctx: IBenchContext,
  name: string,
  nodelay: boolean,
  ackFrames: boolean,
  warmups: number,
  runs: number
): Promise<ISessionResult> {
  const server = await ctx.server(nodelay);
  const total = warmups + runs;
  const session = `agent-${name}-${++sessionCounter}`;
  const model = await startModelProcess(executeScript(total), ctx.tmp, session);
  const recorder = new SessionRecorder({
    sink: fileLogSink(`${ctx.tmp}/${session}.events.jsonl`),
    source: runSource({ app: 'jupyterlab-aiev/bench', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
    task: { prompt: 'benchmark', attachments: [], tags: ['bench'] },
    tools: TOOL_DEFINITIONS,
    secrets: [],
    outputsCapBytes: 5 * 1024 * 1024
  });
  const settings = ackFrames ? settingsFor(server.baseUrl, server.token, { ackFrames }) : server.settings;
  const driver = await HeadlessNotebookDriver.open({ settings, path: `bench-${session}.ipynb` });
  const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'bench', model: 'scripted', stream: true });

  // The conversation of the median measured step, copied when that request is made (before the agent appends).
  const medianStep = warmups + Math.floor(runs / 2);
  let medianConversation: ChatCompletionMessageParam[] = [];
  const complete = client.complete.bind(client);
  client.complete = (messages, tools, options) => {
    if (steps.length === medianStep) {
      medianConversation = JSON.parse(JSON.stringify(messages));
    }
    return complete(messages, tools, options);
  };

  // Per-step accumulators; a step starts when a model request starts.
  const steps: { start: number; parts: Record<Part, number> }[] = [];
  const current = () => steps[steps.length - 1]?.parts;
  const timed = <T extends object, K extends keyof T>(target: T, key: K, part: Part, startsStep = false) => {
    const original = (target[key] as unknown as (...args: unknown[]) => unknown).bind(target);
    (target as Record<K, unknown>)[key] = (...args: unknown[]) => {
      const t0 = nowMs();
      if (startsStep) {
        steps.push({ start: t0, parts: { model: 0, execute: 0, save: 0, record: 0, other: 0 } });
      }
      const add = () => {
        const parts = current();
        if (parts) {
          parts[part] += nowMs() - t0;
        }
      };
      const result = original(...args);
      if (result instanceof Promise) {
        return result.finally(add);
      }
      add();
      return result;
    };
  };
  timed(client, 'complete', 'model', true);
  timed(driver, 'execute', 'execute');
  timed(driver, 'save', 'save');
  for (const method of ['assistant', 'execution', 'toolResult', 'event'] as const) {
    timed(recorder, method, 'record');
  }

  let outcome: string;
  try {
    const agent = new Agent({ client, driver, recorder, toolMode: 'native', maxSteps: total + 1, cellTimeoutMs: 60000 });
    outcome = (await agent.run('benchmark')).reason;
  } finally {
    await driver.dispose().catch(() => undefined);
    const report = await model.stop();
    if (!/0 turns left/.test(report)) {
      ctx.log(`  scripted model: ${report}`);
    }
  }
  if (outcome !== 'final_answer' || steps.length !== total + 1) {
    throw new Error(`agent run ended with ${outcome} after ${steps.length} model turns (expected ${total + 1})`);
  }
  // Step i lasts until step i+1 starts; the final-answer turn is not a step; warm-ups are dropped.
  const durations = steps.slice(0, total).map((s, i) => steps[i + 1].start - s.start);
  const rows = steps.slice(warmups, total).map((s, i) => {
    const duration = durations[warmups + i];
    const known = s.parts.model + s.parts.execute + s.parts.save + s.parts.record;
    return { step: duration, ...s.parts, other: duration - known };
  });
  return { rows, medianConversation };
}

/** Samples (ms) of the floor's parts over one block. */
interface IFloorBlock {
  /** A model round trip then a kernel round trip, alternating as in a step, no agent around them. */
  sequence: number[];
  sequenceModel: number[];
  sequenceKernel: number[];
  /** Each round trip in a tight loop of its own. */
  kernelAlone: number[];
  modelAlone: number[];
  /** A bare HTTP POST of the same body (Node's `http`, keep-alive, the SSE body read to its end). */
  httpAlone: number[];
}

/**
 * The floor under a step, `runs` of each: the agent's two round trips without the agent, in sequence (the
 * `ChatClient` sending `conversation` to a fresh scripted-model process, then `print(1)` until idle on `probe`'s
 * kernel), then each alone in a tight loop, and a bare HTTP POST of the same body; a few warm-ups before each.
 */
async function floorBlock(
  ctx: IBenchContext,
  probe: ServerKernelProbe,
  conversation: ChatCompletionMessageParam[],
  runs: number
): Promise<IFloorBlock> {
  const warmups = 5;
  const model: IModelProcess = await startModelProcess(executeScript(3 * (warmups + runs)), ctx.tmp, `floor-${++sessionCounter}`);
  const tools = TOOL_DEFINITIONS as ChatCompletionTool[];
  const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'bench', model: 'scripted', stream: true });
  const body = JSON.stringify({
    model: 'scripted',
    messages: conversation,
    tools,
    tool_choice: 'auto',
    stream: true,
    stream_options: { include_usage: true }
  });
  const url = new URL(`${model.baseUrl}/chat/completions`);
  const agent = new HttpAgent({ keepAlive: true });
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: 'Bearer bench' }
        },
        res => {
          res.on('data', () => undefined);
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        }
      );
      req.on('error', reject);
      req.end(body);
    });
  const time = async (once: () => Promise<unknown>): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < warmups + runs; i++) {
      const t0 = nowMs();
      await once();
      if (i >= warmups) {
        samples.push(nowMs() - t0);
      }
    }
    return samples;
  };
  try {
    const sequenceModel: number[] = [];
    const sequenceKernel: number[] = [];
    const sequence = await time(async () => {
      const t0 = nowMs();
      await client.complete(conversation, tools);
      sequenceModel.push(nowMs() - t0);
      sequenceKernel.push(await probe.once());
    });
    return {
      sequence,
      sequenceModel: sequenceModel.slice(warmups),
      sequenceKernel: sequenceKernel.slice(warmups),
      kernelAlone: await time(() => probe.once()),
      modelAlone: await time(() => client.complete(conversation, tools)),
      httpAlone: await time(post)
    };
  } finally {
    agent.destroy();
    await model.stop();
  }
}

function breakdown(v: IVariantResult): string {
  return PARTS.map(p => `${p} ${fmt(v.parts[p].median)}`).join(', ');
}

const FLOOR_KEYS = ['sequence', 'sequenceModel', 'sequenceKernel', 'kernelAlone', 'modelAlone', 'httpAlone'] as const;

export const agentStep: IBenchModule = {
  name: 'agent_step',
  title: 'one full agent step (Agent + headless driver + recorder, instant scripted model) and its floor',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const variants = [
      { name: 'nodelay', nodelay: true, ackFrames: false },
      { name: 'no-nodelay', nodelay: false, ackFrames: false },
      { name: 'no-nodelay-acking', nodelay: false, ackFrames: true }
    ] as const;
    const sessions: IStepRow[][][] = variants.map(() => []);
    const floorSamples = Object.fromEntries(FLOOR_KEYS.map(k => [k, [] as number[]])) as Record<keyof IFloorBlock, number[]>;
    let messagesAtMedian = 0;
    const warmups = Math.max(2, Math.ceil(ctx.warmups / 4));
    const rounds = splitRuns(ctx.runs);
    const probe = await ServerKernelProbe.open((await ctx.server(true)).settings, ctx.warmups);
    try {
      for (const [index, runs] of rounds.entries()) {
        ctx.log(
          `  round ${index + 1}/${rounds.length}: ${runs} x raw ZMQ, a session of ${warmups} + ${runs} steps per variant, ` +
            `${runs} x each floor measurement`
        );
        await ctx.rawZmq.sample(runs);
        let conversation: ChatCompletionMessageParam[] = [];
        for (const [i, v] of variants.entries()) {
          const session = await runSession(ctx, v.name, v.nodelay, v.ackFrames, warmups, runs);
          sessions[i].push(session.rows);
          if (v.nodelay) {
            conversation = session.medianConversation;
          }
        }
        messagesAtMedian = conversation.length;
        const block = await floorBlock(ctx, probe, conversation, runs);
        for (const key of FLOOR_KEYS) {
          floorSamples[key].push(...block[key]);
        }
      }
    } finally {
      await probe.close();
    }
    const [shipped, stock, stockAcking] = sessions.map(summarise);
    const floor = Object.fromEntries(FLOOR_KEYS.map(k => [k, stats(floorSamples[k])])) as Record<keyof IFloorBlock, IStats>;
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    const aloneSum = round3(floor.kernelAlone.median + floor.modelAlone.median);
    const overhead = round3(shipped.step.median - floor.sequence.median);
    const notes = [
      `agent step (shipped) = ${breakdown(shipped)} ms (medians of each part)`,
      `floor: the same two round trips without the agent, in sequence, ${fmt(floor.sequence.median)} ms ` +
        `(model ${fmt(floor.sequenceModel.median)} then kernel ${fmt(floor.sequenceKernel.median)}); each alone in a ` +
        `tight loop: kernel ${fmt(floor.kernelAlone.median)} + model ${fmt(floor.modelAlone.median)} = ${fmt(aloneSum)} ms ` +
        `(ChatClient, ${messagesAtMedian} messages; a bare HTTP POST of the same body ${fmt(floor.httpAlone.median)} ms); ` +
        `the agent's own cost above the floor: ${fmt(overhead)} ms`,
      `notebook save: ${fmt(shipped.firstSteps.save)} ms over the first 10 measured steps of a session, ` +
        `${fmt(shipped.lastSteps.save)} ms over the last 10 (saved at most once a second; how a save grows: step_growth)`
    ];
    return {
      keys: {
        agent_step_ms: shipped.step.median,
        agent_step_ms_p90: shipped.step.p90,
        agent_step_without_nodelay_ms: stock.step.median,
        agent_step_without_nodelay_ms_p90: stock.step.p90,
        agent_step_stock_server_acking_ms: stockAcking.step.median,
        agent_step_stock_server_acking_ms_p90: stockAcking.step.p90,
        agent_step_model_ms: shipped.parts.model.median,
        agent_step_execute_ms: shipped.parts.execute.median,
        agent_step_save_ms: shipped.parts.save.median,
        agent_step_record_ms: shipped.parts.record.median,
        agent_step_other_ms: shipped.parts.other.median,
        agent_step_floor_ms: floor.sequence.median,
        agent_step_floor_ms_p90: floor.sequence.p90,
        agent_step_overhead_ms: overhead,
        agent_step_floor_alone_ms: aloneSum,
        kernel_ws_alone_ms: floor.kernelAlone.median,
        model_rtt_alone_ms: floor.modelAlone.median,
        model_http_rtt_ms: floor.httpAlone.median
      },
      ratios: {
        agent_step_ratio: 'agent_step_ms',
        agent_step_without_nodelay_ratio: 'agent_step_without_nodelay_ms',
        agent_step_stock_server_acking_ratio: 'agent_step_stock_server_acking_ms',
        agent_step_floor_ratio: 'agent_step_floor_ms',
        agent_step_floor_alone_ratio: 'agent_step_floor_alone_ms'
      },
      rows: [
        { item: '(c) agent step, NODELAY (shipped)', value: msWithP90(shipped.step), ratioOf: 'agent_step_ms' },
        { item: '    model round trip', value: msWithP90(shipped.parts.model) },
        { item: '    execute (driver.execute)', value: msWithP90(shipped.parts.execute) },
        { item: '    notebook save (contents API)', value: msWithP90(shipped.parts.save) },
        { item: '    record (recorder + event log)', value: msWithP90(shipped.parts.record) },
        { item: '    other (shaping, loop)', value: msWithP90(shipped.parts.other) },
        { item: '(c) agent step, no NODELAY (stock)', value: msWithP90(stock.step), ratioOf: 'agent_step_without_nodelay_ms' },
        {
          item: '(c) agent step, stock server, CLI acks frames',
          value: msWithP90(stockAcking.step),
          ratioOf: 'agent_step_stock_server_acking_ms'
        },
        { item: 'floor: model then kernel, no agent', value: msWithP90(floor.sequence), ratioOf: 'agent_step_floor_ms' },
        { item: '    model round trip', value: msWithP90(floor.sequenceModel) },
        { item: '    kernel round trip (services)', value: msWithP90(floor.sequenceKernel) },
        { item: 'floor, each alone: kernel + model', value: `${fmt(aloneSum)} ms`, ratioOf: 'agent_step_floor_alone_ms' },
        { item: '    kernel alone (tight loop)', value: msWithP90(floor.kernelAlone) },
        { item: `    model alone (ChatClient, ${messagesAtMedian} msgs)`, value: msWithP90(floor.modelAlone) },
        { item: '    bare HTTP POST of the same body', value: msWithP90(floor.httpAlone) },
        { item: 'agent step above the floor (in sequence)', value: `${fmt(overhead)} ms` }
      ],
      details: {
        shipped,
        stock_server: stock,
        stock_server_acking: stockAcking,
        floor: { ...floor, messages_at_median_step: messagesAtMedian },
        warmup_steps_per_session: warmups
      },
      notes
    };
  }
};
