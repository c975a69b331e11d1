/**
 * `aiev harvest` over a folder of records: `harvestCommand(argv, log)` in process (src/cli/harvest.ts), as the CLI
 * runs it, minus the process start.
 *
 * The folder: 196 records of 4 to 40 model turns (a skewed draw, median ~13) re-recorded from units of the run's
 * real scripted sessions (bench/records.ts), each with its own id, prompt and mix of executions, and 4 copies of
 * some of them under other names (a copied file is common; `--dedupe` drops it): 200 files written as `aiev run`
 * writes them (`writeSample`, 2-space JSON).
 *
 * Per run, in order: the baseline (read + `JSON.parse` of the same 200 files), then
 * `aiev harvest DIR --out D.jsonl --format trl --dedupe` (read, validate, dedupe, scrub, project, write the dataset,
 * its summary and ids), then the same work piece by piece over the parsed records (validate, dedupe key, scrub,
 * project) to show where the harvest's time goes. `harvest_records_per_s` = 200 / median harvest time;
 * `harvest_ratio_vs_read_parse` = median harvest time / median read + parse time.
 *
 * Then once each: the 200 to Parquet (pyarrow in the project's Python, one more process), and `--verify` on 10
 * records (the 5 real sessions, each also under a second id): every record replayed in a fresh kernel by one
 * `python -m python_kernel_bridge verify --jsonl --jobs 2 …` process, 2 at a time (the default `--concurrency`).
 *
 * Then notebooks: `NOTEBOOKS` small notebooks executed once with nbclient (a person's sitting), harvested with
 * `--verify` at concurrency 1 and 2, each time in the verifier's own environment and, interleaved, in a replay
 * environment from `--requirements` (one pinned package from PyPI) already in the cache (built once before the
 * timed rounds): `harvest_notebooks_per_s_c1/_c2`, and `harvest_cached_env_speed_ratio` = median verifier-env time
 * / median cached-env time over both concurrencies (the goal: >= 0.9).
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

import { harvestCommand } from '../src/cli/harvest';
import { dialogueKey, projectSample } from '../src/trace/projections';
import { writeSample } from '../src/trace/logFile';
import { scrubSample } from '../src/trace/scrub';
import type { ISample } from '../src/trace/types';
import { validateSample } from '../src/trace/validate';
import { fmt, IBenchContext, IBenchModule, IModuleResult, IRow, IStats, msWithP90, nowMs, PYTHON, ratio, stats } from './common';
import { composeRecord, prng, realSessions, unitPool } from './records';

const RECORDS = 200;
const COPIES = 4;
const RUNS = 5;
const VERIFY_COPIES = 2;
const NOTEBOOKS = 8;
const NOTEBOOK_ROUNDS = 3;

/** Executes `NOTEBOOKS` small notebooks into `argv[1]` with nbclient, as a person would have run them. */
const EXECUTE_NOTEBOOKS = `
import os, sys, nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_notebook, new_code_cell as code, new_markdown_cell as md
folder, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    nb = new_notebook(cells=[md(f"Notebook {i}: square roots as JSON."), code("import json, math"),
                             code(f"print(json.dumps({{'n': {i}, 'sqrt': math.sqrt({i})}}))"), code("sum(range(1000))")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
    nbformat.write(nb, os.path.join(folder, f"nb{i}.ipynb"))
`;

