/**
 * Item 1 (c): one full agent step, headless, with an instant scripted model.
 *
 * The real `Agent` with the real `HeadlessNotebookDriver`, `SessionRecorder` (event log on disk) and `ChatClient`
 * (streaming, the CLI's default) against the scripted model in its own process: warm-ups + runs turns of
 * `execute_cell("print(1)")`, then `final_answer`. A step is one model turn and its tool call, from the start of
 * one model request to the start of the next. Timing wrappers on the instances (nothing in src/ changes) split
 * each step into: model round trip, kernel execution (driver.execute), notebook save (contents API), recording
 * (recorder calls, event-log appends included) and the rest (shaping, the agent's bookkeeping).
 *
 * Variants: as shipped (server with TCP_NODELAY), a stock server (no NODELAY), as shipped with the per-execution
 * notebook save turned into a no-op (what saving costs), and as shipped with the save started but not awaited
 * (coalesced: one save in flight at most, plus one after it; what a background save in the driver would give). The runs are split into 4 rounds; a round is
 * a block of raw ZMQ baseline then one session per variant (fresh notebook and kernel, a few warm-up steps, then
 * its share of the runs), so the notebooks hold 1 to ~55 cells and noise falls on every variant alike.
 */
import { Agent } from '../src/agent/agent';
import { runSource } from '../src/agent/source';
import { TOOL_DEFINITIONS } from '../src/agent/tools';
import { ChatClient } from '../src/llm/client';
import { HeadlessNotebookDriver } from '../src/notebook/headless';
import { SessionRecorder } from '../src/trace/recorder';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IStats, msWithP90, nowMs, splitRuns, stats } from './common';
import { executeScript, startModelProcess } from './scriptedModel';

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
  save: 'await' | 'skip' | 'background',
  warmups: number,
  runs: number
): Promise<IStepRow[]> {
  const server = await ctx.server(nodelay);
  const total = warmups + runs;
  const session = `agent-${name}-${++sessionCounter}`;
  const model = await startModelProcess(executeScript(total), ctx.tmp, session);
  const recorder = new SessionRecorder({
    logPath: `${ctx.tmp}/${session}.events.jsonl`,
    source: runSource({ app: 'jupyterlab-aiev/bench', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
    task: { prompt: 'benchmark', attachments: [], tags: ['bench'] },
    tools: TOOL_DEFINITIONS,
    secrets: [],
    outputsCapBytes: 5 * 1024 * 1024
  });
  const driver = await HeadlessNotebookDriver.open({ settings: server.settings, path: `bench-${session}.ipynb` });
  const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'bench', model: 'scripted', stream: true });

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
  let pendingSave: Promise<void> | undefined;
  if (save === 'await') {
    timed(driver, 'save', 'save');
  } else if (save === 'skip') {
    (driver as { save: () => Promise<void> }).save = async () => undefined;
  } else {
    // What a coalescing background save would cost: the save starts, the step goes on; a save requested while one
    // is in flight runs once after it. (A simulation of a possible driver change; src/ is unchanged.)
    const original = driver.save.bind(driver);
    let again = false;
    const loop = async (): Promise<void> => {
      do {
        again = false;
        await original().catch(() => undefined);
      } while (again);
      pendingSave = undefined;
    };
    (driver as { save: () => Promise<void> }).save = async () => {
      if (pendingSave) {
        again = true;
      } else {
        pendingSave = loop();
      }
    };
  }
  for (const method of ['assistant', 'execution', 'toolResult', 'event'] as const) {
    timed(recorder, method, 'record');
  }

  let outcome: string;
  try {
    const agent = new Agent({ client, driver, recorder, toolMode: 'native', maxSteps: total + 1, cellTimeoutMs: 60000 });
    outcome = (await agent.run('benchmark')).reason;
    await pendingSave;
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
  return steps.slice(warmups, total).map((s, i) => {
    const duration = durations[warmups + i];
    const known = s.parts.model + s.parts.execute + s.parts.save + s.parts.record;
    return { step: duration, ...s.parts, other: duration - known };
  });
}

function breakdown(v: IVariantResult): string {
  return PARTS.map(p => `${p} ${fmt(v.parts[p].median)}`).join(', ');
}

export const agentStep: IBenchModule = {
  name: 'agent_step',
  title: 'one full agent step (Agent + headless driver + recorder, instant scripted model)',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const variants = [
      { name: 'nodelay', nodelay: true, save: 'await' },
      { name: 'no-nodelay', nodelay: false, save: 'await' },
      { name: 'nodelay-nosave', nodelay: true, save: 'skip' },
      { name: 'nodelay-bgsave', nodelay: true, save: 'background' }
    ] as const;
    const sessions: IStepRow[][][] = variants.map(() => []);
    const warmups = Math.max(2, Math.ceil(ctx.warmups / 4));
    const rounds = splitRuns(ctx.runs);
    for (const [index, runs] of rounds.entries()) {
      ctx.log(`  round ${index + 1}/${rounds.length}: ${runs} x raw ZMQ, then a session of ${warmups} + ${runs} steps per variant`);
      await ctx.rawZmq.sample(runs);
      for (const [i, v] of variants.entries()) {
        sessions[i].push(await runSession(ctx, v.name, v.nodelay, v.save, warmups, runs));
      }
    }
    const [shipped, stock, noSave, bgSave] = sessions.map(summarise);
    const notes = [
      `agent step (shipped) = ${breakdown(shipped)} ms (medians of each part)`,
      `notebook save: ${fmt(shipped.firstSteps.save)} ms over the first 10 measured steps of a session, ` +
        `${fmt(shipped.lastSteps.save)} ms over the last 10 (up to ${warmups + rounds[0]} cells); how it grows with ` +
        'the notebook: see step_growth'
    ];
    return {
      keys: {
        agent_step_ms: shipped.step.median,
        agent_step_ms_p90: shipped.step.p90,
        agent_step_without_nodelay_ms: stock.step.median,
        agent_step_without_nodelay_ms_p90: stock.step.p90,
        agent_step_no_save_ms: noSave.step.median,
        agent_step_no_save_ms_p90: noSave.step.p90,
        agent_step_background_save_ms: bgSave.step.median,
        agent_step_background_save_ms_p90: bgSave.step.p90,
        agent_step_model_ms: shipped.parts.model.median,
        agent_step_execute_ms: shipped.parts.execute.median,
        agent_step_save_ms: shipped.parts.save.median,
        agent_step_record_ms: shipped.parts.record.median,
        agent_step_other_ms: shipped.parts.other.median
      },
      ratios: {
        agent_step_ratio: 'agent_step_ms',
        agent_step_without_nodelay_ratio: 'agent_step_without_nodelay_ms',
        agent_step_no_save_ratio: 'agent_step_no_save_ms',
        agent_step_background_save_ratio: 'agent_step_background_save_ms'
      },
      rows: [
        { item: '(c) agent step, NODELAY (shipped)', value: msWithP90(shipped.step), ratioOf: 'agent_step_ms' },
        { item: '    model round trip', value: msWithP90(shipped.parts.model) },
        { item: '    execute (driver.execute)', value: msWithP90(shipped.parts.execute) },
        { item: '    notebook save (contents API)', value: msWithP90(shipped.parts.save) },
        { item: '    record (recorder + event log)', value: msWithP90(shipped.parts.record) },
        { item: '    other (shaping, loop)', value: msWithP90(shipped.parts.other) },
        { item: '(c) agent step, no NODELAY (stock)', value: msWithP90(stock.step), ratioOf: 'agent_step_without_nodelay_ms' },
        { item: '(c) agent step, NODELAY, save skipped', value: msWithP90(noSave.step), ratioOf: 'agent_step_no_save_ms' },
        { item: '(c) agent step, NODELAY, save in background', value: msWithP90(bgSave.step), ratioOf: 'agent_step_background_save_ms' }
      ],
      details: { shipped, stock_server: stock, save_skipped: noSave, save_in_background: bgSave, warmup_steps_per_session: warmups },
      notes
    };
  }
};
