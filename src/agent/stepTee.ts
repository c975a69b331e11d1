/** The session's tap on its event log: lines go on to the real sink, steps are reported once recorded. */
import type { ILogLine, ILogSink } from '../trace/eventLog';
import type { IStep } from '../trace/types';

/** Log-line kinds that are steps of the record. */
export const STEP_KINDS: ReadonlySet<string> = new Set(['user', 'assistant', 'execution', 'tool_result', 'event']);

/**
 * Passes each log line on to the caller's sink and reports the steps among them, once the recorder has applied
 * them (a microtask later: the recorder hands a line to its sink before it applies it).
 */
export class StepTee implements ILogSink {
  constructor(
    private readonly _sink: ILogSink | undefined,
    private _steps: number
  ) {}

  onStep: ((step: IStep, index: number) => void) | null = null;

  append(line: ILogLine): void {
    this._sink?.append(line);
    if (STEP_KINDS.has(line.kind)) {
      const index = this._steps++;
      void Promise.resolve().then(() => this.onStep?.(line.payload as IStep, index));
    }
  }
}
