/**
 * The user's say over the cells the agent wrote: every cell it added or changed waits for Accept or Reject (per
 * cell, or the whole run's), and the last run can be undone as a whole. The toolbox reports each cell it writes
 * (`wrote`, recorded as an `agent_cell` event with the source it replaced), so a continued session takes its review
 * up again from its record (`restore`). Every decision is a recorded `review` event (`IReviewDetail`), what the
 * `preference` projection pairs are built from.
 */
import type * as nbformat from '@jupyterlab/nbformat';

import type { INotebookDriver } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IReviewDetail, IStep } from '../trace/types';

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

/** A cell the agent just wrote, as the toolbox reports it (recorded as an `agent_cell` event). */
export interface ICellWrite {
  cellId: string;
  callId: string;
  tool: string;
  /** The user turn (1-based) of the run. */
  turn: number;
  /** The source before this write; null for a cell the agent added. */
  before: string | null;
  after: string;
}

/** The review of one session's cells, and the undo of its last run. */
export class CellReview {
  constructor(
    private readonly _driver: INotebookDriver,
    private readonly _recorder: SessionRecorder,
    private readonly _onChange: () => void
  ) {}

  /** The cells waiting for review that the notebook still has, in the order the agent wrote them. */
  get items(): readonly IReviewItem[] {
    const positions = new Map(this._driver.cells().map((cell, index) => [cell.id, index + 1]));
    return [...this._items.values()].filter(item => positions.has(item.cellId)).map(item => ({ ...item, position: positions.get(item.cellId)! }));
  }

  /** The same without positions, for the notebook's marks (no look at the notebook: cheap while a run streams). */
  get pending(): readonly IReviewItem[] {
    return [...this._items.values()];
  }

  /** Whether `undoLastRun` has something to put back. */
  get canUndo(): boolean {
    return this._beforeRun !== null;
  }

  /** A run begins: the notebook as it is now is what an undo restores. */
  beginRun(): void {
    const turn = this._recorder.snapshot().steps.filter(step => step.type === 'user').length + 1;
    this._beforeRun = { turn, cells: this._driver.cellsJSON() };
  }

  /** The agent wrote a cell: recorded (`agent_cell`, with the source it replaced), and waiting for review. */
  wrote(write: ICellWrite): void {
    this._recorder.event('agent_cell', { ...toDetail(write) });
    this._apply(write);
    this._onChange();
  }

  /**
   * Take up a continued session's review from its record: the cells the agent wrote (`agent_cell`), less those
   * the user already decided on (`review`) or a run's undo took back (`undo_run`). Nothing is recorded.
   */
  restore(steps: readonly IStep[]): void {
    for (const step of steps) {
      if (step.type !== 'event') {
        continue;
      }
      const detail = step.detail as Record<string, unknown>;
      if (step.event === 'agent_cell') {
        this._apply(fromDetail(detail as unknown as IAgentCellDetail));
      } else if (step.event === 'review') {
        this._items.delete(String(detail.cell_id));
      } else if (step.event === 'undo_run') {
        this._dropFrom(Number(detail.run));
      }
    }
    this._onChange();
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
    this._dropFrom(before.turn);
    this._recorder.event('undo_run', { run: before.turn, cells_before: cellsAfter, cells_after: before.cells.length });
    this._onChange();
    return true;
  }

  private _apply(write: ICellWrite): void {
    const known = this._items.get(write.cellId);
    this._items.set(write.cellId, {
      cellId: write.cellId,
      callId: write.callId,
      tool: write.tool,
      turn: known?.turn ?? write.turn,
      change: known?.change ?? (write.before === null ? 'added' : 'changed'),
      before: known ? known.before : write.before,
      after: write.after
    });
  }

  private _dropFrom(turn: number): void {
    this.items.filter(item => item.turn >= turn).forEach(item => this._items.delete(item.cellId));
  }

  private readonly _items = new Map<string, IReviewItem>();
  private _beforeRun: { turn: number; cells: nbformat.ICell[] } | null = null;
}

/** The detail of an `agent_cell` event. */
interface IAgentCellDetail {
  cell_id: string;
  call_id: string;
  tool: string;
  turn: number;
  before: string | null;
  after: string;
}

function toDetail(write: ICellWrite): IAgentCellDetail {
  return { cell_id: write.cellId, call_id: write.callId, tool: write.tool, turn: write.turn, before: write.before, after: write.after };
}

function fromDetail(detail: IAgentCellDetail): ICellWrite {
  return { cellId: detail.cell_id, callId: detail.call_id, tool: detail.tool, turn: detail.turn, before: detail.before, after: detail.after };
}
