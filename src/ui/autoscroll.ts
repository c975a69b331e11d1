/**
 * Autoscroll that follows new content while the view is at the bottom, and stops following as soon as the
 * user scrolls up to read (it says there is something new instead, until they jump back or scroll down).
 */

/** Distance from the bottom, in pixels, that still counts as "at the bottom". */
const NEAR_BOTTOM_PX = 24;

/** What the scroller tells its view. */
export interface IScrollState {
  /** New content is followed (the view is at the bottom). */
  following: boolean;
  /** Content arrived while not following. */
  unseen: boolean;
}

/** Keeps a scroll container at its bottom while it follows. */
export class AutoScroller {
  /**
   * `schedule` runs the scroll after content changes, once however many changes came before it: by default at the
   * next animation frame, where the browser lays the page out anyway (no forced layout per change).
   */
  constructor(
    private readonly _node: HTMLElement,
    private readonly _onChange: (state: IScrollState) => void,
    private readonly _schedule: (run: () => void) => void = run => requestAnimationFrame(run)
  ) {}

  get state(): IScrollState {
    return { following: this._following, unseen: this._unseen };
  }

  /** Call after the content changed (or grew): scrolls down when following, else marks it unseen. */
  contentChanged(): void {
    if (this._pending) {
      return;
    }
    this._pending = true;
    this._schedule(() => {
      this._pending = false;
      this._followContent();
    });
  }

  private _followContent(): void {
    if (this._following) {
      this._toBottom();
    } else if (!this._unseen && !this._atBottom()) {
      this._set(false, true);
    }
  }

  /**
   * The container's `scroll` handler: scrolling up (away from the bottom) pauses following, reaching the bottom
   * again resumes it. Content growing under our own scroll to the bottom never counts as the user's move.
   */
  onScroll(): void {
    const top = this._node.scrollTop;
    const movedUp = top < this._lastTop - 1;
    this._lastTop = top;
    if (this._atBottom()) {
      this._set(true, false);
    } else if (movedUp) {
      this._set(false, this._unseen);
    }
  }

  /** Follow again from the newest content. */
  jumpToLatest(): void {
    this._set(true, false);
    this._toBottom();
  }

  private _atBottom(): boolean {
    const { scrollHeight, scrollTop, clientHeight } = this._node;
    return scrollHeight - scrollTop - clientHeight <= NEAR_BOTTOM_PX;
  }

  private _toBottom(): void {
    this._node.scrollTop = this._node.scrollHeight;
    this._lastTop = this._node.scrollTop;
  }

  private _set(following: boolean, unseen: boolean): void {
    if (following !== this._following || unseen !== this._unseen) {
      this._following = following;
      this._unseen = unseen;
      this._onChange(this.state);
    }
  }

  private _following = true;
  private _unseen = false;
  private _pending = false;
  /** scrollTop at the last scroll event (or our last scroll): a smaller one is the user scrolling up. */
  private _lastTop = 0;
}
