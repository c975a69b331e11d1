import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { basename, join } from 'path';

import { EXPORT_FORMATS, ExportFormat, exportText, isJsonlFormat } from '../trace/projections';
import { redactionReport, redactionSummary } from '../trace/redaction/report';
import { scrubSample } from '../trace/scrub';
import type { ISample } from '../trace/types';
import { validateSample } from '../trace/validate';
import { parseOptions, UsageError } from './connect';

export const EXPORT_USAGE = `Usage: aiev export FILE.json --format FORMAT[,FORMAT…|all] [--out FILE | --out-dir DIR] [--no-redact]
                   [--redactions-report FILE]

Projects one record to training formats: ${EXPORT_FORMATS.join(', ')}. JSONL formats give one
line, preference one per preference pair (a rejected agent edit with the user's replacement, a rejected execution
with the agent's next attempt the user allowed; often none), ipynb the final notebook. Secrets (provider keys, tokens, JWTs, private keys, secret-looking environment
values, the home path) are scrubbed unless --no-redact. Without --out the result goes to stdout. Several formats
(a comma-separated list, or all) are scrubbed once and written to --out-dir DIR, one file each:
DIR/<record>.<format>.jsonl, DIR/<record>.ipynb for ipynb (<record>: the file name without .json / .aiev.json).
A one-line summary of the redactions (how many, by rule) is printed; --redactions-report FILE writes them all
(rule and location, never the value) as JSON.`;

/** The formats `--format` names: one, a comma-separated list or `all` (each once, in the order given). */
function parseFormats(value: unknown): ExportFormat[] {
  const names = typeof value === 'string' ? value.split(',').map(name => name.trim()) : [];
  const formats = names.flatMap(name => (name === 'all' ? [...EXPORT_FORMATS] : [name as ExportFormat]));
  if (!formats.length || formats.some(format => !EXPORT_FORMATS.includes(format))) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')} (or a comma-separated list of them, or all)`);
  }
  return [...new Set(formats)];
}

/** Where `--out-dir` puts one format of the record read from `recordPath`. */
export function exportFileName(recordPath: string, format: ExportFormat): string {
  const stem = basename(recordPath).replace(/(\.aiev)?\.json$/, '');
  return isJsonlFormat(format) ? `${stem}.${format}.jsonl` : `${stem}.${format}`;
}

/** `aiev export`: returns the exit status. */
export async function exportCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const options = { format: { type: 'string' }, out: { type: 'string' }, 'out-dir': { type: 'string' }, 'no-redact': { type: 'boolean' }, 'redactions-report': { type: 'string' } } as const;
  const { values, positionals } = parseOptions(argv, options, true);
  const formats = parseFormats(values.format);
  const outDir = values['out-dir'];
  if (values.out !== undefined && outDir !== undefined) {
    throw new UsageError('give --out FILE or --out-dir DIR, not both');
  }
  if (formats.length > 1 && outDir === undefined) {
    throw new UsageError('several formats are written to --out-dir DIR (one file each), not to --out or stdout');
  }
  if (positionals.length !== 1) {
    throw new UsageError('give exactly one record file');
  }
  let sample: ISample;
  try {
    sample = JSON.parse(readFileSync(positionals[0], 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(error as Error).message}`);
  }
  const check = validateSample(sample);
  if (!check.valid) {
    throw new UsageError(`${positionals[0]} is not a valid record: ${check.errors[0]}`);
  }
  // Scrubbed once, whatever the number of formats.
  const clean = values['no-redact'] ? sample : scrubSample(sample);
  const found = clean.redactions.slice(sample.redactions.length);
  if (values['redactions-report'] !== undefined) {
    writeFileSync(values['redactions-report'], JSON.stringify(redactionReport(found), null, 2) + '\n');
  }
  if (outDir !== undefined) {
    mkdirSync(outDir, { recursive: true });
  }
  for (const format of formats) {
    const text = exportText(clean, format);
    const out = outDir !== undefined ? join(outDir, exportFileName(positionals[0], format)) : values.out;
    // A record gives 0..n preference pairs, one per line (JSON lines hold no raw newline): say how many.
    const count = text.split('\n').length - 1;
    const pairs = format === 'preference' ? `${count} ${count === 1 ? 'pair' : 'pairs'} in ` : '';
    if (out) {
      const temp = `${out}.partial`;
      writeFileSync(temp, text);
      renameSync(temp, out);
      log(`aiev export: ${format} → ${pairs}${out}${values['no-redact'] ? ' (not redacted)' : ` (${found.length} secrets scrubbed)`}`);
    } else {
      process.stdout.write(text);
      if (pairs) {
        log(`aiev export: ${format} → ${pairs}stdout`);
      }
    }
  }
  if (!values['no-redact']) {
    log(`aiev export: ${redactionSummary(found)}`);
  }
  return 0;
}
