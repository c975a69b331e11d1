/** What a harvest produced: counts by verdict, the error types that were fixed, packages installed, a steps histogram. */
import { fixesOf } from './counts';
import type { ISample, Verdict } from './types';

/** Upper bounds of the assistant-turn histogram bins; the last bin is open. */
const TURN_BINS = [1, 2, 5, 10, 20];

function binOf(turns: number): string {
  let low = 0;
  for (const high of TURN_BINS) {
    if (turns <= high) {
      return low + 1 === high ? `${high}` : `${low + 1}-${high}`;
    }
    low = high;
  }
  return `${low + 1}+`;
}

/** The JSON written beside a dataset. */
export interface IDatasetSummary {
  inputs: number;
  samples: number;
  written: number;
  duplicates: number;
  filtered: { not_verified: number; too_few_steps: number };
  skipped: { path: string; reason: string }[];
  by_verdict: Record<Verdict, number>;
  fixed_error_types: Record<string, number>;
  packages_installed: Record<string, number>;
  turns_histogram: Record<string, number>;
}

/** Accumulates the summary as a harvest goes. */
export class DatasetSummary {
  /** An input file was read (whatever came of it). */
  input(): void {
    this._data.inputs++;
  }

  /** An input could not be used; the harvest goes on. */
  skip(path: string, reason: string): void {
    this._data.skipped.push({ path, reason });
  }

  /** A sample was made from an input (before filters). */
  sample(sample: ISample): void {
    this._data.samples++;
    this._data.by_verdict[sample.verification.verdict]++;
  }

  duplicate(): void {
    this._data.duplicates++;
  }

  filtered(why: keyof IDatasetSummary['filtered']): void {
    this._data.filtered[why]++;
  }

  /** A sample went into the dataset. */
  written(sample: ISample): void {
    const data = this._data;
    data.written++;
    // A notebook a person ran (model "human"): only a re-run of the same code fixes an error.
    for (const { failed } of fixesOf(sample.steps, { sameCodeOnly: sample.source.model === 'human' })) {
      const name = failed.error?.ename ?? failed.status;
      data.fixed_error_types[name] = (data.fixed_error_types[name] ?? 0) + 1;
    }
    for (const step of sample.steps) {
      for (const p of step.type === 'execution' ? step.install?.resolved ?? [] : []) {
        const key = `${p.name}==${p.version}`;
        data.packages_installed[key] = (data.packages_installed[key] ?? 0) + 1;
      }
    }
    const bin = binOf(sample.verification.interactive.turns);
    data.turns_histogram[bin] = (data.turns_histogram[bin] ?? 0) + 1;
  }

  toJSON(): IDatasetSummary {
    return JSON.parse(JSON.stringify(this._data));
  }

  /** A plain-text table for the terminal. */
  table(): string {
    const d = this._data;
    const rows: [string, string][] = [
      ['inputs read', `${d.inputs}`],
      ['samples', `${d.samples}`],
      ['written', `${d.written}`],
      ['duplicates dropped', `${d.duplicates}`],
      ['not verified (dropped)', `${d.filtered.not_verified}`],
      ['too few steps (dropped)', `${d.filtered.too_few_steps}`],
      ['skipped (bad input)', `${d.skipped.length}`],
      ...Object.entries(d.by_verdict).map(([verdict, n]): [string, string] => [`verdict ${verdict}`, `${n}`]),
      ...top(d.fixed_error_types).map(([name, n]): [string, string] => [`fixed ${name}`, `${n}`]),
      ...top(d.packages_installed).map(([name, n]): [string, string] => [`installed ${name}`, `${n}`]),
      ...Object.entries(d.turns_histogram)
        .sort(([a], [b]) => parseInt(a) - parseInt(b))
        .map(([bin, n]): [string, string] => [`turns ${bin}`, `${n}`])
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
  }

  private readonly _data: IDatasetSummary = {
    inputs: 0,
    samples: 0,
    written: 0,
    duplicates: 0,
    filtered: { not_verified: 0, too_few_steps: 0 },
    skipped: [],
    by_verdict: { verified: 0, diverged: 0, failed: 0, unverified: 0 },
    fixed_error_types: {},
    packages_installed: {},
    turns_histogram: {}
  };
}

function top(counts: Record<string, number>, n = 10): [string, number][] {
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, n);
}
