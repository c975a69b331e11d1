/**
 * Replaying many records at once for `aiev harvest --verify` and `aiev report --verify`: each staged in its own
 * scratch folder with its attachments, all through ONE verifier process.
 */
import { constants, copyFileSync, linkSync, mkdirSync } from 'fs';
import { dirname, join } from 'path';

import { attachmentSource } from '../trace/attachments';
import { writeSample } from '../trace/logFile';
import type { ISample } from '../trace/types';
import { verifyManyLocally, VerifyResult } from './verify';

/** One record to replay: null when it could not be read (skipped), its name for messages, its files' folder. */
export interface IReplayInput {
  sample: ISample | null;
  label: string;
  /** The folder its attachments are taken from (the input's own folder, a student's notebook folder). */
  attachmentsFrom: string;
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
export async function verifyAll(
  inputs: IReplayInput[],
  scratch: string,
  options: { timeout: number; jobs: number; verifierArgs: string[]; command: string },
  log: (line: string) => void
): Promise<Map<number, string>> {
  const samples = inputs.map(input => input.sample);
  const errors = new Map<number, string>();
  const indices = samples.flatMap((sample, index) => (sample ? [index] : []));
  const files = indices.map(index => stageSample(samples[index] as ISample, inputs[index].attachmentsFrom, join(scratch, String(index))));
  const tick = progress(indices.length, 'verify');
  const reported = new Set<number>();
  const report = (at: number, result: VerifyResult) => {
    const index = indices[at];
    reported.add(at);
    if (result instanceof Error) {
      log(`${options.command}: could not verify ${inputs[index].label}: ${result.message}`);
      errors.set(index, result.message);
    } else {
      (samples[index] as ISample).verification = result;
    }
    tick(reported.size);
  };
  try {
    await verifyManyLocally(files, options.timeout, options.jobs, report, { verifierArgs: options.verifierArgs });
  } catch (error) {
    // The verifier itself failed: every record it had not reported is one that could not be verified.
    for (let at = 0; at < indices.length; at++) {
      if (!reported.has(at)) {
        report(at, error as Error);
      }
    }
  }
  return errors;
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
