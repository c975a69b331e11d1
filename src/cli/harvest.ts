import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, extname, join, resolve } from 'path';

import { version } from '../../package.json';
import { shapeOutputs } from '../agent/shaping';
import { TOOL_DEFINITIONS } from '../agent/tools';
import { findVenvExecutable } from '../notebook/localServer';
import { DatasetSummary } from '../trace/datasetSummary';
import { sampleFromNotebook } from '../trace/fromNotebook';
import { dialogueKey, EXPORT_FORMATS, ExportFormat, isJsonlFormat, projectLines } from '../trace/projections';
import { redactionReport, redactionSummary, ReportedRedaction } from '../trace/redaction/report';
import { scrubSample } from '../trace/scrub';
import type { ISample } from '../trace/types';
import { validateSample } from '../trace/validate';
import { parseOptions, UsageError } from './connect';
import { countByCause, IVerdictLine, verdictLine } from './harvestVerdicts';
import { REPLAY_OPTIONS, REPLAY_USAGE, verifierArgsOf } from './verify';
import { verifyAll } from './verifyAll';

/** The default `--format`: the canonical record itself, one per line. */
const RECORD_FORMAT = 'record';
const FORMATS = [RECORD_FORMAT, ...EXPORT_FORMATS.filter(isJsonlFormat)];

export const HARVEST_USAGE = `Usage: aiev harvest PATH... --out DATASET.jsonl|DATASET.parquet [--format FORMAT] [options]

Turns agent records (*.json from aiev run) and executed notebooks (*.ipynb, e.g. a class's exercises) into one
training dataset. Folders are searched recursively. Secrets are scrubbed from every sample. A notebook's
attachments are the files in its folder that its code names and the local modules it imports; its cells never
run (no execution count) replay as setup.

  --format FORMAT      ${FORMATS.join(', ')} (default ${RECORD_FORMAT}: the canonical record; preference:
                       a line per preference pair, none for most samples)
  --verify             replay every sample in a fresh kernel first (notebooks need it to be more than unverified);
                       one Python verifier process replays them all, each with its attachments (the files
                       its code reads) copied from its input's folder
${REPLAY_USAGE}
  --concurrency N      replays (kernels) at once (default 2)
  --timeout SECONDS    per-cell replay timeout (default 120)
  --verified-only      keep only samples whose verdict is verified
  --dedupe             drop samples whose normalised dialogue was already seen
  --min-steps N        drop samples with fewer than N assistant turns
  --redactions-report FILE
                       write every redaction made (sample, rule, location; never the value) as JSON

A bad input file is reported and skipped. The dataset is written whole at the end (never half-written), with
a summary beside it (DATASET.summary.json, also printed as a table, counts by cause included), the sample ids in
row order (DATASET.ids), to join rows back to their records, and one line per input in DATASET.verdicts.jsonl
(its verdict, what was compared, the first differing cell and what differed, or the error and its cause).`;

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

