import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { constants, copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, extname, join, resolve } from 'path';

import { version } from '../../package.json';
import { shapeOutputs } from '../agent/shaping';
import { TOOL_DEFINITIONS } from '../agent/tools';
import { findVenvExecutable } from '../notebook/localServer';
import { attachmentSource } from '../trace/attachments';
import { DatasetSummary } from '../trace/datasetSummary';
import { sampleFromNotebook } from '../trace/fromNotebook';
import { dialogueKey, EXPORT_FORMATS, ExportFormat, isJsonlFormat, projectSample } from '../trace/projections';
import { writeSample } from '../trace/logFile';
import { redactionReport, redactionSummary, ReportedRedaction } from '../trace/redaction/report';
import { scrubSample } from '../trace/scrub';
import type { ISample } from '../trace/types';
import { validateSample } from '../trace/validate';
import { parseOptions, UsageError } from './connect';
import { verifyManyLocally, VerifyResult } from './verify';

export const HARVEST_USAGE = `Usage: aiev harvest PATH... --out DATASET.jsonl|DATASET.parquet --format FORMAT [options]

Turns agent records (*.json from aiev run) and executed notebooks (*.ipynb, e.g. a class's exercises) into one
training dataset. Folders are searched recursively. Secrets are scrubbed from every sample. A notebook's
attachments are the files in its folder that its code names.

  --format FORMAT      ${EXPORT_FORMATS.filter(isJsonlFormat).join(', ')}
  --verify             replay every sample in a fresh kernel first (notebooks need it to be more than unverified);
                       one Python verifier process replays them all, each with its attachments (the files
                       its code reads) copied from its input's folder
  --concurrency N      replays (kernels) at once (default 2)
  --timeout SECONDS    per-cell replay timeout (default 120)
  --verified-only      keep only samples whose verdict is verified
  --dedupe             drop samples whose normalised dialogue was already seen
  --min-steps N        drop samples with fewer than N assistant turns
  --redactions-report FILE
                       write every redaction made (sample, rule, location; never the value) as JSON

A bad input file is reported and skipped. The dataset is written whole at the end (never half-written), with
a summary beside it (DATASET.summary.json, also printed as a table) and the sample ids in row order
(DATASET.ids), to join rows back to their records.`;

/** Every record and notebook under the given paths, sorted, without checkpoints and event logs. */
export function collectInputs(paths: string[]): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (!entry.startsWith('.')) {
          visit(join(path, entry));
        }
      }
    } else if (['.json', '.ipynb'].includes(extname(path)) && !path.endsWith('.summary.json')) {
      found.push(resolve(path));
    }
  };
  for (const path of paths) {
    try {
      visit(path);
    } catch {
      throw new UsageError(`no such file or folder: ${path}`);
    }
  }
  return [...new Set(found)];
}

/** Read one input as a sample; throws with a short reason when it is not usable. */
export function readInput(path: string): ISample {
  const bytes = readFileSync(path, 'utf8');
  let data: any;
  try {
    data = JSON.parse(bytes);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  if (path.endsWith('.ipynb')) {
    return sampleFromNotebook(data, {
      path,
      bytes,
      modelText: outputs => shapeOutputs(outputs).text,
      tools: TOOL_DEFINITIONS.filter(t => ['execute_cell', 'final_answer'].includes(t.function.name)),
      appVersion: version
    });
  }
  const check = validateSample(data);
  if (!check.valid) {
    throw new Error(`not a valid record: ${check.errors[0]}`);
  }
  return data as ISample;
}

/** A one-line progress indicator on stderr: redrawn in a terminal, a line every 10% otherwise. */
function progress(total: number, label: string): (done: number) => void {
  let lastDecile = -1;
  return done => {
    const share = total ? done / total : 1;
    if (process.stderr.isTTY) {
      const bar = '#'.repeat(Math.round(share * 30)).padEnd(30, '.');
      process.stderr.write(`\r${label} [${bar}] ${done}/${total}${done === total ? '\n' : ''}`);
    } else if (Math.floor(share * 10) > lastDecile) {
      lastDecile = Math.floor(share * 10);
      process.stderr.write(`${label} ${done}/${total}\n`);
    }
  };
}

/** Convert a JSONL file to Parquet with pyarrow in the project's Python environment. */
function jsonlToParquet(jsonl: string, parquet: string): Promise<void> {
  const script = 'import sys, pyarrow.json as j, pyarrow.parquet as p; p.write_table(j.read_json(sys.argv[1]), sys.argv[2])';
  return new Promise((resolvePromise, reject) =>
    execFile(findVenvExecutable('python'), ['-c', script, jsonl, parquet], (error, _stdout, stderr) =>
      error ? reject(new Error(`parquet conversion failed: ${stderr.trim().split('\n').pop()}`)) : resolvePromise()
    )
  );
}

/**
 * Stage one sample for replay: `folder/record.json` and each of its attachments from `from` (the input's own
 * folder) at `folder/<path>`, hard-linked (the verifier only reads them; a copy when `from` is on another file
 * system); unsafe paths, files whose real path leads out of `from`, `record.json` itself and missing files are
 * skipped (the verifier reports them).
 */
function stageSample(sample: ISample, from: string, folder: string): string {
  const file = join(folder, 'record.json');
  writeSample(file, sample);
  for (const { path } of sample.task.attachments) {
    const source = path === 'record.json' ? null : attachmentSource(from, path);
    if (!source) {
      continue;
    }
    const target = join(folder, path);
    try {
      mkdirSync(dirname(target), { recursive: true });
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target, constants.COPYFILE_FICLONE);
      }
    } catch {
      continue;
    }
  }
  return file;
}

