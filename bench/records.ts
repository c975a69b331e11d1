/**
 * Records for the export and harvest benchmarks, made with the real recorder.
 *
 * 1. Real sessions (`realSessions`): the real `Agent`, `HeadlessNotebookDriver` (a real python3 kernel on the run's
 *    private server), streaming `ChatClient` and `SessionRecorder`, answered by the scripted model
 *    (test/scripted-model, in process, so a turn can name the cell id of an earlier tool result). The environment
 *    is captured as `aiev run` does (same kernel snippets) and the final notebook is `buildFinalNotebook`'s. Each
 *    session is a small data task on generated iris-like data (variant `v` = its random seed): a DataFrame shown
 *    as HTML, a typo that raises a real pandas `KeyError` (fixed with edit_cell + run_cell), a training loop
 *    printing 20 lines plus a warning on stderr, a 480x360 heat map as a real PNG (numpy + zlib, ~27-32 KB: the
 *    size of a typical matplotlib figure; matplotlib is not installed), `describe()` as HTML, a cell with no
 *    output, a `NameError` fixed by a new cell, a printed table, `read_notebook`, `final_answer`. Every record is
 *    checked with `validateSample`. No `%pip install`: a replay would install for real.
 *
 * 2. Longer records (`composeRecord`), for a 1,000-step export and a folder of 200 records: re-recorded through a
 *    new `SessionRecorder` from "units" cut out of the real sessions (one model turn and what it caused; an error
 *    and the turns that fixed it stay one unit), drawn with fixed weights, cell / call ids and execution counts
 *    renumbered, plus two kinds of unit the kernel cannot give here: a `%pip install` (pip's usual output, the
 *    before/after snapshot events and `install.resolved`, its model text by the agent's `executionText`) and a
 *    cell printing configuration with two secrets in it (a provider key, a password), so scrubbing has something
 *    to find. The final notebook is `buildFinalNotebook`'s over all steps.
 */
import { createHash } from 'crypto';

import type * as nbformat from '@jupyterlab/nbformat';

import { Agent } from '../src/agent/agent';
import { runSource } from '../src/agent/source';
import { captureEnvironment, finishEnvironment } from '../src/agent/environment';
import { executionText } from '../src/agent/results';
import { shapeOutputs } from '../src/agent/shaping';
import { TOOL_DEFINITIONS } from '../src/agent/tools';
import { ChatClient } from '../src/llm/client';
import { HeadlessNotebookDriver } from '../src/notebook/headless';
import { DEFAULT_OUTPUT_CAP_BYTES } from '../src/notebook/outputCollector';
import { buildFinalNotebook } from '../src/trace/finalNotebook';
import { SessionRecorder } from '../src/trace/recorder';
import type { IAssistantStep, IEnvironment, IEventStep, IExecutionStep, ISample, IStep, IToolResultStep } from '../src/trace/types';
import { validateSample } from '../src/trace/validate';
import { ChatRequest, lastToolResult, ScriptEntry, startScriptedModel } from '../test/scripted-model/server';
import { IBenchContext } from './common';

// ---------------------------------------------------------------------------------------------------------------
// 1. Real sessions

const field = (text: string, key: string): string => {
  const match = new RegExp(`^${key}: (.*)$`, 'm').exec(text);
  if (!match) {
    throw new Error(`no ${key} in tool result: ${text.slice(0, 200)}`);
  }
  return match[1].trim();
};

const LOAD = (v: number) => `import numpy as np
import pandas as pd

rng = np.random.default_rng(${v})
n = ${150 + 25 * v}
species = rng.choice(['setosa', 'versicolor', 'virginica'], size=n)
base = pd.Series(species).map({'setosa': 1.5, 'versicolor': 4.3, 'virginica': 5.6}).to_numpy()
df = pd.DataFrame({
    'species': species,
    'sepal_length': (base * 0.6 + 4.2 + rng.normal(0, 0.35, n)).round(1),
    'sepal_width': (3.1 + rng.normal(0, 0.3, n)).round(1),
    'petal_length': (base + rng.normal(0, 0.3, n)).round(1),
    'petal_width': (base / 3 + rng.normal(0, 0.15, n)).round(1),
})
df.head(10)`;

const MEANS_TYPO = "means = df.groupby('species')['petal_lenght'].mean()\nmeans";
const MEANS = "means = df.groupby('species')['petal_length'].agg(['mean', 'std', 'count']).round(3)\nmeans";

