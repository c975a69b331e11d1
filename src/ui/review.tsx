/**
 * Cell review in the sidebar: each cell the agent added or changed, with the diff of its source (before → after,
 * rendered by `@codemirror/merge`), Accept / Reject per cell and Accept all / Reject all per run; and the marks the
 * notebook shows on those cells. Props in, callbacks out.
 */
import { unifiedMergeView } from '@codemirror/merge';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { IReviewItem, ReviewDecision } from '../agent/review';
import type { ICellMark } from './cellMarks';

/**
 * A unified, read-only diff of a cell's source; without `before` (a new cell), its source, all of it added. Only a
 * change needs an editor (`@codemirror/merge`): a new cell is plain text, since an `EditorView` costs ~10 ms of the
 * page's main thread to create (its `document.fonts.ready` forces a style and layout pass), once per cell the agent
 * adds while a run goes (bench/ui/README.md).
 */
export function SourceDiff(props: { before: string | null; after: string; label: string }): JSX.Element {
  if (props.before === null) {
    return (
      <div className="jp-aiev-Diff jp-mod-added" role="figure" aria-label={props.label}>
        <pre className="jp-aiev-Diff-source">{props.after}</pre>
      </div>
    );
  }
  return <ChangeDiff before={props.before} after={props.after} label={props.label} />;
}

function ChangeDiff(props: { before: string; after: string; label: string }): JSX.Element {
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const dark = document.body.dataset.jpThemeLight === 'false';
    const view = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.after,
        extensions: [
          EditorState.readOnly.of(true),
          EditorView.editable.of(false),
          EditorView.lineWrapping,
          EditorView.theme({}, { dark }),
          unifiedMergeView({ original: props.before, mergeControls: false, gutter: true, syntaxHighlightDeletions: false })
        ]
      })
    });
    return () => view.destroy();
  }, [props.before, props.after]);
  return <div ref={host} className="jp-aiev-Diff" role="figure" aria-label={props.label} />;
}

/** Props of `ReviewPanel`. */
export interface IReviewPanelProps {
  trans: TranslationBundle;
  items: readonly IReviewItem[];
  onDecide: (target: { cellId: string } | { turn: number }, decision: ReviewDecision) => void;
  onReveal: (cellId: string, callId: string) => void;
}

/** The agent's cells waiting for review, by run. */
export function ReviewPanel(props: IReviewPanelProps): JSX.Element | null {
  const { trans, items } = props;
  if (!items.length) {
    return null;
  }
  const turns = [...new Set(items.map(item => item.turn))];
  return (
    <section className="jp-aiev-Review" role="region" aria-label={trans.__('Review')}>
      {turns.map(turn => {
        const cells = items.filter(item => item.turn === turn);
        return (
          <div key={turn} className="jp-aiev-Review-run" role="group" aria-label={trans.__('Run %1', turn)}>
            <div className="jp-aiev-Review-runHeader">{trans._n('Run %2: %1 cell to review', 'Run %2: %1 cells to review', cells.length, turn)}</div>
            <div className="jp-aiev-Review-buttons">
              <button type="button" className="jp-aiev-Button jp-mod-accept" onClick={() => props.onDecide({ turn }, 'accepted')}>
                {trans.__('Accept all')}
              </button>
              <button type="button" className="jp-aiev-Button jp-mod-reject" onClick={() => props.onDecide({ turn }, 'rejected')}>
                {trans.__('Reject all')}
              </button>
            </div>
            {cells.map(item => (
              <ReviewEntry key={item.cellId} trans={trans} item={item} onDecide={props.onDecide} onReveal={props.onReveal} />
            ))}
          </div>
        );
      })}
    </section>
  );
}

function ReviewEntry(props: Omit<IReviewPanelProps, 'items'> & { item: IReviewItem }): JSX.Element {
  const { trans, item } = props;
  const label = cellLabel(item, trans);
  return (
    <div className="jp-aiev-Review-cell" role="group" aria-label={label}>
      <button type="button" className="jp-aiev-Link" title={trans.__('Show it in the notebook')} onClick={() => props.onReveal(item.cellId, item.callId)}>
        {label}
      </button>
      <SourceDiff before={item.before} after={item.after} label={trans.__('Changes to cell %1', item.position ?? '?')} />
      <div className="jp-aiev-Review-buttons">
        <button type="button" className="jp-aiev-Button jp-mod-accept" onClick={() => props.onDecide({ cellId: item.cellId }, 'accepted')}>
          {trans.__('Accept')}
        </button>
        <button
          type="button"
          className="jp-aiev-Button jp-mod-reject"
          title={item.change === 'added' ? trans.__('Remove the cell (if you edited it, your version stays)') : trans.__('Put the previous source back (if you edited it, your version stays)')}
          onClick={() => props.onDecide({ cellId: item.cellId }, 'rejected')}
        >
          {trans.__('Reject')}
        </button>
      </div>
    </div>
  );
}

function cellLabel(item: IReviewItem, trans: TranslationBundle): string {
  return item.change === 'added' ? trans.__('Cell %1, added', item.position ?? '?') : trans.__('Cell %1, changed', item.position ?? '?');
}

/** The notebook marks of the cells waiting for review, with who wrote them on hover. */
export function reviewMarks(items: readonly IReviewItem[], session: string, model: string, trans: TranslationBundle): ICellMark[] {
  return items.map(item => ({
    cellId: item.cellId,
    change: item.change,
    title:
      (item.change === 'added' ? trans.__('Added by the agent') : trans.__('Changed by the agent')) +
      ' — ' +
      trans.__('session %1, turn %2, model %3; review it in the AIEV sidebar', session.slice(0, 8), item.turn, model || '?')
  }));
}