/** Convert a JSONL file to Parquet with pyarrow in the project's Python environment. */
function jsonlToParquet(jsonl: string, parquet: string): Promise<void> {
  const script = 'import sys, pyarrow.json as j, pyarrow.parquet as p; p.write_table(j.read_json(sys.argv[1]), sys.argv[2])';
  return new Promise((resolvePromise, reject) =>
    execFile(findVenvExecutable('python'), ['-c', script, jsonl, parquet], (error, _stdout, stderr) =>
      error ? reject(new Error(`parquet conversion failed: ${stderr.trim().split('\n').pop()}`)) : resolvePromise()
    )
  );
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
      'redactions-report': { type: 'string' },
      ...REPLAY_OPTIONS
    }, true);
  const { values, positionals } = parsed;
  const format = (values.format ?? RECORD_FORMAT) as ExportFormat | typeof RECORD_FORMAT;
  if (!FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  }
  if (values['recorded-env'] && values.requirements) {
    throw new UsageError('--recorded-env and --requirements both name the packages: give one');
  }
  if (values.kernel && (values.requirements || values.python)) {
    throw new UsageError('--kernel names an environment already: give it alone, or --requirements / --python');
  }
  if (values.requirements && !statSync(values.requirements, { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`--requirements ${values.requirements}: no such file`);
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
    const verdicts: IVerdictLine[] = [];
    const samples: (ISample | null)[] = inputs.map(path => {
      summary.input();
      try {
        return readInput(path);
      } catch (error) {
        summary.skip(path, (error as Error).message);
        log(`aiev harvest: skipped ${path}: ${(error as Error).message}`);
        verdicts.push({ input: path, id: null, verdict: null, cause: 'bad input', error: { where: 'input', ename: '', evalue: (error as Error).message } });
        return null;
      }
    });
    const unverifiable = values.verify
      ? await verifyAll(
          samples.map((sample, index) => ({ sample, label: inputs[index], attachmentsFrom: dirname(inputs[index]) })),
          scratch,
          { timeout, jobs: concurrency, verifierArgs: verifierArgsOf(values), command: 'aiev harvest' },
          log
        )
      : new Map<number, string>();
    const lineOf = new Map<ISample, IVerdictLine>();
    samples.forEach((sample, index) => {
      if (sample) {
        const line = verdictLine(inputs[index], sample);
        const problem = unverifiable.get(index);
        if (problem !== undefined) {
          Object.assign(line, { cause: 'could not verify', error: { where: 'verifier', ename: '', evalue: problem } });
        }
        lineOf.set(sample, line);
        verdicts.push(line);
      }
    });
    const seen = new Set<string>();
    const lines: string[] = [];
    const ids: string[] = [];
    let kept = 0;
    const redactions: ReportedRedaction[] = [];
    for (const sample of samples) {
      if (!sample) {
        continue;
      }
      summary.sample(sample);
      const line = lineOf.get(sample) as IVerdictLine;
      line.kept = false;
      if (values['verified-only'] && sample.verification.verdict !== 'verified') {
        summary.filtered('not_verified');
        line.dropped = 'not verified';
        continue;
      }
      if (sample.verification.interactive.turns < minSteps) {
        summary.filtered('too_few_steps');
        line.dropped = 'too few steps';
        continue;
      }
      if (values.dedupe) {
        const key = createHash('sha256').update(dialogueKey(sample)).digest('hex');
        if (seen.has(key)) {
          summary.duplicate();
          line.dropped = 'duplicate';
          continue;
        }
        seen.add(key);
      }
      line.kept = true;
      const clean = scrubSample(sample);
      redactions.push(...clean.redactions.slice(sample.redactions.length).map(entry => ({ sample: clean.id, ...entry })));
      const rows = format === RECORD_FORMAT ? [JSON.stringify(clean)] : projectLines(clean, format);
      lines.push(...rows);
      ids.push(...rows.map(() => clean.id));
      kept++;
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
    const byCause = countByCause(verdicts);
    const pairs = format === 'preference' ? { preference_pairs: lines.length } : {};
    writeFileSync(summaryPath, JSON.stringify({ ...summary.toJSON(), ...pairs, by_cause: byCause }, null, 2) + '\n');
    const verdictsPath = out.replace(/\.(jsonl|parquet)$/, '.verdicts.jsonl');
    verdicts.sort((a, b) => inputs.indexOf(a.input) - inputs.indexOf(b.input));
    writeFileSync(verdictsPath, verdicts.map(line => `${JSON.stringify(line)}\n`).join(''));
    // Sample ids in dataset order, to join rows back to records (the OpenAI format allows no extra keys).
    writeFileSync(out.replace(/\.(jsonl|parquet)$/, '.ids'), ids.map(id => `${id}\n`).join(''));
    log(summary.table());
    log(causeTable(byCause));
    log(`aiev harvest: ${redactionSummary(redactions)}`);
    if (values['redactions-report'] !== undefined) {
      writeFileSync(values['redactions-report'], JSON.stringify(redactionReport(redactions), null, 2) + '\n');
    }
    const written = format === 'preference' ? `${lines.length} preference ${lines.length === 1 ? 'pair' : 'pairs'} from ${kept} samples` : `${lines.length} samples`;
    log(`aiev harvest: ${written} → ${out} (summary ${summaryPath})`);
    return kept ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The counts by cause, as rows under the summary table. */
function causeTable(byCause: Record<string, number>): string {
  const rows = Object.entries(byCause).map(([cause, n]): [string, string] => [`cause: ${cause}`, `${n}`]);
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
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
