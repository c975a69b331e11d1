/**
 * The final notebook (`sample.notebook`, nbformat 4) as `.ipynb` text, with `metadata.aiev = {id, verdict}` to join
 * back to the record. Written as nbformat's own writer does (keys sorted, one-space indent, final newline), so the
 * same sample always gives the same bytes.
 */
import type { ISample } from '../types';
import { ProjectionError } from './dialogue';

/** JSON with object keys sorted at every level. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map(key => [key, sortKeys((value as Record<string, unknown>)[key])])
    );
  }
  return value;
}

/** The `.ipynb` text of a sample's final notebook; throws `ProjectionError` when the record has none. */
export function ipynbText(sample: ISample): string {
  if (!sample.notebook) {
    throw new ProjectionError(sample.id, 'the record has no final notebook (sample.notebook is null)');
  }
  const notebook = {
    ...sample.notebook,
    metadata: { ...sample.notebook.metadata, aiev: { id: sample.id, verdict: sample.verification.verdict } }
  };
  return JSON.stringify(sortKeys(notebook), null, 1) + '\n';
}