const TRAIN = `import warnings

X = df[['sepal_length', 'sepal_width', 'petal_length', 'petal_width']].to_numpy()
y = (df['species'] == 'virginica').to_numpy().astype(float)
Xc = X - X.mean(0)
weights = np.zeros(4)
for epoch in range(1, 41):
    p = 1 / (1 + np.exp(-Xc @ weights))
    weights -= 0.5 * Xc.T @ (p - y) / len(y)
    if epoch % 2 == 0:
        loss = -np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9))
        print(f'epoch {epoch:3d}  loss {loss:.4f}  accuracy {((p > 0.5) == y).mean():.3f}')
warnings.warn('plain gradient descent without line search may converge slowly', RuntimeWarning)`;

const HEATMAP = `import struct
import zlib
from IPython.display import Image, display

def to_png(rgb):
    h, w, _ = rgb.shape
    raw = b''.join(b'\\x00' + rgb[y].tobytes() for y in range(h))
    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))

h, w = 360, 480
yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
density = np.zeros((h, w))
for cx, cy, s in rng.uniform(0.15, 0.85, size=(3, 3)):
    density += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.02 + 0.05 * s))
density += rng.normal(0, 0.004, size=density.shape)
t = np.round((density - density.min()) / np.ptp(density) * 48) / 48
rgb = np.stack([68 + 185 * t, 1 + 230 * t ** 0.8, 84 + 60 * np.sin(3.1 * t)], -1).clip(0, 255).astype(np.uint8)
display(Image(data=to_png(rgb)))`;

const DESCRIBE = 'df.describe().round(2)';
const FEATURES = "features = (X - X.mean(0)) / X.std(0)\nlabels = df['species'].astype('category').cat.codes.to_numpy()";
const ACCURACY_TYPO = "print(f'accuracy: {acuracy:.3f}')";
const ACCURACY = "accuracy = (((1 / (1 + np.exp(-Xc @ weights))) > 0.5) == y).mean()\nprint(f'accuracy: {accuracy:.3f}')";
const COUNTS = "print(df['species'].value_counts().to_string())\nprint(f'{len(df)} rows, {df.shape[1]} columns')";

/** The scripted model's turns for variant `v`: each a realistic reply (text, sometimes reasoning) and one call. */
function sessionScript(v: number): ScriptEntry[] {
  let meansCell = '';
  const exec = (content: string, code: string, reasoning?: string): ScriptEntry => ({
    content,
    ...(reasoning ? { reasoning } : {}),
    toolCalls: [{ name: 'execute_cell', arguments: { code } }]
  });
  return [
    exec('I will generate the measurements and look at the first rows.', LOAD(v)),
    exec(
      'Now the mean petal length per species.',
      MEANS_TYPO,
      'Group by species, then average petal length; std and count would help judge the spread.'
    ),
    (request: ChatRequest) => {
      meansCell = field(lastToolResult(request), 'cell_id');
      return {
        content: "The column is 'petal_length', not 'petal_lenght'. Fixing the cell and adding std and count.",
        toolCalls: [{ name: 'edit_cell', arguments: { cell_id: meansCell, code: MEANS } }]
      };
    },
    () => ({ content: 'Running the fixed cell.', toolCalls: [{ name: 'run_cell', arguments: { cell_id: meansCell } }] }),
    exec('The species separate well on petal length. A quick logistic regression for virginica:', TRAIN),
    exec('Converged. A heat map of the sample density:', HEATMAP, 'Draw it by hand: matplotlib is not needed for a heat map.'),
    exec('Summary statistics of every column:', DESCRIBE),
    exec('Standardised features for later:', FEATURES),
    exec('And the final accuracy.', ACCURACY_TYPO),
    exec('A typo in the variable name; computing it properly.', ACCURACY),
    exec('Class balance:', COUNTS),
    { content: 'Let me check the notebook before answering.', toolCalls: [{ name: 'read_notebook', arguments: {} }] },
    {
      content: '',
      toolCalls: [
        {
          name: 'final_answer',
          arguments: {
            answer:
              'Mean petal length per species is in the `means` table (setosa ~1.5, versicolor ~4.3, virginica ~5.6); ' +
              'a logistic regression separates virginica from the rest with the accuracy printed above.'
          }
        }
      ]
    }
  ];
}

