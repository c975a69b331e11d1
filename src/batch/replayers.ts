/**
 * Where the verify gate replays a rollout's final notebook (Node only), each an `IReplayer`:
 *
 * - `LocalReplayer`: the project's Python verifier (one long-lived `VerifierProcess`, nbclient's fresh kernel in
 *   a new temporary folder, the task's attachments copied in): for the private local server. `where`: `local`.
 * - `RouteReplayer`: the `/aiev/verify` route of a server with the bridge (a fresh kernel on that server's
 *   machine). `where`: `server <host>`.
 * - `ServerKernelReplayer`: a fresh kernel of the server itself, driven through its kernels and contents APIs like
 *   the session's own (`HeadlessNotebookDriver`, in a new empty folder holding only the task's attachments), for
 *   servers whose kernels run on a gateway (Kernel Gateway, Enterprise Gateway on Kubernetes…), where only the
 *   server can reach them, or that have no bridge; the replay is then compared and judged by the Python verifier
 *   (`--replayed`), exactly as one made there. `where`: `server kernels <host>`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';

import type { ServerConnection } from '@jupyterlab/services';

import { version } from '../../package.json';

import type { IGateReplay, IReplayer } from '../agent/verifyGate';
import { verifyOnServer, VerifierProcess } from '../cli/verify';
import { HeadlessNotebookDriver } from '../notebook/headless';
import type { IExecutionOutcome, INotebookDriver } from '../notebook/tokens';
import type { ISample, IVerification } from '../trace/types';
import { uploadFiles } from './serverFiles';

/** Options shared by the replayers. */
export interface IReplayerOptions {
  /** Seconds per cell and per test. */
  timeoutSeconds: number;
  /** A scratch folder of this process (records handed to the Python verifier). */
  scratchDir: string;
}

let counter = 0;

/** Resolves with `promise`, or rejects once `signal` is aborted (the work itself goes on, its result dropped). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) {
    return promise;
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error('stopped before the replay ended'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Hands `payload` (a record, or a `{sample, run}` pair) to a verifier process through a scratch file. */
async function judge(verifier: VerifierProcess, scratchDir: string, payload: unknown, signal?: AbortSignal): Promise<IVerification> {
  mkdirSync(scratchDir, { recursive: true });
  const path = join(scratchDir, `replay-${process.pid}-${++counter}.json`);
  writeFileSync(path, JSON.stringify(payload));
  try {
    const result = await abortable(verifier.verify(path), signal);
    if (result instanceof Error) {
      throw result;
    }
    return result;
  } finally {
    rmSync(path, { force: true });
  }
}

/** The Python verifier on this machine (see the module doc); `attachmentsDir` holds the tasks' attachments. */
export class LocalReplayer implements IReplayer {
  constructor(private readonly _options: IReplayerOptions & { jobs: number; attachmentsDir: string }) {
    this._verifier = new VerifierProcess({ timeoutSeconds: _options.timeoutSeconds, jobs: _options.jobs, attachmentsDir: _options.attachmentsDir });
  }

  async replay(record: ISample, signal?: AbortSignal): Promise<IGateReplay> {
    return { verification: withWhere(await judge(this._verifier, this._options.scratchDir, record, signal), 'local'), where: 'local' };
  }

  close(): Promise<void> {
    return this._verifier.close();
  }

  private readonly _verifier: VerifierProcess;
}

/** A server's `/aiev/verify` route (see the module doc). */
export class RouteReplayer implements IReplayer {
  constructor(
    private readonly _settings: ServerConnection.ISettings,
    private readonly _timeoutSeconds: number
  ) {}

