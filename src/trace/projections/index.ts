/**
 * Training formats as pure projections of the canonical record (../shared/design/sample-format.md,
 * "Projections"): deterministic functions of the sample alone, so the same record always gives the same bytes.
 * Every chat format starts from `trainingDialogue` (./dialogue.ts); each module's header says what it keeps,
 * drops and why. Every line carries the sample `id` except openai's (its validator allows no extra key; see
 * ./openai.ts), and the ipynb has it in `metadata.aiev`.
 */
import type { ISample } from '../types';
import { aievRow } from './aiev';
import { hfJupyterAgentRow } from './hfJupyterAgent';
import { ipynbText } from './ipynb';
import { openaiExample } from './openai';
import { sharegptRow } from './sharegpt';
import { trlRow } from './trl';

export { buildDialogue, dialogueKey, ProjectionError, trainingDialogue } from './dialogue';
export type { IChatMessage, IDialogue, IDialogueCall } from './dialogue';

/** A training format. */
export type ExportFormat = 'openai' | 'trl' | 'sharegpt' | 'aiev' | 'hf-jupyter-agent' | 'ipynb';

/** Every format, in the order they are listed to users. */
export const EXPORT_FORMATS: readonly ExportFormat[] = [
  'openai',
  'trl',
  'sharegpt',
  'aiev',
  'hf-jupyter-agent',
  'ipynb'
];

const LINE_OF: Record<Exclude<ExportFormat, 'ipynb'>, (sample: ISample) => Record<string, unknown>> = {
  openai: openaiExample,
  trl: trlRow,
  sharegpt: sharegptRow,
  aiev: aievRow,
  'hf-jupyter-agent': hfJupyterAgentRow
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
 * One sample → one JSONL line (no trailing newline) for the JSONL formats, or a whole .ipynb JSON text for 'ipynb'.
 * Throws `ProjectionError` when the record cannot give that format (no assistant turn, no final notebook…).
 */
export function projectSample(sample: ISample, format: ExportFormat): string {
  if (format === 'ipynb') {
    return ipynbText(sample);
  }
  const line = LINE_OF[format];
  if (!line) {
    throw new Error(`unknown export format ${JSON.stringify(format)}; expected one of ${EXPORT_FORMATS.join(', ')}`);
  }
  return JSON.stringify(line(sample));
}
