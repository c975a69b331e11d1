/**
 * The export view's state for one session: verify on the server (the replay's verdict and the cells that did not
 * match), the formats chosen, what redaction will scrub (kinds, counts, places; never a value), then the files,
 * saved next to the notebook or downloaded. Scrubbing and projection are the CLI's own (`scrubSample`,
 * `exportText`), run here in the browser on a record the browser already shows (a preference file is empty when no
 * review or approval gave a pair).
 */
import { ContentsManager } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import type { BridgeClient } from '../request';
import { EXPORT_FORMATS, ExportFormat, exportText, isJsonlFormat } from '../trace/projections';
import { scrubSample } from '../trace/scrub';
import type { ISample, IVerification } from '../trace/types';

/** One cell of a replay that did not match or failed, for the view. */
export interface IReplayProblem {
  cellId: string;
  status: string;
  detail: string;
}

/** Redactions by kind: how many, and where (the first few places). */
export interface IRedactionSummary {
  kind: string;
  count: number;
  locations: string[];
}

/** What an export writes: one file per format. */
export interface IExportFile {
  format: ExportFormat;
  name: string;
  text: string;
}

/** Where a notebook's exports go: `<folder>/<stem>.aiev-<id8>.<format>[.jsonl]`. */
export function exportPath(notebookPath: string, recordId: string, format: ExportFormat): string {
  const slash = notebookPath.lastIndexOf('/');
  const folder = slash >= 0 ? notebookPath.slice(0, slash + 1) : '';
  const stem = notebookPath.slice(slash + 1).replace(/\.ipynb$/, '');
  const name = `${stem}.aiev-${recordId.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}.${format}`;
  return `${folder}${isJsonlFormat(format) ? `${name}.jsonl` : name}`;
}

/** The cells of a replay that did not match, failed or were skipped, with what differed. */
export function replayProblems(verification: IVerification): IReplayProblem[] {
  const cells = ((verification.replay?.cells as Record<string, unknown>[] | undefined) ?? []).filter(
    cell => cell.status !== 'ok' || cell.match === false
  );
  return cells.map(cell => {
    const error = cell.error as { ename?: string; evalue?: string } | undefined;
    const detail = String(cell.diff ?? (error ? `${error.ename}: ${error.evalue}` : cell.status));
    return { cellId: String(cell.cell_id), status: String(cell.status), detail };
  });
}

/** `redactions` grouped by kind, most first. */
export function redactionSummary(sample: ISample, shown = 5): IRedactionSummary[] {
  const byKind = new Map<string, string[]>();
  for (const { kind, location } of sample.redactions) {
    byKind.set(kind, [...(byKind.get(kind) ?? []), location]);
  }
  return [...byKind.entries()]
    .map(([kind, locations]) => ({ kind, count: locations.length, locations: locations.slice(0, shown) }))
    .sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
}

/** Options of `ExportModel`. */
export interface IExportModelOptions {
  client: BridgeClient;
  notebookPath: string;
  /** The session's record as it stands (read when the view opens, and again for each action). */
  record: () => ISample | null;
}

/** State of the export view of one session. */
export class ExportModel {
  constructor(private readonly _options: IExportModelOptions) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get formats(): readonly ExportFormat[] {
    return this._formats;
  }

  /** Every format there is. */
  get allFormats(): readonly ExportFormat[] {
    return EXPORT_FORMATS;
  }

  /** The verification of this view's replay (null until Verify), and whether one is running. */
  get verification(): IVerification | null {
    return this._verification;
  }

  get verifying(): boolean {
    return this._verifying;
  }

  /** The last failure (verify or save), for the view. */
  get error(): string | null {
    return this._error;
  }

  /** Paths saved by the last Save (an empty file says why). */
  get saved(): readonly string[] {
    return this._saved;
  }

  toggleFormat(format: ExportFormat): void {
    this._formats = this._formats.includes(format) ? this._formats.filter(f => f !== format) : [...this._formats, format];
    this._changed.emit();
  }

  /** The record with this view's verification, scrubbed: what every file is made from. */
  scrubbed(): ISample | null {
    const record = this._options.record();
    if (!record) {
      return null;
    }
    return scrubSample(this._verification ? { ...record, verification: this._verification } : record);
  }

  /** Replay the record's final notebook on the server (with the attachments beside the notebook). */
  async verify(): Promise<void> {
    const record = this._options.record();
    if (!record || this._verifying) {
      return;
    }
    this._verifying = true;
    this._error = null;
    this._changed.emit();
    try {
      this._verification = await this._options.client.verify(record);
    } catch (error) {
      this._error = (error as Error).message;
    } finally {
      this._verifying = false;
      this._changed.emit();
    }
  }

  /** One file per chosen format. */
  files(): IExportFile[] {
    const sample = this.scrubbed();
    if (!sample) {
      return [];
    }
    return this._formats.map(format => ({
      format,
      name: exportPath(this._options.notebookPath, sample.id, format),
      text: exportText(sample, format)
    }));
  }

  /** Save the files next to the notebook on the server. */
  async saveNextToNotebook(): Promise<void> {
    this._error = null;
    try {
      const contents = new ContentsManager({ serverSettings: this._options.client.settings });
      const files = this.files();
      for (const file of files) {
        await contents.save(file.name, { type: 'file', format: 'text', content: file.text });
      }
      // A session with no rejected edit or execution gives no preference pair: its file is empty, and said so.
      this._saved = files.map(file => (file.text ? file.name : `${file.name} (empty: no preference pair in this session)`));
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  private _formats: ExportFormat[] = ['openai'];
  private _verification: IVerification | null = null;
  private _verifying = false;
  private _error: string | null = null;
  private _saved: string[] = [];
  private readonly _changed = new Signal<this, void>(this);
}
