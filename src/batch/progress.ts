/** Progress of a batch run on stderr: a bar redrawn in place on a terminal, one plain line per rollout otherwise. */
import type { IRolloutResult } from './summary';

/** Reports rollouts as they finish: done/total, pass rate so far, rollouts per second, time left. */
export class BatchProgress {
  constructor(
    private readonly _total: number,
    private readonly _write: (text: string) => void,
    private readonly _tty: boolean,
    private _done = 0
  ) {}

  /** One rollout ended (`done`: how many of the run are finished now, resumed ones included). */
  finished(result: IRolloutResult, done: number): void {
    this._done = done;
    if (result.status === 'done') {
      this._ended++;
      this._passed += result.passed ? 1 : 0;
    }
    const seconds = (Date.now() - this._started) / 1000;
    const rate = this._ended / Math.max(seconds, 1e-3);
    const left = rate > 0 ? (this._total - this._done) / rate : NaN;
    const pass = this._ended ? `${((this._passed / this._ended) * 100).toFixed(1)}%` : '-';
    const figures = `${this._done}/${this._total} pass ${pass} ${rate.toFixed(2)}/s ETA ${clock(left)}`;
    if (this._tty) {
      const share = this._total ? this._done / this._total : 1;
      const bar = '#'.repeat(Math.round(share * 30)).padEnd(30, '.');
      this._write(`\r[${bar}] ${figures}   ${this._done === this._total ? '\n' : ''}`);
    } else {
      const what = result.status === 'done' ? `${result.passed ? 'passed' : 'not passed'} (${result.outcome}, ${result.verdict ?? 'no replay'})` : `${result.status}${result.message ? `: ${result.message}` : ''}`;
      this._write(`aiev batch: ${figures}: ${result.task} #${result.sample} ${what}\n`);
    }
  }

  /** End a bar left mid-line (a stopped run). */
  end(): void {
    if (this._tty && this._done < this._total) {
      this._write('\n');
    }
  }

  private readonly _started = Date.now();
  private _ended = 0;
  private _passed = 0;
}

/** `m:ss` (or `h:mm:ss`); `-` when unknown. */
function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) {
    return '-';
  }
  const s = Math.round(seconds);
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
