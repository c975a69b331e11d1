import { execFile } from 'child_process';
import { readFileSync } from 'fs';

import { findVenvExecutable } from '../notebook/localServer';
import { writeSample } from '../trace/recorder';
import type { ISample, IVerification } from '../trace/types';
import { connect, parseOptions, UsageError } from './connect';

export const VERIFY_USAGE = `Usage: aiev verify FILE.json [--server-url URL --token TOKEN] [--timeout SECONDS]

Replays the record's final notebook top to bottom in a fresh kernel, compares outputs with the recorded ones
after normalisation, runs the task's tests, and writes the verification block (verdict verified, diverged,
failed or unverified) back into FILE.json. Without --server-url it runs the verifier of this project's Python
environment; with it, the server's /aiev/verify route (the server needs jupyterlab-aiev installed).

Exit status: 0 verified, 1 not verified, 2 bad usage or unreadable input.`;

/** Replay a record through `python -m python_kernel_bridge verify`; resolves with its verification block. */
export function verifyLocally(path: string, timeoutSeconds: number): Promise<IVerification> {
  return new Promise((resolve, reject) => {
    execFile(
      findVenvExecutable('python'),
      ['-m', 'python_kernel_bridge', 'verify', path, '--timeout', String(timeoutSeconds), '--write'],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // Exit 1 means "not verified", a normal answer; 2 and crashes are failures.
        if (error && error.code !== 1) {
          reject(new Error((stderr || stdout || error.message).trim().split('\n').pop()));
          return;
        }
        try {
          resolve((JSON.parse(readFileSync(path, 'utf8')) as ISample).verification);
        } catch (parseError) {
          reject(parseError as Error);
        }
      }
    );
  });
}

/** `aiev verify`: returns the exit status. */
export async function verifyCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const parsed = parseOptions(argv, { 'server-url': { type: 'string' }, token: { type: 'string' }, timeout: { type: 'string' } }, true);
  const [path, ...extra] = parsed.positionals;
  if (!path || extra.length) {
    throw new UsageError('give exactly one record file');
  }
  const timeout = Number(parsed.values.timeout ?? 120);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(`--timeout takes a positive number of seconds, not '${parsed.values.timeout}'`);
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
    verification = await verifyLocally(path, timeout);
  }
  log(`aiev verify: ${verification.verdict} (${path})`);
  return verification.verdict === 'verified' ? 0 : 1;
}
