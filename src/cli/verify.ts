import { ChildProcess, spawn } from 'child_process';
import { readFileSync, statSync } from 'fs';
import { resolve } from 'path';

import type { ServerConnection } from '@jupyterlab/services';

import { findVenvExecutable } from '../notebook/localServer';
import { writeSample } from '../trace/logFile';
import type { ISample, IVerification } from '../trace/types';
import { connect, describeResponse, parseOptions, UsageError } from './connect';

/** The replay's environment and tolerances, as `aiev harvest` and `aiev verify` take them (`parseOptions` spec). */
export const REPLAY_OPTIONS = {
  requirements: { type: 'string' },
  python: { type: 'string' },
  kernel: { type: 'string' },
  'recorded-env': { type: 'boolean' },
  'float-tolerance': { type: 'string' },
  'image-tolerance': { type: 'string' }
} as const;

/** Their usage lines. */
export const REPLAY_USAGE = `  --requirements FILE  replay in a venv with these packages (built with uv, cached by the hash of the package
                       set); --python PATH: that interpreter for it, or alone the interpreter to replay with
  --recorded-env       replay each sample whose environment names package versions (an agent's session, the
                       versions a notebook printed) in a cached venv pinned to them
  --kernel NAME        replay on this installed kernel instead
  --float-tolerance R  relative tolerance of floats in compared text (verifier default)
  --image-tolerance F  share of an image's ink that may change (verifier default)`;

/** The verifier's command-line arguments for those options (paths resolved). */
export function verifierArgsOf(values: Record<string, string | boolean | undefined>): string[] {
  const args: string[] = [];
  for (const name of ['requirements', 'python', 'kernel', 'float-tolerance', 'image-tolerance', 'recorded-env']) {
    const value = values[name];
    if (value === true) {
      args.push(`--${name}`);
    } else if (typeof value === 'string') {
      args.push(`--${name}`, ['requirements', 'python'].includes(name) && value.includes('/') ? resolve(value) : value);
    }
  }
  return args;
}

export const VERIFY_USAGE = `Usage: aiev verify FILE.json [--attachments-dir DIR | --server-url URL --token TOKEN] [--timeout SECONDS]
                            [--requirements FILE | --recorded-env] [--python PATH] [--kernel NAME]
                            [--float-tolerance R] [--image-tolerance F]

Replays the record's final notebook top to bottom in a fresh kernel, compares outputs with the recorded ones
after normalisation, runs the task's tests, and writes the verification block (verdict verified, diverged,
failed or unverified) back into FILE.json. Without --server-url it runs the verifier of this project's Python
environment; with it, the server's /aiev/verify route (the server needs jupyterlab-aiev installed).

The task's attachments (the files its code reads, task.attachments) are copied into the fresh folder when their
sha256 matches: from FILE.json's own folder, or from --attachments-dir DIR (the server route: from the folder of
the session's notebook on the server).

Without --server-url (the server's route replays in its own environment):
${REPLAY_USAGE}

Exit status: 0 verified, 1 not verified, 2 bad usage or unreadable input.`;

/** One record's answer from `verifyManyLocally`: its verification block, or why there is none. */
export type VerifyResult = IVerification | Error;

/** Options of `verifyManyLocally`. */
export interface IVerifyLocallyOptions {
  /** Folder every record's attachments are copied from (`--attachments-dir`); default each record's own folder. */
  attachmentsDir?: string;
  /** More options of `python -m python_kernel_bridge verify` (tolerances, the replay environment). */
  verifierArgs?: string[];
}

/** Options of a `VerifierProcess`. */
export interface IVerifierProcessOptions extends IVerifyLocallyOptions {
  /** Seconds per cell and per test. */
  timeoutSeconds: number;
  /** Replays (kernels) at once. */
  jobs: number;
  /** Write each block back into its file (`--write`). */
  write?: boolean;
  /** Every file holds `{sample, run}`: a replay made elsewhere, judged without a kernel (`--replayed`). */
  replayed?: boolean;
}

