import { spawn } from 'child_process';
import { readFileSync, statSync } from 'fs';
import { resolve } from 'path';

import { findVenvExecutable } from '../notebook/localServer';
import { writeSample } from '../trace/logFile';
import type { ISample, IVerification } from '../trace/types';
import { connect, parseOptions, UsageError } from './connect';

export const VERIFY_USAGE = `Usage: aiev verify FILE.json [--attachments-dir DIR | --server-url URL --token TOKEN] [--timeout SECONDS]

Replays the record's final notebook top to bottom in a fresh kernel, compares outputs with the recorded ones
after normalisation, runs the task's tests, and writes the verification block (verdict verified, diverged,
failed or unverified) back into FILE.json. Without --server-url it runs the verifier of this project's Python
environment; with it, the server's /aiev/verify route (the server needs jupyterlab-aiev installed).

The task's attachments (the files its code reads, task.attachments) are copied into the fresh folder when their
sha256 matches: from FILE.json's own folder, or from --attachments-dir DIR (the server route copies none).

Exit status: 0 verified, 1 not verified, 2 bad usage or unreadable input.`;

/** One record's answer from `verifyManyLocally`: its verification block, or why there is none. */
export type VerifyResult = IVerification | Error;

/** Options of `verifyManyLocally`. */
export interface IVerifyLocallyOptions {
  /** Folder every record's attachments are copied from (`--attachments-dir`); default each record's own folder. */
  attachmentsDir?: string;
}

/**
 * Replay records through ONE `python -m python_kernel_bridge verify --write --jsonl` process (Python's start-up
 * and imports paid once; `jobs` kernels at a time). As each record's line arrives, its block is read back from
 * the file and `onResult(index into paths, block | Error)` is called; an Error when the record could not be
 * read, its kernel could not start or its block could not be written. Rejects only when the verifier itself
 * fails (cannot start, dies before reporting every path, prints something that is not a JSON line), with
 * stderr's last line; the paths reported before that have had their `onResult`. Paths must be distinct.
 */
export function verifyManyLocally(
  paths: string[],
  timeoutSeconds: number,
  jobs: number,
  onResult: (index: number, result: VerifyResult) => void,
  options: IVerifyLocallyOptions = {}
): Promise<void> {
  const indexOf = new Map(paths.map((path, index) => [path, index]));
  if (indexOf.size !== paths.length || paths.some(path => path.includes('\n'))) {
    return Promise.reject(new Error('verifyManyLocally: paths must be distinct and contain no newline'));
  }
  if (!paths.length) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const args = ['-m', 'python_kernel_bridge', 'verify', '--files-from', '-', '--timeout', String(timeoutSeconds)];
    if (options.attachmentsDir !== undefined) {
      args.push('--attachments-dir', options.attachmentsDir);
    }
    const child = spawn(findVenvExecutable('python'), [...args, '--jobs', String(jobs), '--write', '--jsonl'], {
      stdio: ['pipe', 'pipe', 'pipe']
    });
    let pending = '';
    let stderrTail = '';
    let failure: Error | undefined;
    const reported = new Set<number>();
    const fail = (error: Error) => {
      if (!failure) {
        failure = error;
        child.kill('SIGINT'); // Python's KeyboardInterrupt: each replay's kernel is shut down on the way out
      }
    };
    const lastStderrLine = () => stderrTail.trim().split('\n').pop() || 'no message';
    const handle = (line: string) => {
      let answer: { file?: unknown; error?: unknown };
      try {
        answer = JSON.parse(line);
      } catch {
        fail(new Error(`the verifier printed a line that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      const index = indexOf.get(String(answer?.file));
      if (index === undefined || reported.has(index)) {
        fail(new Error(`the verifier reported an unexpected file: ${line.slice(0, 200)}`));
        return;
      }
      reported.add(index);
      let result: VerifyResult;
      if (typeof answer.error === 'string') {
        result = new Error(answer.error);
      } else {
        try {
          result = (JSON.parse(readFileSync(paths[index], 'utf8')) as ISample).verification;
        } catch (error) {
          result = error as Error;
        }
      }
      try {
        onResult(index, result);
      } catch (error) {
        fail(error as Error);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() && !failure) {
          handle(line);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4096);
    });
    child.stdin.on('error', () => undefined); // a verifier that died early: reported by 'close'
    child.stdin.end(paths.map(path => `${path}\n`).join(''));
    child.on('error', error => {
      fail(new Error(`could not run the verifier: ${error.message}`));
      reject(failure); // 'close' may not follow a process that never started
    });
    child.on('close', (code, signal) => {
      if (pending.trim() && !failure) {
        handle(pending);
      }
      if (failure) {
        reject(failure);
      } else if (reported.size < paths.length) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        reject(new Error(`the verifier ${how} after ${reported.size} of ${paths.length} records: ${lastStderrLine()}`));
      } else {
        resolve();
      }
    });
  });
}

/** Replay one record through `python -m python_kernel_bridge verify` (`verifyManyLocally` of one path). */
export async function verifyLocally(path: string, timeoutSeconds: number, options: IVerifyLocallyOptions = {}): Promise<IVerification> {
  const results: VerifyResult[] = [];
  await verifyManyLocally([path], timeoutSeconds, 1, (_index, result) => results.push(result), options);
  if (results[0] instanceof Error) {
    throw results[0];
  }
  return results[0];
}

/** `aiev verify`: returns the exit status. */
export async function verifyCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const parsed = parseOptions(argv, {
      'server-url': { type: 'string' },
      token: { type: 'string' },
      timeout: { type: 'string' },
      'attachments-dir': { type: 'string' }
    }, true);
  const [path, ...extra] = parsed.positionals;
  if (!path || extra.length) {
    throw new UsageError('give exactly one record file');
  }
  const timeout = Number(parsed.values.timeout ?? 120);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(`--timeout takes a positive number of seconds, not '${parsed.values.timeout}'`);
  }
  const attachmentsDir = parsed.values['attachments-dir'] && resolve(parsed.values['attachments-dir']);
  if (attachmentsDir !== undefined && parsed.values['server-url']) {
    throw new UsageError('--attachments-dir works only without --server-url (the server route copies no attachments)');
  }
  if (attachmentsDir !== undefined && !statSync(attachmentsDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--attachments-dir ${parsed.values['attachments-dir']}: not a folder`);
  }
  let sample: ISample;
  try {
    sample = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let verification: IVerification;
  if (parsed.values['server-url']) {
    const settings = await connect(parsed.values['server-url'], parsed.values.token ?? process.env.JUPYTER_TOKEN ?? '');
    const response = await fetch(`${settings.baseUrl}aiev/verify`, {
      method: 'POST',
      headers: { Authorization: `token ${settings.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(sample)
    });
    if (!response.ok) {
      throw new UsageError(`the server's /aiev/verify answered HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
    }
    verification = (await response.json()) as IVerification;
    writeSample(path, { ...sample, verification });
  } else {
    verification = await verifyLocally(path, timeout, { attachmentsDir });
  }
  log(`aiev verify: ${verification.verdict} (${path})`);
  return verification.verdict === 'verified' ? 0 : 1;
}
