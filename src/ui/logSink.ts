/**
 * The browser's event-log sink: a session's recorder appends its lines here synchronously; they are POSTed in
 * order to the bridge's session store, one request at a time. Failures are retried with backoff, a 409 resends
 * from the seq the server asks for, and every line stays in memory while the tab lives, so nothing is lost
 * when the server is away for a while; `state` says `unsaved` until it is back.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { BridgeClient, BridgeResponseError } from '../request';
import type { ILogLine } from '../trace/eventLog';
import type { SaveState } from '../tokens';

/** Options of `BridgeLogSink`. */
export interface IBridgeLogSinkOptions {
  client: BridgeClient;
  /** Session id; taken from the header line when omitted. */
  id?: string;
  /** Lines the server already holds (a resumed session), seq 0 first. */
  history?: ILogLine[];
  /** First retry delay, doubled per failure up to `maxRetryMs` (defaults 500 and 15 000 ms). */
  retryMs?: number;
  maxRetryMs?: number;
  /** Failures in a row after which the state is `unsaved` (default 3). */
  unsavedAfter?: number;
  /** Most bytes of lines per request (default 4 MB; a bigger single line goes alone). */
  batchBytes?: number;
}

/** The seq a 409 answer asks to resend from; null for any other failure. */
function conflictSeq(error: unknown): number | null {
  if (error instanceof BridgeResponseError && error.response.status === 409) {
    const nextSeq = (error.body as { next_seq?: unknown } | null)?.next_seq;
    return typeof nextSeq === 'number' ? nextSeq : null;
  }
  return null;
}

/** Sends a session's event-log lines to the bridge's session store, in order, until they are all there. */
export class BridgeLogSink {
  constructor(private readonly _options: IBridgeLogSinkOptions) {
    this._id = _options.id ?? null;
    this._lines = [...(_options.history ?? [])];
    this._sent = this._lines.length;
  }

  /** The session id, once known. */
  get id(): string | null {
    return this._id;
  }

  get state(): SaveState {
    return this._state;
  }

  /** The last failure's message while lines are not saved. */
  get error(): string | null {
    return this._error;
  }

  /** Lines not yet on the server. */
  get pending(): number {
    return this._lines.length - this._sent;
  }

  /** Every line of the log so far (history included), seq 0 first. */
  get lines(): readonly ILogLine[] {
    return this._lines;
  }

  get stateChanged(): ISignal<this, SaveState> {
    return this._stateChanged;
  }

  /** Queue a line (synchronous); it goes out after the ones before it. */
  append(line: ILogLine): void {
    if (this._disposed) {
      return;
    }
    if (this._id === null && line.kind === 'header') {
      this._id = (line.payload as { id: string }).id;
    }
    this._lines.push(line);
    this._pump();
  }

  /** Resolves once every line appended so far is on the server (waits through retries). */
  flush(): Promise<void> {
    if (!this.pending) {
      return Promise.resolve();
    }
    return new Promise(resolve => this._flushed.push(resolve));
  }

  /** Stop sending (lines not sent stay unsent). */
  dispose(): void {
    this._disposed = true;
    clearTimeout(this._timer);
  }

  private _pump(): void {
    if (this._inFlight || this._timer !== undefined || this._disposed) {
      return;
    }
    if (!this.pending) {
      this._setState('saved', null);
      this._flushed.splice(0).forEach(resolve => resolve());
      return;
    }
    if (this._id === null) {
      this._setState('unsaved', 'the session id is not known yet (no header line)');
      return;
    }
    if (this._state === 'saved') {
      this._setState('saving', null);
    }
    void this._send(this._id, this._batch());
  }

  /** The next lines to send, from `_sent`, within the byte budget (at least one line). */
  private _batch(): ILogLine[] {
    const budget = this._options.batchBytes ?? 4 * 1024 * 1024;
    const batch: ILogLine[] = [];
    let bytes = 0;
    for (let i = this._sent; i < this._lines.length; i++) {
      const size = JSON.stringify(this._lines[i]).length;
      if (batch.length && bytes + size > budget) {
        break;
      }
      batch.push(this._lines[i]);
      bytes += size;
    }
    return batch;
  }

  private async _send(id: string, batch: ILogLine[]): Promise<void> {
    this._inFlight = true;
    let retryIn = 0;
    try {
      const next = await this._options.client.appendEvents(id, batch);
      this._sent = Math.min(Math.max(this._sent + batch.length, next), this._lines.length);
      this._failures = 0;
      this._conflicts = 0;
    } catch (error) {
      const nextSeq = conflictSeq(error);
      if (nextSeq !== null) {
        // The server holds a different prefix than we thought: resend from where it is.
        this._sent = Math.min(Math.max(nextSeq, 0), this._lines.length);
        this._conflicts++;
        retryIn = this._conflicts > 3 ? this._backoff() : 0;
      } else {
        retryIn = this._backoff();
        this._failures++;
        const message = (error as Error).message || String(error);
        this._setState(this._failures >= (this._options.unsavedAfter ?? 3) ? 'unsaved' : 'saving', message);
      }
    } finally {
      this._inFlight = false;
    }
    if (!retryIn) {
      this._pump();
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._pump();
    }, retryIn);
  }

  private _backoff(): number {
    const first = this._options.retryMs ?? 500;
    return Math.min(first * 2 ** Math.min(this._failures, 10), this._options.maxRetryMs ?? 15000);
  }

  private _setState(state: SaveState, error: string | null): void {
    const changed = state !== this._state || error !== this._error;
    this._state = state;
    this._error = error;
    if (changed) {
      this._stateChanged.emit(state);
    }
  }

  private _id: string | null;
  private readonly _lines: ILogLine[];
  /** Lines [0, _sent) are on the server. */
  private _sent: number;
  private _inFlight = false;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _failures = 0;
  private _conflicts = 0;
  private _disposed = false;
  private _state: SaveState = 'saved';
  private _error: string | null = null;
  private readonly _flushed: (() => void)[] = [];
  private readonly _stateChanged = new Signal<this, SaveState>(this);
}
