import type { INotebookDriver } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IExecutionStep, IInstallResult } from '../trace/types';
import { diffInstall, IPackageSnapshot, PACKAGES_SNIPPET, parsePackageSnapshot } from './kernelSnippets';
import { executionText } from './results';
import { shapeOutputs } from './shaping';
import { actionKindOf } from './tools';

/** What the model gets back from one execution. */
export interface ICellRun {
  step: IExecutionStep;
  /** Images to show a vision-capable model (base64), in output order. */
  images: { mime: string; data: string }[];
}

/** Options of `CellRunner`. */
export interface ICellRunnerOptions {
  driver: INotebookDriver;
  recorder: SessionRecorder;
  cellTimeoutMs: number;
  modelBudgetChars: number;
  vision: boolean;
  /** The signal that stops the current run (a running cell is interrupted). */
  signal?: () => AbortSignal | undefined;
  /**
   * Save the notebook at most this often during a run (default 1000 ms; 0 = after every execution). The server
   * re-validates and fsyncs the whole notebook on each save, which grows with the notebook (bench/README.md);
   * the event log has every execution meanwhile, and the caller saves once more at the end.
   */
  saveIntervalMs?: number;
}

/**
 * Runs a cell for the agent and records it: installs get a before/after package snapshot (silent executions,
 * logged as events), outputs are shaped for the model, the notebook is saved after every execution.
 */
export class CellRunner {
  constructor(private readonly _options: ICellRunnerOptions) {}

  /** Run `cellId` (its current source) as the answer to tool call `callId`; `note` goes into what the model reads. */
  async run(callId: string, cellId: string, code: string, note?: string): Promise<ICellRun> {
    const { driver, recorder } = this._options;
    const isInstall = actionKindOf(code) === 'pip';
    const before = isInstall ? await this.packageSnapshot('before install') : null;
    const outcome = await driver.execute(cellId, {
      timeoutMs: this._options.cellTimeoutMs,
      signal: this._options.signal?.()
    });
    let install: IInstallResult | undefined;
    if (before && outcome.status === 'ok') {
      const after = await this.packageSnapshot('after install');
      install = after ? diffInstall(before, after) : undefined;
    }
    const shaped = shapeOutputs(outcome.outputs, {
      budgetChars: this._options.modelBudgetChars,
      vision: this._options.vision
    });
    if (outcome.status === 'kernel_died') {
      recorder.event('kernel_died', { cell_id: cellId, recovery: outcome.recovery ?? null });
    }
    const step = recorder.execution({
      call_id: callId,
      cell_id: cellId,
      code,
      executor: 'ipykernel',
      execution_count: outcome.executionCount,
      status: outcome.status,
      started_at: outcome.startedAt,
      duration_ms: outcome.durationMs,
      ...(outcome.error ? { error: { ename: outcome.error.ename, evalue: outcome.error.evalue } } : {}),
      outputs: outcome.outputs,
      truncated: outcome.truncated,
      model_text: executionText(outcome, shaped.text, install, note),
      ...(install ? { install } : {}),
      ...(outcome.stdinRequested ? { stdin_requested: true } : {})
    });
    await this.saveSoon();
    return { step, images: shaped.images };
  }

  /** Installed distributions and imported modules, by a logged silent execution; null when it failed. */
  async packageSnapshot(purpose: string): Promise<IPackageSnapshot | null> {
    const result = await this._options.driver.executeSilent(PACKAGES_SNIPPET);
    this._options.recorder.event('silent_execution', { purpose, status: result.status, error: result.error ?? null });
    if (result.status !== 'ok') {
      return null;
    }
    try {
      return parsePackageSnapshot(result.stdout);
    } catch {
      return null;
    }
  }

  /** Save unless the last save is younger than `saveIntervalMs`. */
  async saveSoon(): Promise<void> {
    if (Date.now() - this._lastSave >= (this._options.saveIntervalMs ?? 1000)) {
      await this.save();
    }
  }

  /** Save the notebook; a failed save is logged, never fatal (the record still has everything). */
  async save(): Promise<void> {
    this._lastSave = Date.now();
    try {
      await this._options.driver.save();
    } catch (error) {
      this._options.recorder.event('tool_error', { what: 'notebook save failed', message: (error as Error).message });
    }
  }

  private _lastSave = 0;
}