/**
 * ONE long-lived `python -m python_kernel_bridge verify --files-from - --jsonl` process (Python's start-up and
 * imports paid once, `jobs` kernels at a time) to which records are handed one by one: `verify(path)` resolves with
 * the record's block, or an Error when it could not be read, its kernel could not start or its block could not be
 * written. When the verifier itself fails (cannot start, dies, prints something that is not a JSON line) every
 * pending and later `verify` rejects with that failure (stderr's last line in it). Paths must be distinct while
 * pending. `close()` ends its input and waits for it to exit.
 */
export class VerifierProcess {
  constructor(options: IVerifierProcessOptions) {
    const args = ['-m', 'python_kernel_bridge', 'verify', '--files-from', '-', '--jsonl', '--timeout', String(options.timeoutSeconds)];
    if (options.attachmentsDir !== undefined) {
      args.push('--attachments-dir', options.attachmentsDir);
    }
    args.push('--jobs', String(options.jobs), ...(options.write ? ['--write'] : []), ...(options.replayed ? ['--replayed'] : []));
    args.push(...(options.verifierArgs ?? []));
    this._child = spawn(findVenvExecutable('python'), args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    this._child.stdout!.setEncoding('utf8');
    this._child.stdout!.on('data', (chunk: string) => {
      const lines = (this._stdoutTail + chunk).split('\n');
      this._stdoutTail = lines.pop() ?? '';
      lines.filter(line => line.trim()).forEach(line => this._handle(line));
    });
    this._child.stderr!.setEncoding('utf8');
    this._child.stderr!.on('data', (chunk: string) => {
      this._stderrTail = (this._stderrTail + chunk).slice(-4096);
    });
    this._child.stdin!.on('error', () => undefined); // a verifier that died early: reported by 'close'
    this._exited = new Promise(resolve => {
      this._child.on('error', error => {
        this._fail(new Error(`could not run the verifier: ${error.message}`));
        resolve(); // 'close' may not follow a process that never started
      });
      this._child.on('close', (code, signal) => {
        if (this._stdoutTail.trim()) {
          this._handle(this._stdoutTail);
        }
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        this._fail(new Error(`the verifier ${how} after ${this._reported} of ${this._given} records: ${this._lastStderrLine()}`));
        resolve();
      });
    });
  }

  /** The block of the record at `path` (written into it with `write`), or the Error saying why there is none. */
  verify(path: string): Promise<VerifyResult> {
    if (this._failure) {
      return Promise.reject(this._failure);
    }
    if (path.includes('\n') || this._pending.has(path)) {
      return Promise.reject(new Error(`VerifierProcess: ${JSON.stringify(path)} is pending already or contains a newline`));
    }
    return new Promise((resolve, reject) => {
      this._pending.set(path, { resolve, reject });
      this._given++;
      this._child.stdin!.write(`${path}\n`);
    });
  }

  /** End the verifier's input and wait until it exited (a verifier that failed is killed). */
  async close(): Promise<void> {
    this._child.stdin!.end();
    await this._exited;
  }

  private _handle(line: string): void {
    if (this._failure) {
      return;
    }
    let answer: { file?: unknown; error?: unknown; verification?: IVerification | null };
    try {
      answer = JSON.parse(line);
    } catch {
      this._fail(new Error(`the verifier printed a line that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    const pending = this._pending.get(String(answer?.file));
    if (!pending) {
      this._fail(new Error(`the verifier reported an unexpected file: ${line.slice(0, 200)}`));
      return;
    }
    this._pending.delete(String(answer.file));
    this._reported++;
    const error = typeof answer.error === 'string' ? answer.error : !answer.verification ? 'the verifier answered no block' : null;
    pending.resolve(error !== null ? new Error(error) : answer.verification!);
  }

  private _fail(error: Error): void {
    if (!this._failure) {
      this._failure = error;
      this._child.kill('SIGINT'); // Python's KeyboardInterrupt: each replay's kernel is shut down on the way out
    }
    this._pending.forEach(({ reject }) => reject(this._failure as Error));
    this._pending.clear();
  }

  private _lastStderrLine(): string {
    return this._stderrTail.trim().split('\n').pop() || 'no message';
  }

  private readonly _child: ChildProcess;
  private readonly _exited: Promise<void>;
  private readonly _pending = new Map<string, { resolve: (result: VerifyResult) => void; reject: (error: Error) => void }>();
  private _failure: Error | undefined;
  private _stdoutTail = '';
  private _stderrTail = '';
  private _given = 0;
  private _reported = 0;
}

/**
 * Replay records through ONE `VerifierProcess` (with `--write`): `onResult(index into paths, block | Error)` as
 * each finishes. Rejects only when the verifier itself fails; the paths reported before that have had their
 * `onResult`. Paths must be distinct.
 */
export async function verifyManyLocally(
  paths: string[],
  timeoutSeconds: number,
  jobs: number,
  onResult: (index: number, result: VerifyResult) => void,
  options: IVerifyLocallyOptions = {}
): Promise<void> {
  if (new Set(paths).size !== paths.length || paths.some(path => path.includes('\n'))) {
    throw new Error('verifyManyLocally: paths must be distinct and contain no newline');
  }
  if (!paths.length) {
    return;
  }
  const verifier = new VerifierProcess({ ...options, timeoutSeconds, jobs, write: true });
  let failure: Error | undefined;
  await Promise.all(
    paths.map((path, index) =>
      verifier.verify(path).then(
        result => {
          try {
            onResult(index, result);
          } catch (error) {
            failure ??= error as Error;
          }
        },
        (error: Error) => {
          failure ??= error;
        }
      )
    )
  );
  await verifier.close();
  if (failure) {
    throw failure;
  }
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

/**
 * The verification block of `sample` from the `/aiev/verify` route of a server with the bridge (a fresh kernel on
 * that server's machine); rejects with a message saying what to do when the server has no bridge.
 */
export async function verifyOnServer(
  settings: ServerConnection.ISettings,
  sample: ISample,
  timeoutSeconds: number,
  signal?: AbortSignal
): Promise<IVerification> {
  const response = await fetch(`${settings.baseUrl}aiev/verify?timeout=${timeoutSeconds}`, {
    method: 'POST',
    headers: { Authorization: `token ${settings.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(sample),
    signal
  });
  if (response.status === 404) {
    throw new Error(
      `the Jupyter server at ${settings.baseUrl} has no /aiev/verify route: jupyterlab-aiev's server extension ` +
        '(python_kernel_bridge) is not installed or not enabled there. Install jupyterlab-aiev where that server runs ' +
        'and restart it, or verify the record here: aiev verify FILE.json (without --server-url)'
    );
  }
  if (!response.ok) {
    throw new Error(`the server's /aiev/verify answered ${await describeResponse(response)}`);
  }
  return (await response.json()) as IVerification;
}

/** `aiev verify`: returns the exit status. */
export async function verifyCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const parsed = parseOptions(argv, {
      'server-url': { type: 'string' },
      token: { type: 'string' },
      timeout: { type: 'string' },
      'attachments-dir': { type: 'string' },
      ...REPLAY_OPTIONS
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
    throw new UsageError("--attachments-dir works only without --server-url (the server route takes them from the notebook's folder)");
  }
  if (attachmentsDir !== undefined && !statSync(attachmentsDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--attachments-dir ${parsed.values['attachments-dir']}: not a folder`);
  }
  const verifierArgs = verifierArgsOf(parsed.values);
  if (verifierArgs.length && parsed.values['server-url']) {
    throw new UsageError('the replay environment and tolerance options work only without --server-url');
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
    try {
      verification = await verifyOnServer(settings, sample, timeout);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    writeSample(path, { ...sample, verification });
  } else {
    verification = await verifyLocally(path, timeout, { attachmentsDir, verifierArgs });
  }
  log(`aiev verify: ${verification.verdict} (${path})`);
  return verification.verdict === 'verified' ? 0 : 1;
}
