/** The transcript's entries as views: messages, streamed text, action cards, answers, notices. Props in, callbacks out. */
import type * as nbformat from '@jupyterlab/nbformat';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { INotice } from './messages';
import { Markdown, MimeView } from './mime';
import { ActionState, IActionCard, sameItem, TranscriptItem } from './transcript';

/** What every entry view gets. */
export interface IEntryProps {
  rendermime: IRenderMimeRegistry;
  trans: TranslationBundle;
  /** Scroll the notebook to a card's cell; absent for a past session shown read-only. */
  onRevealCell?: (cellId: string | null, callId: string) => void;
}

/** One transcript entry; re-rendered only when what it shows changed. */
export const TranscriptEntry = React.memo(
  TranscriptEntryView,
  (before, after) =>
    before.rendermime === after.rendermime &&
    before.trans === after.trans &&
    before.onRevealCell === after.onRevealCell &&
    sameItem(before.item, after.item)
);

function TranscriptEntryView(props: IEntryProps & { item: TranscriptItem }): JSX.Element {
  const { item, trans, rendermime } = props;
  switch (item.kind) {
    case 'user':
      return (
        <div className="jp-aiev-User" data-queued={item.queued || undefined}>
          {item.queued && <span className="jp-aiev-Badge">{trans.__('queued')}</span>}
          <div className="jp-aiev-User-text">{item.text}</div>
        </div>
      );
    case 'assistant':
      return (
        <div className="jp-aiev-Assistant" data-streaming={item.streaming || undefined}>
          {item.reasoning && (
            <details className="jp-aiev-Reasoning">
              <summary>{trans.__('Reasoning')}</summary>
              <pre>{item.reasoning}</pre>
            </details>
          )}
          {item.text && <Markdown rendermime={rendermime} text={item.text} className="jp-aiev-Markdown" />}
        </div>
      );
    case 'answer':
      return (
        <section className="jp-aiev-Answer" aria-label={trans.__('Final answer')}>
          <div className="jp-aiev-Answer-title">{trans.__('Final answer')}</div>
          <Markdown rendermime={rendermime} text={item.text} className="jp-aiev-Markdown" />
        </section>
      );
    case 'notice':
      return <NoticeView notice={item.notice} />;
    case 'action':
      return <ActionCardView {...props} card={item} />;
  }
}

/** A notice line: errors are alerts, the rest status messages. */
export function NoticeView(props: { notice: INotice }): JSX.Element {
  const { notice } = props;
  return (
    <div className="jp-aiev-Notice" data-level={notice.level} role={notice.level === 'error' ? 'alert' : 'status'}>
      {notice.text}
    </div>
  );
}

/** The words of a card's status. */
export function stateLabel(state: ActionState, trans: TranslationBundle): string {
  const labels: Record<ActionState, string> = {
    ok: trans.__('ok'),
    error: trans.__('error'),
    timeout: trans.__('timeout'),
    interrupted: trans.__('interrupted'),
    kernel_died: trans.__('kernel died'),
    running: trans.__('running'),
    awaiting_approval: trans.__('awaiting approval'),
    waiting: trans.__('waiting'),
    not_run: trans.__('not run'),
    done: trans.__('done'),
    refused: trans.__('refused')
  };
  return labels[state];
}

/** The image outputs of an execution, as single-MIME bundles rendermime can draw. */
export function imageBundles(outputs: readonly nbformat.IOutput[]): { data: Record<string, string>; metadata: object }[] {
  const images: { data: Record<string, string>; metadata: object }[] = [];
  for (const output of outputs) {
    const data = (output as nbformat.IDisplayData).data;
    if (!data || (output.output_type !== 'display_data' && output.output_type !== 'execute_result')) {
      continue;
    }
    const mime = Object.keys(data).find(type => type.startsWith('image/'));
    if (mime) {
      const value = data[mime];
      images.push({
        data: { [mime]: Array.isArray(value) ? value.join('') : String(value) },
        metadata: ((output as nbformat.IDisplayData).metadata as object) ?? {}
      });
    }
  }
  return images;
}

/** An action: its code, status, execution count, what the model saw of the result, its plots, a link to the cell. */
export function ActionCardView(props: IEntryProps & { card: IActionCard }): JSX.Element {
  const { card, trans, rendermime, onRevealCell } = props;
  const { action, execution, result, state } = card;
  const code = execution?.code ?? action.code;
  const modelText = execution?.model_text ?? result?.model_text;
  const images = React.useMemo(() => (execution ? imageBundles(execution.outputs) : []), [execution]);
  const label = stateLabel(state, trans);
  const error = execution?.error ? `${execution.error.ename}: ${execution.error.evalue}` : null;
  const installed = execution?.install?.resolved.map(p => `${p.name}==${p.version}`).join(', ');
  return (
    <section
      className="jp-aiev-Card"
      data-state={state}
      aria-label={trans.__('%1 (%2)', action.tool, label)}
      aria-busy={state === 'running' || undefined}
    >
      <div className="jp-aiev-Card-header">
        <span className="jp-aiev-Card-tool">{action.tool}</span>
        <span className="jp-aiev-Card-status" data-state={state}>
          {label}
        </span>
        {execution?.execution_count != null && (
          <span className="jp-aiev-Card-count" title={trans.__('Execution count')}>
            [{execution.execution_count}]
          </span>
        )}
        {onRevealCell && (card.cellId || action.tool === 'execute_cell') && (
          <button
            type="button"
            className="jp-aiev-LinkButton"
            title={trans.__('Scroll the notebook to this cell and select it')}
            onClick={() => onRevealCell(card.cellId, action.call_id)}
          >
            {trans.__('Show cell')}
          </button>
        )}
      </div>
      {code !== undefined && <pre className="jp-aiev-Card-code">{code}</pre>}
      {!code && action.cell_id && <div className="jp-aiev-Card-target">{trans.__('cell %1', action.cell_id)}</div>}
      {error && <div className="jp-aiev-Card-error">{error}</div>}
      {installed && <div className="jp-aiev-Card-install">{trans.__('installed: %1', installed)}</div>}
      {modelText !== undefined && (
        <details className="jp-aiev-Card-result" open>
          <summary>{trans.__('What the model saw')}</summary>
          <pre>{modelText}</pre>
        </details>
      )}
      {images.map((image, index) => (
        <MimeView key={index} rendermime={rendermime} data={image.data} metadata={image.metadata as never} className="jp-aiev-Card-image" />
      ))}
    </section>
  );
}