/** Notebooks/s of `harvest --verify` in the verifier's environment and in a cached `--requirements` one. */
async function notebookThroughput(ctx: IBenchContext, dir: string): Promise<Record<string, number | null>> {
  const folder = join(dir, 'notebooks');
  mkdirSync(folder, { recursive: true });
  execFileSync(PYTHON, ['-c', EXECUTE_NOTEBOOKS, folder, String(NOTEBOOKS)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const requirements = join(dir, 'requirements.txt');
  writeFileSync(requirements, 'six==1.16.0\n');
  process.env.AIEV_ENV_CACHE = join(ctx.tmp, 'replay-envs');
  const run = async (concurrency: number, cached: boolean) => {
    const extra = cached ? ['--requirements', requirements] : [];
    const out = join(dir, `notebooks-${concurrency}-${cached}.jsonl`);
    const result = await harvest([folder, '--out', out, '--verify', '--concurrency', String(concurrency), ...extra]);
    if (result.summary.by_verdict.verified !== NOTEBOOKS) {
      throw new Error(`notebooks did not all verify: ${JSON.stringify(result.summary.by_verdict)}`);
    }
    return result.ms;
  };
  const t0 = nowMs();
  await run(1, true); // builds the replay environment: the first harvest, not timed
  ctx.log(`  replay environment built in ${fmt(nowMs() - t0)} ms (with one harvest)`);
  const times: Record<string, number[]> = {};
  for (let round = 0; round < NOTEBOOK_ROUNDS; round++) {
    for (const concurrency of [1, 2]) {
      for (const cached of [false, true]) {
        (times[`${concurrency}-${cached}`] ??= []).push(await run(concurrency, cached));
      }
    }
  }
  const median = (key: string) => stats(times[key]).median;
  const perSecond = (key: string) => Math.round((NOTEBOOKS / (median(key) / 1000)) * 100) / 100;
  const own = median('1-false') + median('2-false');
  const cachedEnv = median('1-true') + median('2-true');
  return {
    harvest_notebooks_per_s_c1: perSecond('1-false'),
    harvest_notebooks_per_s_c2: perSecond('2-false'),
    harvest_notebooks_cached_env_per_s_c1: perSecond('1-true'),
    harvest_notebooks_cached_env_per_s_c2: perSecond('2-true'),
    harvest_cached_env_speed_ratio: ratio(own, cachedEnv)
  };
}

const PROMPTS = [
  'Generate iris-like measurements and report the mean petal length per species.',
  'Fit a small classifier for virginica on generated iris-like data and report its accuracy.',
  'Show a density heat map of generated measurements and describe every column.',
  'Clean the generated measurements, standardise the features and report the class balance.',
  'Compare sepal and petal measurements across species on generated data.'
];

interface IPhases {
  validate: number;
  dedupe_key: number;
  scrub: number;
  project: number;
}

/** One pass of the harvest's per-record work over parsed records, each piece timed on its own (ms, summed). */
function phases(records: ISample[]): IPhases {
  const out: IPhases = { validate: 0, dedupe_key: 0, scrub: 0, project: 0 };
  for (const record of records) {
    let t = nowMs();
    validateSample(record);
    out.validate += nowMs() - t;
    t = nowMs();
    createHash('sha256').update(dialogueKey(record)).digest('hex');
    out.dedupe_key += nowMs() - t;
    t = nowMs();
    const clean = scrubSample(record);
    out.scrub += nowMs() - t;
    t = nowMs();
    projectSample(clean, 'trl');
    out.project += nowMs() - t;
  }
  return out;
}

async function harvest(args: string[]): Promise<{ ms: number; summary: Record<string, any> }> {
  const log: string[] = [];
  const t0 = nowMs();
  const code = await harvestCommand(args, line => log.push(line));
  const ms = nowMs() - t0;
  const out = args[args.indexOf('--out') + 1];
  if (code !== 0) {
    throw new Error(`aiev harvest exited ${code}: ${log.join('\n').slice(-600)}`);
  }
  return { ms, summary: JSON.parse(readFileSync(out.replace(/\.(jsonl|parquet)$/, '.summary.json'), 'utf8')) };
}

export const harvestBench: IBenchModule = {
  name: 'harvest',
  title: `aiev harvest over ${RECORDS} records (in process), and --verify over 10`,
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const { samples } = await realSessions(ctx);
    const pool = unitPool(samples);
    const dir = join(ctx.tmp, 'harvest');
    const inputs = join(dir, 'records');
    mkdirSync(inputs, { recursive: true });
    const random = prng(2000);
    const originals: ISample[] = [];
    let bytes = 0;
    for (let i = 0; i < RECORDS - COPIES; i++) {
      const turns = 4 + Math.floor(36 * random() ** 2);
      const prompt = `${PROMPTS[i % PROMPTS.length]} (dataset ${i + 1})`;
      const record = composeRecord(pool, { turns, seed: 2000 + i, prompt });
      originals.push(record);
      writeSample(join(inputs, `run-${String(i + 1).padStart(3, '0')}.aiev.json`), record);
    }
    for (let i = 0; i < COPIES; i++) {
      writeSample(join(inputs, `copy-of-run-${String(i * 37 + 1).padStart(3, '0')}.aiev.json`), originals[i * 37]);
    }
    const files = readdirSync(inputs).map(name => join(inputs, name));
    const turns = stats(originals.map(r => r.verification.interactive.turns));
    ctx.log(`  ${files.length} records written (${turns.min}-${turns.max} turns, median ${turns.median})`);

    const readParse: number[] = [];
    const harvests: number[] = [];
    const pieces: IPhases[] = [];
    let summary: Record<string, any> = {};
    for (let run = -1; run < RUNS; run++) {
      // Baseline: read + JSON.parse of every file.
      let t = nowMs();
      const parsed: ISample[] = [];
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        if (run < 0) {
          bytes += Buffer.byteLength(text);
        }
        parsed.push(JSON.parse(text));
      }
      const baseMs = nowMs() - t;
      const result = await harvest([inputs, '--out', join(dir, `dataset-${run + 1}.jsonl`), '--format', 'trl', '--dedupe']);
      summary = result.summary;
      const piece = phases(parsed);
      if (run >= 0) {
        readParse.push(baseMs);
        harvests.push(result.ms);
        pieces.push(piece);
      }
    }
    if (summary.written !== RECORDS - COPIES || summary.duplicates !== COPIES) {
      throw new Error(`unexpected harvest summary: written ${summary.written}, duplicates ${summary.duplicates}`);
    }
    const base = stats(readParse);
    const main = stats(harvests);
    const perSecond = Math.round((RECORDS / (main.median / 1000)) * 10) / 10;
    const basePerSecond = Math.round((RECORDS / (base.median / 1000)) * 10) / 10;
    const phaseStats = Object.fromEntries(
      (Object.keys(pieces[0]) as (keyof IPhases)[]).map(k => [k, stats(pieces.map(p => p[k]))])
    ) as Record<keyof IPhases, IStats>;

    ctx.log('  parquet output (once)');
    const parquet = await harvest([inputs, '--out', join(dir, 'dataset.parquet'), '--format', 'trl', '--dedupe']);

    // --verify: the real sessions (their notebooks replay for real), each under VERIFY_COPIES ids.
    const verifyDir = join(dir, 'verify');
    mkdirSync(verifyDir, { recursive: true });
    let verifyCount = 0;
    for (const [index, sample] of samples.entries()) {
      for (let copy = 0; copy < VERIFY_COPIES; copy++) {
        const id = copy ? `${sample.id.slice(0, -3)}c0${copy}` : sample.id;
        writeSample(join(verifyDir, `session-${index + 1}-${copy + 1}.aiev.json`), { ...sample, id });
        verifyCount++;
      }
    }
    ctx.log(`  --verify over ${verifyCount} records (2 at a time)`);
    const quick = await harvest([verifyDir, '--out', join(dir, 'verify-none.jsonl'), '--format', 'trl']);
    const verified = await harvest([verifyDir, '--out', join(dir, 'verify.jsonl'), '--format', 'trl', '--verify']);
    const verifyPerSecond = Math.round((verifyCount / (verified.ms / 1000)) * 100) / 100;

    ctx.log(`  --verify over ${NOTEBOOKS} notebooks, concurrency 1 and 2, own and cached environment`);
    const notebooks = await notebookThroughput(ctx, dir);

    const mb = Math.round((bytes / 2 ** 20) * 10) / 10;
    const phaseSum = Object.values(phaseStats).reduce((n, s) => n + s.median, 0);
    const rows: IRow[] = [
      {
        item: `harvest ${RECORDS} records -> JSONL (trl, --dedupe)`,
        value: `${perSecond} records/s`,
        versus: `${msWithP90(main)} per harvest; ${ratio(main.median, base.median)}x read + JSON.parse (${fmt(base.median)} ms, ${basePerSecond}/s); ${mb} MB in`
      },
      {
        item: '  where it goes (same work, piece by piece)',
        value: `${fmt(phaseSum + base.median)} ms`,
        versus: `read+parse ${fmt(base.median)}, validate ${fmt(phaseStats.validate.median)}, dedupe key ${fmt(phaseStats.dedupe_key.median)}, scrub ${fmt(phaseStats.scrub.median)}, project ${fmt(phaseStats.project.median)}`
      },
      {
        item: `harvest ${RECORDS} records -> Parquet (once)`,
        value: `${Math.round((RECORDS / (parquet.ms / 1000)) * 10) / 10} records/s`,
        versus: `${fmt(parquet.ms)} ms (pyarrow conversion in a Python process)`
      },
      {
        item: `harvest --verify, ${verifyCount} real-session records (once)`,
        value: `${verifyPerSecond} records/s`,
        versus: `${fmt(verified.ms)} ms (${fmt(quick.ms)} ms without --verify); verdicts ${JSON.stringify(verified.summary.by_verdict)}`
      },
      {
        item: `harvest --verify, ${NOTEBOOKS} notebooks, concurrency 1 / 2`,
        value: `${notebooks.harvest_notebooks_per_s_c1} / ${notebooks.harvest_notebooks_per_s_c2} notebooks/s`,
        versus: `cached --requirements env: ${notebooks.harvest_notebooks_cached_env_per_s_c1} / ${notebooks.harvest_notebooks_cached_env_per_s_c2}; speed ${notebooks.harvest_cached_env_speed_ratio}x the own env's (goal >= 0.9)`
      }
    ];
    return {
      keys: {
        harvest_records_per_s: perSecond,
        harvest_ms: main.median,
        harvest_ms_p90: main.p90,
        harvest_ratio_vs_read_parse: ratio(main.median, base.median),
        harvest_read_parse_ms: base.median,
        harvest_parquet_records_per_s: Math.round((RECORDS / (parquet.ms / 1000)) * 10) / 10,
        harvest_verify_records_per_s: verifyPerSecond,
        harvest_verify_ms: Math.round(verified.ms),
        ...notebooks
      },
      rows,
      details: {
        runs: RUNS,
        records: RECORDS,
        copies: COPIES,
        input_mb: mb,
        turns_per_record: turns,
        harvest: main,
        read_parse: base,
        pieces_ms: phaseStats,
        summary,
        parquet_ms: Math.round(parquet.ms),
        verify: {
          records: verifyCount,
          concurrency: 2,
          ms: Math.round(verified.ms),
          without_verify_ms: Math.round(quick.ms),
          by_verdict: verified.summary.by_verdict
        }
      }
    };
  }
};
