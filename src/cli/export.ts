import { readFileSync, renameSync, writeFileSync } from 'fs';

import { EXPORT_FORMATS, ExportFormat, isJsonlFormat, projectSample } from '../trace/projections';
import { scrubSample } from '../trace/scrub';
import type { ISample } from '../trace/types';
import { validateSample } from '../trace/validate';
import { parseOptions, UsageError } from './connect';

export const EXPORT_USAGE = `Usage: aiev export FILE.json --format FORMAT [--out FILE] [--no-redact]

Projects one record to a training format: ${EXPORT_FORMATS.join(', ')}. JSONL formats give one
line, ipynb the final notebook. Secrets (provider keys, tokens, JWTs, private keys, secret-looking environment
values, the home path) are scrubbed unless --no-redact. Without --out the result goes to stdout.`;

/** `aiev export`: returns the exit status. */
export async function exportCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const parsed = parseOptions(argv, { format: { type: 'string' }, out: { type: 'string' }, 'no-redact': { type: 'boolean' } }, true);
  const { values, positionals } = parsed;
  const format = values.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
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
  const clean = values['no-redact'] ? sample : scrubSample(sample);
  const text = projectSample(clean, format) + (isJsonlFormat(format) ? '\n' : '');
  if (values.out) {
    const temp = `${values.out}.partial`;
    writeFileSync(temp, text);
    renameSync(temp, values.out);
    const scrubbed = clean.redactions.length - sample.redactions.length;
    log(`aiev export: ${format} → ${values.out}${values['no-redact'] ? ' (not redacted)' : ` (${scrubbed} secrets scrubbed)`}`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