const TASK_PROMPT =
  'Generate iris-like measurements, report the mean petal length per species, fit a small classifier for ' +
  'virginica and show a density heat map.';

/** One real scripted session on a real kernel of the run's server; the validated record. */
async function runRealSession(ctx: IBenchContext, v: number): Promise<ISample> {
  const server = await ctx.server(true);
  const model = await startScriptedModel(sessionScript(v));
  const recorder = new SessionRecorder({
    source: runSource({ app: 'jupyterlab-aiev/bench', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
    task: { prompt: TASK_PROMPT, attachments: [], tags: ['bench', 'data-analysis'] },
    tools: TOOL_DEFINITIONS,
    secrets: ['bench-model-key'],
    outputsCapBytes: DEFAULT_OUTPUT_CAP_BYTES
  });
  const driver = await HeadlessNotebookDriver.open({
    settings: server.settings,
    path: `bench-session-${v}-${process.pid}.ipynb`,
    outputsCapBytes: DEFAULT_OUTPUT_CAP_BYTES
  });
  try {
    const environment = await captureEnvironment(driver, recorder);
    const client = new ChatClient({ baseURL: model.baseUrl, apiKey: 'bench-model-key', model: 'scripted', stream: true });
    const agent = new Agent({ client, driver, recorder, toolMode: 'native', maxSteps: 20, cellTimeoutMs: 60000 });
    const outcome = await agent.run(TASK_PROMPT);
    if (outcome.reason !== 'final_answer') {
      throw new Error(`real session ${v} ended with ${outcome.reason}: ${outcome.message ?? ''}`);
    }
    if (environment) {
      await finishEnvironment(driver, recorder, environment);
    }
    recorder.setNotebook(buildFinalNotebook(recorder.snapshot().steps, driver.toJSON()));
    const sample = recorder.finish(outcome);
    const check = validateSample(sample);
    if (!check.valid) {
      throw new Error(`real session ${v}: record does not validate: ${check.errors.slice(0, 3).join('; ')}`);
    }
    return sample;
  } finally {
    await driver.dispose().catch(() => undefined);
    await model.stop();
  }
}


/** Real sessions of this run (made once, shared by the modules that need them). */
let sessions: Promise<{ samples: ISample[]; ms: number }> | null = null;

/** How many real sessions a run makes. */
export const REAL_SESSIONS = 5;

/** The run's real sessions (variants 0..REAL_SESSIONS-1), made on first use; with the time they took. */
export function realSessions(ctx: IBenchContext): Promise<{ samples: ISample[]; ms: number }> {
  sessions ??= (async () => {
    const t0 = Date.now();
    const samples: ISample[] = [];
    for (let v = 0; v < REAL_SESSIONS; v++) {
      ctx.log(`  real scripted session ${v + 1}/${REAL_SESSIONS} (agent, kernel, recorder)`);
      samples.push(await runRealSession(ctx, v));
    }
    return { samples, ms: Date.now() - t0 };
  })();
  return sessions;
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Longer records from units of the real sessions

/** What a unit does; `install` and `config` are made here, every other kind is cut out of the real sessions. */
export type UnitKind = 'table' | 'stream' | 'image' | 'quiet' | 'error_fix' | 'read' | 'install' | 'config';

interface IUnit {
  kind: UnitKind;
  /** Steps, starting with an assistant turn. */
  steps: IStep[];
  /** Model turns in it. */
  turns: number;
}

/** How often each kind of unit is drawn. */
const WEIGHTS: Record<UnitKind, number> = {
  stream: 26,
  quiet: 20,
  table: 16,
  error_fix: 14,
  image: 8,
  install: 4,
  read: 2,
  config: 1
};

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUID-shaped id from the PRNG (the lab's cell ids are UUIDs). */
function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

function kindOf(group: IStep[]): UnitKind {
  const executions = group.filter((s): s is IExecutionStep => s.type === 'execution');
  if (!executions.length) {
    return 'read';
  }
  const outputs = executions.flatMap(e => e.outputs);
  if (outputs.some(o => 'data' in o && (o.data as Record<string, unknown>)['image/png'])) {
    return 'image';
  }
  if (outputs.some(o => 'data' in o && (o.data as Record<string, unknown>)['text/html'])) {
    return 'table';
  }
  return outputs.length ? 'stream' : 'quiet';
}

/** The units of a real session: the turns between the prompt and the final answer, errors kept with their fix. */
function unitsOf(sample: ISample): { units: IUnit[]; final: IStep[] } {
  const groups: IStep[][] = [];
  for (const step of sample.steps) {
    if (step.type === 'assistant') {
      groups.push([step]);
    } else if (groups.length && step.type !== 'user') {
      groups[groups.length - 1].push(step);
    }
  }
  const final = groups.pop()!;
  if (!(final[0] as IAssistantStep).actions.some(a => a.tool === 'final_answer')) {
    throw new Error('real session does not end with final_answer');
  }
  const units: IUnit[] = [];
  let pending: IStep[][] = [];
  for (const group of groups) {
    pending.push(group);
    const executions = group.filter((s): s is IExecutionStep => s.type === 'execution');
    const failed = executions.some(e => e.status !== 'ok');
    const editOnly = !executions.length && (group[0] as IAssistantStep).actions.some(a => a.tool === 'edit_cell');
    if (failed || editOnly) {
      continue; // the fix comes in a later turn
    }
    const steps = pending.flat();
    units.push({ kind: pending.length > 1 ? 'error_fix' : kindOf(steps), steps, turns: pending.length });
    pending = [];
  }
  return { units, final };
}

const PIP_OUTPUT = (pkg: string, version: string, deps: [string, string][]) =>
  [
    `Collecting ${pkg}`,
    `  Downloading ${pkg}-${version}-py3-none-any.whl.metadata (6.1 kB)`,
    ...deps.map(([d, v]) => `Requirement already satisfied: ${d}>=${v} in /home/ada/project/.venv/lib/python3.11/site-packages (from ${pkg}) (${v})`),
    `Downloading ${pkg}-${version}-py3-none-any.whl (294 kB)`,
    '   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 294.9/294.9 kB 5.2 MB/s eta 0:00:00',
    `Installing collected packages: ${pkg}`,
    `Successfully installed ${pkg}-${version}`,
    'Note: you may need to restart the kernel to use updated packages.',
    ''
  ].join('\n');

const INSTALLS: [string, string, [string, string][]][] = [
  ['seaborn', '0.13.2', [['numpy', '1.20'], ['pandas', '1.2'], ['matplotlib', '3.4']]],
  ['tabulate', '0.9.0', []],
  ['scikit-learn', '1.5.2', [['numpy', '1.19.5'], ['scipy', '1.6.0'], ['joblib', '1.2.0'], ['threadpoolctl', '3.1.0']]],
  ['polars', '1.9.0', []]
];

/** A `%pip install` turn as the agent records it (snapshot events around the execution, `install.resolved`). */
function installUnit(index: number): IUnit {
  const [pkg, version, deps] = INSTALLS[index % INSTALLS.length];
  const code = `%pip install ${pkg}`;
  const outputs: nbformat.IOutput[] = [{ output_type: 'stream', name: 'stdout', text: PIP_OUTPUT(pkg, version, deps) }];
  const install = { resolved: [{ name: pkg, version }], removed: [], restart_required: false };
  const execution: IExecutionStep = {
    type: 'execution',
    call_id: 'call_install',
    cell_id: 'cell-install',
    code,
    executor: 'ipykernel',
    execution_count: 1,
    status: 'ok',
    started_at: '',
    duration_ms: 3400 + 100 * index,
    outputs,
    truncated: false,
    model_text: '',
    install
  };
  const assistant: IAssistantStep = {
    type: 'assistant',
    text: `${pkg} is not installed in this kernel; installing it.`,
    actions: [{ call_id: 'call_install', tool: 'execute_cell', kind: 'pip', cell_id: null, arguments: { code }, code }],
    time: '',
    usage: { prompt_tokens: 2400, completion_tokens: 31 },
    finish_reason: 'tool_calls'
  };
  const event = (purpose: string): IEventStep => ({ type: 'event', event: 'silent_execution', time: '', detail: { purpose, status: 'ok', error: null } });
  return { kind: 'install', steps: [assistant, event('before install'), execution, event('after install')], turns: 1 };
}

/** A cell printing a configuration file that holds two secrets (scrubbing has something to find). */
function configUnit(index: number): IUnit {
  const code = "print(open('.env').read())";
  const key = `sk-proj-${createHash('sha256').update(`key${index}`).digest('base64url').slice(0, 40)}`;
  const text = `MODEL=gpt-4o-mini\nOPENAI_API_KEY=${key}\nDB_HOST=db.internal\nDB_PASSWORD=Tr0ub4dor-${index}x\nLOG_LEVEL=info\n`;
  const outputs: nbformat.IOutput[] = [{ output_type: 'stream', name: 'stdout', text }];
  const execution: IExecutionStep = {
    type: 'execution',
    call_id: 'call_config',
    cell_id: 'cell-config',
    code,
    executor: 'ipykernel',
    execution_count: 1,
    status: 'ok',
    started_at: '',
    duration_ms: 4,
    outputs,
    truncated: false,
    model_text: ''
  };
  const assistant: IAssistantStep = {
    type: 'assistant',
    text: 'Checking which model the configuration selects.',
    actions: [{ call_id: 'call_config', tool: 'execute_cell', kind: 'python', cell_id: null, arguments: { code }, code }],
    time: '',
    usage: { prompt_tokens: 2100, completion_tokens: 18 },
    finish_reason: 'tool_calls'
  };
  return { kind: 'config', steps: [assistant, execution], turns: 1 };
}

/** What `composeRecord` builds from. */
export interface IUnitPool {
  units: IUnit[];
  finals: IStep[][];
  environment: IEnvironment | null;
  metadata: nbformat.INotebookMetadata;
}

/** Units of every real session, plus the made ones. */
export function unitPool(samples: ISample[]): IUnitPool {
  const units: IUnit[] = [];
  const finals: IStep[][] = [];
  for (const sample of samples) {
    const cut = unitsOf(sample);
    units.push(...cut.units);
    finals.push(cut.final);
  }
  for (let i = 0; i < INSTALLS.length; i++) {
    units.push(installUnit(i));
  }
  units.push(configUnit(0), configUnit(1));
  return { units, finals, environment: samples[0].environment, metadata: samples[0].notebook?.metadata ?? {} };
}

/** Ids renumbered in one copy of a unit: every cell id and call id it uses, everywhere in its text. */
function renumber(steps: IStep[], random: () => number, nextCall: () => string): IStep[] {
  const ids = new Map<string, string>();
  for (const step of steps) {
    if (step.type === 'assistant') {
      for (const action of step.actions) {
        ids.set(action.call_id, nextCall());
        if (action.cell_id) {
          ids.set(action.cell_id, uuid(random));
        }
      }
    } else if (step.type === 'execution' || step.type === 'tool_result') {
      if (step.cell_id && !ids.has(step.cell_id)) {
        ids.set(step.cell_id, uuid(random));
      }
    }
  }
  let text = JSON.stringify(steps);
  for (const [from, to] of ids) {
    text = text.replace(new RegExp(`\\b${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'g'), to);
  }
  return JSON.parse(text);
}

/** Options of `composeRecord`. */
export interface IComposeOptions {
  /** Model turns, the final answer included. */
  turns: number;
  seed: number;
  /** Record id (default: from the seed). */
  id?: string;
  prompt?: string;
}

/**
 * A record of `turns` model turns re-recorded through `SessionRecorder` from units drawn (seeded) from the pool;
 * validated. Execution counts run 1, 2, 3…; timestamps advance by each step's duration.
 */
export function composeRecord(pool: IUnitPool, options: IComposeOptions): ISample {
  const random = prng(options.seed);
  let clock = Date.UTC(2026, 0, 5, 9, 0, 0) + options.seed * 3_600_000;
  const tick = (ms: number) => (clock += Math.max(1, Math.round(ms)));
  const recorder = new SessionRecorder({
    source: {
      app: 'jupyterlab-aiev/cli',
      app_version: '0.1.0',
      model: 'qwen2.5-coder-32b-instruct',
      provider_host: '127.0.0.1:8000',
      tool_mode: 'native',
      stream: true,
      sampling: { temperature: 0.2 },
      system_prompt_id: 'native-v1'
    },
    task: { prompt: options.prompt ?? TASK_PROMPT, attachments: [], tags: ['data-analysis'] },
    tools: TOOL_DEFINITIONS,
    outputsCapBytes: DEFAULT_OUTPUT_CAP_BYTES,
    id: options.id ?? uuid(prng(options.seed ^ 0x5eed)),
    now: () => new Date(clock)
  });
  let calls = 0;
  const nextCall = () => `call_${++calls}`;
  let count = 0;
  const kinds = Object.keys(WEIGHTS) as UnitKind[];
  const total = kinds.reduce((n, k) => n + WEIGHTS[k], 0);
  const byKind = new Map(kinds.map(k => [k, pool.units.filter(u => u.kind === k)]));
  const draw = (maxTurns: number): IUnit => {
    for (;;) {
      let r = random() * total;
      const kind = kinds.find(k => (r -= WEIGHTS[k]) < 0) ?? 'stream';
      const choices = (byKind.get(kind) ?? []).filter(u => u.turns <= maxTurns);
      if (choices.length) {
        return choices[Math.floor(random() * choices.length)];
      }
    }
  };

  // As `aiev run` records it: the environment snapshot, then the prompt.
  recorder.event('silent_execution', { purpose: 'environment', status: 'ok', error: null });
  if (pool.environment) {
    recorder.setEnvironment(pool.environment);
  }
  recorder.user(options.prompt ?? TASK_PROMPT);
  const record = (step: IStep) => {
    switch (step.type) {
      case 'assistant': {
        tick(400 + random() * 2500); // the model's turn
        const { type: _type, time: _time, ...input } = step;
        recorder.assistant(input);
        break;
      }
      case 'execution': {
        tick(20);
        count++;
        const started = new Date(clock).toISOString();
        tick(step.duration_ms);
        const outputs = step.outputs.map(o => (o.output_type === 'execute_result' ? { ...o, execution_count: count } : o));
        const { type: _type, ...rest } = step;
        recorder.execution({
          ...rest,
          execution_count: step.execution_count === null ? null : count,
          started_at: started,
          outputs,
          model_text: step.model_text
            ? step.model_text.replace(/^execution_count: \d+$/m, `execution_count: ${count}`)
            : executionText(
                {
                  cellId: step.cell_id,
                  status: step.status,
                  executionCount: count,
                  outputs,
                  truncated: false,
                  totalBytes: 0,
                  startedAt: started,
                  durationMs: step.duration_ms,
                  stdinRequested: false
                },
                shapeOutputs(outputs).text,
                step.install
              )
        });
        break;
      }
      case 'tool_result': {
        tick(2);
        const { type: _type, time: _time, ...rest } = step as IToolResultStep;
        recorder.toolResult(rest);
        break;
      }
      case 'event':
        tick(150);
        recorder.event(step.event, step.detail);
        break;
    }
  };
  for (let turns = 0; turns < options.turns - 1; ) {
    const unit = draw(options.turns - 1 - turns);
    for (const step of renumber(unit.steps, random, nextCall)) {
      record(step);
    }
    turns += unit.turns;
  }
  for (const step of renumber(pool.finals[Math.floor(random() * pool.finals.length)], random, nextCall)) {
    record(step);
  }
  const last = recorder.snapshot().steps.filter((s): s is IAssistantStep => s.type === 'assistant').pop()!;
  const answer = last.actions.find(a => a.tool === 'final_answer')?.answer;
  recorder.setNotebook(buildFinalNotebook(recorder.snapshot().steps, { nbformat: 4, nbformat_minor: 5, metadata: pool.metadata, cells: [] }));
  const sample = recorder.finish({ reason: 'final_answer', answer });
  const check = validateSample(sample);
  if (!check.valid) {
    throw new Error(`composed record does not validate: ${check.errors.slice(0, 3).join('; ')}`);
  }
  return sample;
}

/** What a record holds, for the tables. */
export function describeRecord(sample: ISample): Record<string, number> {
  const executions = sample.steps.filter((s): s is IExecutionStep => s.type === 'execution');
  const outputs = executions.flatMap(e => e.outputs);
  return {
    turns: sample.verification.interactive.turns,
    steps: sample.steps.length,
    executions: executions.length,
    errors: executions.filter(e => e.status !== 'ok').length,
    installs: executions.filter(e => e.install).length,
    images: outputs.filter(o => 'data' in o && (o.data as Record<string, unknown>)['image/png']).length,
    notebook_cells: sample.notebook?.cells.length ?? 0,
    mb: Math.round((JSON.stringify(sample).length / 2 ** 20) * 100) / 100
  };
}
