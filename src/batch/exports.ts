/**
 * Datasets from a batch run, each `DIR/dataset.<format>.jsonl` (written whole, then moved into place): any of the
 * training formats of `aiev export` (verified rollouts only unless `allVerdicts`: what supervised fine-tuning
 * wants; `ipynb` is one notebook per line, `preference` a line per pair, none for a rollout nobody reviewed), and `rollouts`, for RL trainers: one line per task with its K rollouts,
 * each with its reward, verdict, tests and dialogue (the `trl` projection's `messages`), every verdict kept.
 * Records are scrubbed (`scrubSample`) before any projection.
 */
import { readFileSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';

import { EXPORT_FORMATS, ExportFormat, projectLines, projectSample } from '../trace/projections';
import { scrubSample } from '../trace/scrub';
import type { ISample } from '../trace/types';
import { IRolloutResult, latestResults } from './summary';
import type { IBatchTask } from './tasks';

/** What `--format` takes. */
export type BatchFormat = ExportFormat | 'rollouts';

/** Every batch format. */
export const BATCH_FORMATS: readonly BatchFormat[] = [...EXPORT_FORMATS, 'rollouts'];

/** The formats a `--format` value names (comma-separated, or `all`); throws on an unknown one. */
export function parseBatchFormats(value: string): BatchFormat[] {
  const names = value.split(',').flatMap(name => (name.trim() === 'all' ? [...BATCH_FORMATS] : [name.trim()]));
  const unknown = names.filter(name => !(BATCH_FORMATS as readonly string[]).includes(name));
  if (unknown.length || !names.length) {
    throw new Error(`--format takes ${BATCH_FORMATS.join(', ')} (comma-separated, or all), not '${unknown.join(',') || value}'`);
  }
  return [...new Set(names)] as BatchFormat[];
}

/** Options of `writeDatasets`. */
export interface IDatasetOptions {
  outDir: string;
  formats: BatchFormat[];
  tasks: IBatchTask[];
  results: IRolloutResult[];
  /** The training formats keep every finished rollout, not only verified ones. */
  allVerdicts?: boolean;
}

/** Write each format's dataset; the path and row count of each. A record that cannot give a format is skipped. */
export function writeDatasets(options: IDatasetOptions): { format: BatchFormat; path: string; rows: number; skipped: number }[] {
  const done = latestResults(options.results).filter(result => result.status === 'done');
  const records = new Map<IRolloutResult, ISample>();
  for (const result of done) {
    records.set(result, scrubSample(JSON.parse(readFileSync(join(options.outDir, result.record), 'utf8')) as ISample));
  }
  return options.formats.map(format => {
    let skipped = 0;
    const rows: string[] = [];
    const project = <T>(projection: () => T): T | null => {
      try {
        return projection();
      } catch {
        skipped++;
        return null;
      }
    };
    if (format === 'rollouts') {
      for (const task of options.tasks) {
        const rollouts = done.filter(result => result.task === task.id).sort((a, b) => a.sample - b.sample);
        if (rollouts.length) {
          rows.push(JSON.stringify(rolloutsRow(task, rollouts, result => project(() => projectSample(records.get(result)!, 'trl')))));
        }
      }
    } else {
      for (const result of done) {
        const record = records.get(result)!;
        if (options.allVerdicts || record.verification.verdict === 'verified') {
          const lines = project(() =>
            format === 'ipynb' ? [JSON.stringify(JSON.parse(projectSample(record, format)))] : projectLines(record, format)
          );
          rows.push(...(lines ?? []));
        }
      }
    }
    const path = join(options.outDir, `dataset.${format}.jsonl`);
    writeFileSync(`${path}.partial`, rows.map(row => `${row}\n`).join(''));
    renameSync(`${path}.partial`, path);
    return { format, path, rows: rows.length, skipped };
  });
}

/** One task's line of the `rollouts` format. */
function rolloutsRow(task: IBatchTask, rollouts: IRolloutResult[], trl: (result: IRolloutResult) => string | null): Record<string, unknown> {
  return {
    task: task.id,
    prompt: task.prompt,
    tests: task.tests,
    rollouts: rollouts.map(result => {
      const row = trl(result);
      return {
        sample: result.sample,
        reward: result.reward,
        passed: result.passed,
        verdict: result.verdict,
        tests: result.tests,
        gate: result.gate,
        turns: result.turns,
        sampling: result.sampling,
        ...(row ? { id: JSON.parse(row).id, messages: JSON.parse(row).messages } : { messages: null })
      };
    })
  };
}
