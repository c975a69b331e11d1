/**
 * Training formats as pure projections of the canonical record (../shared/design/sample-format.md,
 * "Projections"): deterministic functions of the sample alone, so the same record always gives the same bytes.
 * Every chat format starts from `trainingDialogue` (./dialogue.ts); each module's header says what it keeps,
 * drops and why. Every line carries the sample `id` except openai's (its validator allows no extra key; see
 * ./openai.ts), and the ipynb has it in `metadata.aiev`. Each JSONL format gives one line per sample but
 * `preference`, which gives one per preference pair (`<sample id>#<n>`, and `sample_id`), none for most records.
 */
import type { ISample } from '../types';
import { aievRow } from './aiev';
import { hfJupyterAgentRow } from './hfJupyterAgent';
import { ipynbText } from './ipynb';
import { openaiExample } from './openai';
import { preferenceRows } from './preference';
import { sharegptRow } from './sharegpt';
import { trlRow } from './trl';

export { buildDialogue, dialogueKey, messageIndexOfCall, ProjectionError, trainingDialogue } from './dialogue';
export type { IChatMessage, IDialogue, IDialogueCall } from './dialogue';

/** A training format. */
export type ExportFormat = 'openai' | 'trl' | 'sharegpt' | 'aiev' | 'hf-jupyter-agent' | 'preference' | 'ipynb';

/** Every format, in the order they are listed to users. */
export const EXPORT_FORMATS: readonly ExportFormat[] = [
  'openai',
  'trl',
  'sharegpt',
  'aiev',
  'hf-jupyter-agent',
  'preference',
  'ipynb'
];

const one = (row: (sample: ISample) => Record<string, unknown>) => (sample: ISample) => [row(sample)];

const ROWS_OF: Record<Exclude<ExportFormat, 'ipynb'>, (sample: ISample) => Record<string, unknown>[]> = {
  openai: one(openaiExample),
  trl: one(trlRow),
  sharegpt: one(sharegptRow),
  aiev: one(aievRow),
  'hf-jupyter-agent': one(hfJupyterAgentRow),
  preference: preferenceRows
};

/** Whether `name` is a format. */
export function isExportFormat(name: string): name is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(name);
}

/** Whether a format is line-oriented (JSONL) — all but ipynb. */
export function isJsonlFormat(format: ExportFormat): boolean {
  return format !== 'ipynb';
}

/**
 * One sample → its JSONL lines (no newlines): one, or for 'preference' one per pair. Throws `ProjectionError` when
 * the record cannot give that format (no assistant turn…).
 */
export function projectLines(sample: ISample, format: ExportFormat): string[] {
  if (format === 'ipynb') {
    throw new Error('ipynb is one notebook per sample, not JSONL lines');
  }
  const rows = ROWS_OF[format];
  if (!rows) {
    throw new Error(`unknown export format ${JSON.stringify(format)}; expected one of ${EXPORT_FORMATS.join(', ')}`);
  }
  return rows(sample).map(row => JSON.stringify(row));
}

/**
 * One sample → its JSONL lines joined by newlines (no trailing newline; "" for a record with no preference pair),
 * or a whole .ipynb JSON text for 'ipynb'. Throws `ProjectionError` when the record cannot give that format (no
 * assistant turn, no final notebook…).
 */
export function projectSample(sample: ISample, format: ExportFormat): string {
  return format === 'ipynb' ? ipynbText(sample) : projectLines(sample, format).join('\n');
}

/** One sample as a file of that format: its JSONL lines, each ending in a newline (none for no pair), or the .ipynb. */
export function exportText(sample: ISample, format: ExportFormat): string {
  return format === 'ipynb' ? ipynbText(sample) : projectLines(sample, format).map(line => `${line}\n`).join('');
}
