/**
 * A running cell's outputs shown in the notebook while the kernel produces them, from the same collector that
 * keeps them for the record, so the cell holds what the record holds (head + tail past the cap, never more).
 */
import type { IOutputAreaModel } from '@jupyterlab/outputarea';
import type * as nbformat from '@jupyterlab/nbformat';

import type { OutputCollector } from './outputCollector';

/** Default shortest interval between two refreshes of a running cell's outputs (ms). */
export const DEFAULT_OUTPUT_THROTTLE_MS = 100;

/**
 * Writes a collector's outputs into a cell's output area model (which the cell's output area renders through
 * the app's rendermime, as for any run), at most every `throttleMs` while the cell runs and once at the end.
 *
 * Output that only grew is appended the way JupyterLab appends a stream message (`add`, which merges into the
 * last stream output and applies `\r` and `\b`); a display update replaces that one output; anything else (a
 * clear, the cap dropping the middle) rewrites the outputs. A refresh that took long pushes the next one out
 * (four times its duration), so huge outputs cost a bounded share of the page's time.
 */
export class LiveOutputs {
  constructor(
    private readonly _outputs: IOutputAreaModel,
    private readonly _throttleMs = DEFAULT_OUTPUT_THROTTLE_MS
  ) {}

  /** There is new output in `collector`: refresh the cell soon. */
  update(collector: OutputCollector): void {
    this._collector = collector;
    if (this._timer === undefined && !this._finished) {
      this._timer = setTimeout(() => this._refresh(), this._delayMs);
    }
  }

  /** Write the final outputs and stop refreshing. */
  finish(outputs: nbformat.IOutput[]): void {
    clearTimeout(this._timer);
    this._timer = undefined;
    this._finished = true;
    this._write(outputs);
  }

  private _refresh(): void {
    this._timer = undefined;
    if (this._finished || !this._collector) {
      return;
    }
    const started = Date.now();
    this._write(this._collector.outputs());
    this._delayMs = Math.max(this._throttleMs, 4 * (Date.now() - started));
  }

  private _write(next: nbformat.IOutput[]): void {
    const model = this._outputs;
    if (model.isDisposed) {
      return; // the cell was deleted meanwhile
    }
    const shown = this._shown;
    this._shown = next;
    if (next.length < shown.length) {
      return model.fromJSON(next);
    }
    for (let i = 0; i < shown.length; i++) {
      const [before, after] = [shown[i], next[i]];
      if (sameOutput(before, after)) {
        continue;
      }
      if (i === shown.length - 1 && isStream(before) && isStream(after) && before.name === after.name) {
        const [old, text] = [streamText(before), streamText(after)];
        if (text.startsWith(old)) {
          model.add({ output_type: 'stream', name: after.name, text: text.slice(old.length) });
          continue;
        }
      }
      if (isStream(before) || isStream(after)) {
        return model.fromJSON(next);
      }
      model.set(i, after);
    }
    for (const output of next.slice(shown.length)) {
      model.add(output);
    }
  }

  private _collector: OutputCollector | null = null;
  /** The collector's outputs as last written. */
  private _shown: nbformat.IOutput[] = [];
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _delayMs = this._throttleMs;
  private _finished = false;
}

function isStream(output: nbformat.IOutput): output is nbformat.IStream {
  return output.output_type === 'stream';
}

function streamText(output: nbformat.IStream): string {
  return typeof output.text === 'string' ? output.text : output.text.join('');
}

/** The collector keeps rich outputs as the same objects; streams are rebuilt, so their text is compared. */
function sameOutput(a: nbformat.IOutput, b: nbformat.IOutput): boolean {
  return a === b || (isStream(a) && isStream(b) && a.name === b.name && streamText(a) === streamText(b));
}
