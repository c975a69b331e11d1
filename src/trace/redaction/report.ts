/**
 * What `aiev export` and `aiev harvest` tell about their redactions: a one-line summary by rule, and the whole
 * list for `--redactions-report FILE` (kind and location of each, never a value).
 */
import type { Redaction } from '../redact';

/** One entry of a redactions report: a `redactions` entry, with the sample it is in (for a dataset). */
export type ReportedRedaction = Redaction & { sample?: string };

/** How many redactions of each kind, the most frequent first. */
export function countByKind(redactions: readonly Redaction[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const { kind } of redactions) {
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** The one-line summary `export` and `harvest` print: `3 redactions (gitlab_pat 2, stripe_key 1)`. */
export function redactionSummary(redactions: readonly Redaction[]): string {
  const kinds = Object.entries(countByKind(redactions)).map(([kind, count]) => `${kind} ${count}`);
  return `${redactions.length} redaction${redactions.length === 1 ? '' : 's'}${kinds.length ? ` (${kinds.join(', ')})` : ''}`;
}

/** What `--redactions-report FILE` writes: the counts by kind and every redaction (kind and location, never a value). */
export function redactionReport(redactions: readonly ReportedRedaction[]): { total: number; by_kind: Record<string, number>; redactions: ReportedRedaction[] } {
  return { total: redactions.length, by_kind: countByKind(redactions), redactions: [...redactions] };
}
