import * as React from 'react';

import { AutoScroller, IScrollState } from './autoscroll';
import { IEntryProps, TranscriptEntry } from './cards';
import type { TranscriptItem } from './transcript';

/** Most entries rendered in one frame when many arrive at once (a long past session opened). */
export const ENTRIES_PER_FRAME = 20;

/**
 * How many of the oldest `count` entries to hold back: when many arrive at once, the newest ENTRIES_PER_FRAME
 * render first and the older ones follow, ENTRIES_PER_FRAME a frame, so no frame takes long; entries arriving
 * one by one render at once. `resetKey` changes with the conversation shown.
 */
export function useProgressiveCount(count: number, resetKey: string): number {
  const [held, setHeld] = React.useState(Math.max(0, count - ENTRIES_PER_FRAME));
  const seen = React.useRef({ count, resetKey });
  if (seen.current.resetKey !== resetKey || count - seen.current.count > ENTRIES_PER_FRAME) {
    // A jump: hold back all but the newest entries (set during render, as React allows for derived state).
    const next = Math.max(0, count - ENTRIES_PER_FRAME);
    seen.current = { count, resetKey };
    if (next !== held) {
      setHeld(next);
    }
  } else {
    seen.current = { count, resetKey };
  }
  React.useEffect(() => {
    if (!held) {
      return;
    }
    const frame = requestAnimationFrame(() => setHeld(n => Math.max(0, n - ENTRIES_PER_FRAME)));
    return () => cancelAnimationFrame(frame);
  }, [held]);
  return Math.min(held, count);
}

/** Props of `TranscriptView`. */
export interface ITranscriptViewProps extends IEntryProps {
  items: TranscriptItem[];
  /** Identifies the conversation shown (a new one renders progressively again). */
  conversationKey: string;
  /** Shown when there are no items. */
  empty: React.ReactNode;
}

/**
 * The conversation, scrolled to follow new content while the user is at the bottom; scrolling up to read pauses
 * that and shows "Jump to latest" when something new arrives.
 */
export function TranscriptView(props: ITranscriptViewProps): JSX.Element {
  const { items, trans } = props;
  const held = useProgressiveCount(items.length, props.conversationKey);
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
          {items.length ? items
                .slice(held)
                .map(item => (
                  <TranscriptEntry key={item.key} item={item} rendermime={props.rendermime} trans={trans} onRevealCell={props.onRevealCell} />
                )) : props.empty}
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
