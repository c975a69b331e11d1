/** The export view of a session: Verify, the formats, what redaction scrubs, Save next to notebook / Download. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ExportFormat } from '../trace/projections';
import type { Verdict } from '../trace/types';
import type { IExportFile, IRedactionSummary, IReplayProblem } from './exportModel';

/** Props of `ExportView`. */
export interface IExportViewProps {
  trans: TranslationBundle;
  formats: readonly ExportFormat[];
  allFormats: readonly ExportFormat[];
  verifying: boolean;
  /** The replay's verdict, once verified here. */
  verdict: Verdict | null;
  problems: IReplayProblem[];
  redactions: IRedactionSummary[];
  error: string | null;
  saved: readonly string[];
  onToggle: (format: ExportFormat) => void;
  onVerify: () => void;
  onSave: () => void;
  onDownload: () => void;
  onClose: () => void;
}

/** Start a browser download of each file. */
export function downloadFiles(files: IExportFile[]): void {
  for (const file of files) {
    const url = URL.createObjectURL(new Blob([file.text], { type: 'application/json' }));
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = file.name.split('/').pop()!;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}

export function ExportView(props: IExportViewProps): JSX.Element {
  const { trans } = props;
  const none = props.formats.length === 0;
  return (
    <section className="jp-aiev-Export" role="region" aria-label={trans.__('Export session')}>
      <div className="jp-aiev-Export-row">
        <button type="button" className="jp-aiev-Button" disabled={props.verifying} onClick={() => props.onVerify()}>
          {trans.__('Verify')}
        </button>
        <span className="jp-aiev-Export-verdict" role="status">
          {props.verifying ? trans.__('replaying in a fresh kernel…') : props.verdict ? trans.__('Verdict: %1', props.verdict) : trans.__('not verified here yet')}
        </span>
      </div>
      {props.problems.length > 0 && (
        <ul className="jp-aiev-Export-problems" aria-label={trans.__('Cells that did not match')}>
          {props.problems.map(problem => (
            <li key={problem.cellId}>
              <code>{problem.cellId}</code> {problem.status}
              <pre>{problem.detail}</pre>
            </li>
          ))}
        </ul>
      )}
      <fieldset className="jp-aiev-Export-formats">
        <legend>{trans.__('Formats')}</legend>
        {props.allFormats.map(format => (
          <label key={format}>
            <input type="checkbox" checked={props.formats.includes(format)} onChange={() => props.onToggle(format)} />
            {format}
          </label>
        ))}
      </fieldset>
      <div className="jp-aiev-Export-redactions" aria-label={trans.__('Redactions')}>
        {props.redactions.length === 0
          ? trans.__('Redaction: nothing to scrub was found.')
          : props.redactions.map(r => (
              <div key={r.kind}>
                {trans.__('%1 × %2', r.count, r.kind)} <span className="jp-aiev-Export-where">{r.locations.join(', ')}</span>
              </div>
            ))}
      </div>
      {props.error && (
        <div className="jp-aiev-Export-error" role="alert">
          {props.error}
        </div>
      )}
      {props.saved.length > 0 && <div className="jp-aiev-Export-saved">{trans.__('Saved: %1', props.saved.join(', '))}</div>}
      <div className="jp-aiev-Export-row jp-aiev-Export-actions">
        <button type="button" className="jp-aiev-Button jp-mod-accept" disabled={none} onClick={() => props.onSave()}>
          {trans.__('Save next to notebook')}
        </button>
        <button type="button" className="jp-aiev-Button" disabled={none} onClick={() => props.onDownload()}>
          {trans.__('Download')}
        </button>
        <button type="button" className="jp-aiev-Button" onClick={() => props.onClose()}>
          {trans.__('Close')}
        </button>
      </div>
    </section>
  );
}