/**
 * Replay every readable sample in ONE verifier process (`jobs` kernels at a time), from scratch copies (each
 * record in its own folder with its attachments), setting each sample's verification; a record that could not be
 * verified is logged and keeps the one it had.
 */
async function verifyAll(
  samples: (ISample | null)[],
  inputs: string[],
  scratch: string,
  options: { timeout: number; jobs: number },
  log: (line: string) => void
): Promise<void> {
  const indices = samples.flatMap((sample, index) => (sample ? [index] : []));
  const files = indices.map(index => stageSample(samples[index] as ISample, dirname(inputs[index]), join(scratch, String(index))));
  const tick = progress(indices.length, 'verify');
  const reported = new Set<number>();
  const report = (at: number, result: VerifyResult) => {
    const index = indices[at];
    reported.add(at);
    if (result instanceof Error) {
      log(`aiev harvest: could not verify ${inputs[index]}: ${result.message}`);
    } else {
      (samples[index] as ISample).verification = result;
    }
    tick(reported.size);
  };
  try {
    await verifyManyLocally(files, options.timeout, options.jobs, report);
  } catch (error) {
    // The verifier itself failed: every record it had not reported is one that could not be verified.
    for (let at = 0; at < indices.length; at++) {
      if (!reported.has(at)) {
        report(at, error as Error);
      }
    }
  }
}

/** `aiev harvest`: returns the exit status. */
export async function harvestCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const parsed = parseOptions(argv, {
      out: { type: 'string' },
      format: { type: 'string' },
      verify: { type: 'boolean' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'verified-only': { type: 'boolean' },
      dedupe: { type: 'boolean' },
      'min-steps': { type: 'string' },
      'redactions-report': { type: 'string' }
    }, true);
  const { values, positionals } = parsed;
  const format = values.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format) || !isJsonlFormat(format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.filter(isJsonlFormat).join(', ')}`);
  }
  const out = values.out && resolve(values.out);
  if (!out || !/\.(jsonl|parquet)$/.test(out)) {
    throw new UsageError('--out must name a .jsonl or .parquet file');
  }
  if (!positionals.length) {
    throw new UsageError('name at least one record, notebook or folder');
  }
  const concurrency = Math.max(1, Number(values.concurrency ?? 2) || 1);
  const timeout = Number(values.timeout ?? 120);
  const minSteps = Number(values['min-steps'] ?? 0);
  const inputs = collectInputs(positionals);
  const summary = new DatasetSummary();
  const scratch = mkdtempSync(join(tmpdir(), 'aiev-harvest-'));
  try {
    const samples: (ISample | null)[] = inputs.map(path => {
      summary.input();
      try {
        return readInput(path);
      } catch (error) {
        summary.skip(path, (error as Error).message);
        log(`aiev harvest: skipped ${path}: ${(error as Error).message}`);
        return null;
      }
    });
    if (values.verify) {
      await verifyAll(samples, inputs, scratch, { timeout, jobs: concurrency }, log);
    }
    const seen = new Set<string>();
    const lines: string[] = [];
    const ids: string[] = [];
    const redactions: ReportedRedaction[] = [];
    for (const sample of samples) {
      if (!sample) {
        continue;
      }
      summary.sample(sample);
      if (values['verified-only'] && sample.verification.verdict !== 'verified') {
        summary.filtered('not_verified');
        continue;
      }
      if (sample.verification.interactive.turns < minSteps) {
        summary.filtered('too_few_steps');
        continue;
      }
      if (values.dedupe) {
        const key = createHash('sha256').update(dialogueKey(sample)).digest('hex');
        if (seen.has(key)) {
          summary.duplicate();
          continue;
        }
        seen.add(key);
      }
      const clean = scrubSample(sample);
      redactions.push(...clean.redactions.slice(sample.redactions.length).map(entry => ({ sample: clean.id, ...entry })));
      lines.push(projectSample(clean, format));
      ids.push(clean.id);
      summary.written(clean);
    }
    const staged = join(scratch, 'dataset.jsonl');
    writeFileSync(staged, lines.map(line => `${line}\n`).join(''));
    const summaryPath = out.replace(/\.(jsonl|parquet)$/, '.summary.json');
    if (out.endsWith('.parquet')) {
      await jsonlToParquet(staged, join(scratch, 'dataset.parquet'));
      renameOrCopy(join(scratch, 'dataset.parquet'), out);
    } else {
      renameOrCopy(staged, out);
    }
    writeFileSync(summaryPath, JSON.stringify(summary.toJSON(), null, 2) + '\n');
    // Sample ids in dataset order, to join rows back to records (the OpenAI format allows no extra keys).
    writeFileSync(out.replace(/\.(jsonl|parquet)$/, '.ids'), ids.map(id => `${id}\n`).join(''));
    log(summary.table());
    log(`aiev harvest: ${redactionSummary(redactions)}`);
    if (values['redactions-report'] !== undefined) {
      writeFileSync(values['redactions-report'], JSON.stringify(redactionReport(redactions), null, 2) + '\n');
    }
    log(`aiev harvest: ${lines.length} samples → ${out} (summary ${summaryPath})`);
    return lines.length ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Move a finished file into place (a rename when on the same filesystem, else copy then rename). */
function renameOrCopy(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    const temp = join(dirname(to), `.${Date.now()}.partial`);
    writeFileSync(temp, readFileSync(from));
    renameSync(temp, to);
  }
}
