/**
 * Marks on the notebook's cells that the agent added or changed and the user has not reviewed yet: a class on the
 * cell (a coloured edge from the theme's variables, so it shows in light and dark themes) and a small badge whose
 * hover text says which session, turn and model wrote it. Marks follow the cells' ids, so they stay right when
 * cells move, and are put back when the notebook's cells change.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';

/** One cell to mark. */
export interface ICellMark {
  cellId: string;
  change: 'added' | 'changed';
  /** The hover text: who wrote it and where to review it. */
  title: string;
}

const MARKED = 'jp-aiev-agentCell';
const BADGE = 'jp-aiev-agentBadge';

/** The marks of one notebook panel. */
export class CellMarks {
  constructor(private readonly _panel: NotebookPanel) {
    _panel.content.model?.cells.changed.connect(this._apply, this);
  }

  /** Mark exactly these cells (every other mark is removed); nothing to do when they are the marks already set. */
  set(marks: readonly ICellMark[]): void {
    const key = JSON.stringify(marks);
    if (key === this._key) {
      return;
    }
    this._key = key;
    this._marks = new Map(marks.map(mark => [mark.cellId, mark]));
    this._apply();
  }

  dispose(): void {
    this._panel.content.model?.cells.changed.disconnect(this._apply, this);
  }

  private _apply(): void {
    if (this._panel.isDisposed) {
      return;
    }
    // After the model's change, once the cell widgets exist.
    requestAnimationFrame(() => {
      for (const cell of this._panel.content.widgets) {
        const mark = this._marks.get(cell.model.id);
        const node = cell.node;
        node.classList.toggle(MARKED, Boolean(mark));
        node.classList.toggle(`${MARKED}-added`, mark?.change === 'added');
        node.classList.toggle(`${MARKED}-changed`, mark?.change === 'changed');
        let badge = node.querySelector<HTMLElement>(`:scope > .${BADGE}`);
        if (!mark) {
          badge?.remove();
          continue;
        }
        if (!badge) {
          badge = document.createElement('span');
          badge.className = BADGE;
          node.prepend(badge);
        }
        badge.textContent = mark.change === 'added' ? 'agent' : 'agent edit';
        badge.title = mark.title;
        badge.setAttribute('aria-label', mark.title);
      }
    });
  }

  private _marks = new Map<string, ICellMark>();
  private _key = '[]';
}
