import * as React from 'react';

import { AutoScroller, IScrollState } from './autoscroll';
import { IEntryProps, TranscriptEntry } from './cards';
import type { TranscriptItem } from './transcript';

/** Props of `TranscriptView`. */
export interface ITranscriptViewProps extends IEntryProps {
  items: TranscriptItem[];
  /** Shown when there are no items. */
  empty: React.ReactNode;
}

/**
 * The conversation, scrolled to follow new content while the user is at the bottom; scrolling up to read pauses
 * that and shows "Jump to latest" when something new arrives.
 */
export function TranscriptView(props: ITranscriptViewProps): JSX.Element {
  const { items, trans } = props;
  const node = React.useRef<HTMLDivElement>(null);
  const scroller = React.useRef<AutoScroller | null>(null);
  const [scroll, setScroll] = React.useState<IScrollState>({ following: true, unseen: false });

  React.useLayoutEffect(() => {
    if (node.current && !scroller.current) {
      scroller.current = new AutoScroller(node.current, setScroll);
    }
  }, []);

  // Every render may have added content (or grown the streamed text).
  React.useLayoutEffect(() => {
    scroller.current?.contentChanged();
  });

  // Images and rendered markdown grow after the render.
  React.useEffect(() => {
    const content = node.current?.firstElementChild;
    if (!content || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => scroller.current?.contentChanged());
    observer.observe(content);
    return () => observer.disconnect();
  }, []);

  return (
    <div className="jp-aiev-Transcript-frame">
      <div
        ref={node}
        className="jp-aiev-Transcript"
        role="log"
        aria-label={trans.__('Conversation with the agent')}
        onScroll={() => scroller.current?.onScroll()}
      >
        <div className="jp-aiev-Transcript-content">
          {items.length ? items.map(item => <TranscriptEntry key={item.key} {...props} item={item} />) : props.empty}
        </div>
      </div>
      {(!scroll.following || scroll.unseen) && (
        <button
          type="button"
          className="jp-aiev-Button jp-aiev-JumpToLatest"
          data-unseen={scroll.unseen || undefined}
          onClick={() => scroller.current?.jumpToLatest()}
        >
          {trans.__('Jump to latest')}
        </button>
      )}
    </div>
  );
}
