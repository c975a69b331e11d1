/**
 * The user's say over the cells the agent wrote: every cell it added or changed waits for Accept or Reject (per
 * cell, or the whole run's), and the last run can be undone as a whole. What the agent changed is taken from the
 * record as it grows (its calls and their results) against the notebook as it was when the run began. Every
 * decision is a recorded `review` event (`IReviewDetail`), what the `preference` projection pairs are built from.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import type { INotebookDriver } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IAction, IReviewDetail, IStep } from '../trace/types';

/** A cell the agent added or changed, waiting for the user's review. */
export interface IReviewItem {
  cellId: string;
  /** The last call that wrote the cell. */
  callId: string;
  tool: string;
  /** The user turn (1-based) whose run made the change. */
  turn: number;
  change: 'added' | 'changed';
  /** The source before the run (null: the agent added the cell). */
  before: string | null;
  /** The source the agent wrote. */
  after: string;
  /** Where the cell is in the notebook now (1-based). */
  position?: number;
}

/** Accept keeps the agent's cell; Reject puts the previous source back (or removes the added cell). */
export type ReviewDecision = 'accepted' | 'rejected';

/** The review of one session's cells, and the undo of its last run. */
export class CellReview {
  constructor(
    private readonly _driver: INotebookDriver,
    private readonly _recorder: SessionRecorder,
    private readonly _onChange: () => void
  ) {
    this._turn = _recorder.snapshot().steps.filter(step => step.type === 'user').length;
  }

  /** The cells waiting for review that the notebook still has, in the order the agent wrote them. */
  get items(): readonly IReviewItem[] {
    const positions = new Map(this._driver.cells().map((cell, index) => [cell.id, index + 1]));
    return [...this._items.values()].filter(item => positions.has(item.cellId)).map(item => ({ ...item, position: positions.get(item.cellId)! }));
  }

  /** Whether `undoLastRun` has something to put back. */
  get canUndo(): boolean {
    return this._beforeRun !== null;
  }

  /** A run begins: the notebook as it is now is what its changes are compared with, and what an undo restores. */
  beginRun(): void {
    const cells = this._driver.cellsJSON();
    this._beforeRun = { turn: this._turn + 1, cells };
    this._sourcesBefore = new Map(cells.map(cell => [String(cell.id), sourceText(cell.source)]));
  }

  /** Follow the record: user turns, the agent's calls, and the results that wrote cells. */
  observe(step: IStep): void {
    if (step.type === 'user') {
      this._turn++;
    } else if (step.type === 'assistant') {
      step.actions.forEach(action => this._calls.set(action.call_id, action));
      // Fenced blocks are cells before they run.
      step.actions.filter(a => a.cell_id && a.code !== undefined && a.tool === 'execute_cell').forEach(a => this._wrote(a, a.cell_id!, a.code!));
    } else if (step.type === 'execution') {
      const action = this._calls.get(step.call_id);
      if (action?.tool === 'execute_cell') {
        this._wrote(action, step.cell_id, step.code);
      }
    } else if (step.type === 'tool_result' && !step.is_error && step.cell_id) {
      const action = this._calls.get(step.call_id);
      if (action?.tool === 'edit_cell' && action.code !== undefined) {
        this._wrote(action, step.cell_id, action.code);
      }
    }
  }

  /**
   * Accept or reject one cell (`scope` says whether the user did it for the cell or for its whole run). A rejected
   * cell the user had edited keeps the user's source (recorded as the `replacement`); otherwise its previous
   * source comes back, or the cell the agent added is removed. Each is one change of the shared model.
   */
  decide(cellId: string, decision: ReviewDecision, scope: IReviewDetail['scope'] = 'cell'): void {
    const item = this._items.get(cellId);
    if (!item) {
      return;
    }
    this._items.delete(cellId);
    const current = this._driver.cells().find(cell => cell.id === cellId)?.source ?? null;
    let replacement: string | null = null;
    if (decision === 'rejected' && current !== null) {
      if (current !== item.after) {
        replacement = current;
      } else if (item.change === 'added') {
        this._driver.deleteCell(cellId);
      } else {
        this._driver.setCellSource(cellId, item.before ?? '');
      }
    }
    const detail: IReviewDetail = {
      cell_id: cellId,
      call_id: item.callId,
      tool: item.tool,
      turn: item.turn,
      change: item.change,
      decision,
      decided_by: 'user',
      scope,
      before: item.before,
      after: item.after,
      replacement
    };
    this._recorder.event('review', { ...detail });
    this._onChange();
  }

  /** Accept all or Reject all of one run's cells. */
  decideRun(turn: number, decision: ReviewDecision): void {
    this.items.filter(item => item.turn === turn).forEach(item => this.decide(item.cellId, decision, 'run'));
  }

  /**
   * Put the notebook's cells back to what they were before the last run, in one change (recorded as `undo_run`);
   * that run's cells leave the review. False when there is nothing to undo.
   */
  undoLastRun(): boolean {
    const before = this._beforeRun;
    if (!before) {
      return false;
    }
    const cellsAfter = this._driver.cells().length;
    this._driver.restoreCells(before.cells);
    this._beforeRun = null;
    this.items.filter(item => item.turn >= before.turn).forEach(item => this._items.delete(item.cellId));
    this._recorder.event('undo_run', { run: before.turn, cells_before: cellsAfter, cells_after: before.cells.length });
    this._onChange();
    return true;
  }

  private _wrote(action: IAction, cellId: string, source: string): void {
    const known = this._items.get(cellId);
    const before = this._sourcesBefore.get(cellId);
    this._items.set(cellId, {
      cellId,
      callId: action.call_id,
      tool: action.tool,
      turn: known?.turn ?? this._turn,
      change: known?.change ?? (before === undefined ? 'added' : 'changed'),
      before: known ? known.before : (before ?? null),
      after: source
    });
    this._onChange();
  }

  private readonly _items = new Map<string, IReviewItem>();
  private readonly _calls = new Map<string, IAction>();
  private _sourcesBefore = new Map<string, string>();
  private _beforeRun: { turn: number; cells: nbformat.ICell[] } | null = null;
  private _turn: number;
}

function sourceText(source: nbformat.MultilineString): string {
  return Array.isArray(source) ? source.join('') : source;
}