  async replay(record: ISample, signal?: AbortSignal): Promise<IGateReplay> {
    const where = `server ${new URL(this._settings.baseUrl).host}`;
    return { verification: withWhere(await verifyOnServer(this._settings, record, this._timeoutSeconds, signal), where), where };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Options of a `ServerKernelReplayer`. */
export interface IServerKernelReplayerOptions extends IReplayerOptions {
  settings: ServerConnection.ISettings;
  kernelName: string;
  /** Judges the replays (`--replayed`); shared by the replayers of a run. */
  judge: VerifierProcess;
  /** The files of a record's `task.attachments`, to put in the replay's folder (by server path). */
  attachments: (record: ISample) => Map<string, Uint8Array>;
  /** The folder on the server each replay gets a new empty folder in. */
  folder: (record: ISample) => string;
}

/** One cell or test of a replay, as `verify.replayed_block` reads it. */
interface IReplayedCell {
  index: number;
  status: string;
  outputs: unknown[];
  error?: { ename: string; evalue: string };
}

/** A fresh kernel of the server itself (see the module doc). */
export class ServerKernelReplayer implements IReplayer {
  constructor(private readonly _options: IServerKernelReplayerOptions) {}

  async replay(record: ISample, signal?: AbortSignal): Promise<IGateReplay> {
    const { settings, kernelName } = this._options;
    const where = `server kernels ${new URL(settings.baseUrl).host}`;
    const folder = `${this._options.folder(record)}/replay-${++counter}`;
    await uploadFiles(settings, folder, this._options.attachments(record));
    const started = new Date();
    const driver = await HeadlessNotebookDriver.open({ settings, path: `${folder}/replay.ipynb`, kernelName });
    let run: Record<string, unknown>;
    try {
      run = await this._run(driver, record, signal);
    } finally {
      await driver.dispose().catch(() => undefined);
    }
    Object.assign(run, { kernel_name: kernelName, started_at: started.toISOString(), duration_ms: Date.now() - started.getTime() });
    const verification = await judge(this._options.judge, this._options.scratchDir, { sample: record, run }, signal);
    return { verification: withWhere(verification, where), where };
  }

  /** Setup sources, every code cell, then the tests, on the driver's fresh kernel; after a timeout or a dead kernel the rest is skipped. */
  private async _run(driver: INotebookDriver, record: ISample, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const timeoutMs = this._options.timeoutSeconds * 1000;
    let stopped = false;
    const execute = async (index: number, source: string): Promise<IReplayedCell> => {
      if (stopped || signal?.aborted) {
        return { index, status: 'skipped', outputs: [] };
      }
      const outcome = await driver.execute(driver.appendCodeCell(source), { timeoutMs, signal });
      stopped = outcome.status !== 'ok' && outcome.status !== 'error';
      return { index, ...replayedStatus(outcome), outputs: outcome.outputs };
    };
    const setup: IReplayedCell[] = [];
    for (const [index, source] of (record.task.setup ?? []).entries()) {
      if (stopped) {
        setup.push({ index, status: 'skipped', outputs: [] });
        continue;
      }
      const result = await driver.executeSilent(source, timeoutMs);
      stopped = result.status === 'timeout';
      setup.push({ index, status: result.status, outputs: [], ...(result.error ? { error: result.error } : {}) });
    }
    const cells: IReplayedCell[] = [];
    const code = (record.notebook?.cells ?? []).filter(cell => cell.cell_type === 'code');
    for (const [index, cell] of code.entries()) {
      cells.push(await execute(index, Array.isArray(cell.source) ? cell.source.join('') : cell.source));
    }
    const tests: IReplayedCell[] = [];
    for (const [index, source] of (record.task.tests ?? []).entries()) {
      tests.push(await execute(index, source));
    }
    return { runner: 'aiev-headless', runner_version: version, python: null, setup, cells, tests };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A driver's execution status as the verifier names it (`timeout`; a dead kernel or an interruption is an error). */
function replayedStatus(outcome: IExecutionOutcome): Pick<IReplayedCell, 'status' | 'error'> {
  switch (outcome.status) {
    case 'ok':
      return { status: 'ok' };
    case 'timeout':
      return { status: 'timeout', error: { ename: 'CellTimeoutError', evalue: 'no reply within the cell timeout' } };
    case 'kernel_died':
      return { status: 'error', error: { ename: 'DeadKernelError', evalue: outcome.recovery ?? 'the kernel died' } };
    default:
      return { status: 'error', error: outcome.error ? { ename: outcome.error.ename, evalue: outcome.error.evalue } : { ename: outcome.status, evalue: '' } };
  }
}

/** The block with `replay.where` set (where the replay ran). */
function withWhere(verification: IVerification, where: string): IVerification {
  return verification.replay ? { ...verification, replay: { ...verification.replay, where } } : verification;
}
