/**
 * Cell operations on a shared notebook model (`@jupyter/ydoc`), the same for both drivers: the lab driver's is
 * the open panel's own model, the headless driver's a `YNotebook` of its own. Cells are addressed by id; an edit
 * changes the source in place, so the id stays.
 */
import type { ISharedCodeCell, ISharedNotebook } from '@jupyter/ydoc';
import type * as nbformat from '@jupyterlab/nbformat';

import { ICellSnapshot, UnknownCellError } from './tokens';

/** Every cell as the agent sees it, in order. */
export function cellSnapshots(notebook: ISharedNotebook): ICellSnapshot[] {
  return notebook.cells.map(cell => {
    const json = cell.toJSON() as nbformat.ICell;
    return {
      id: cell.id,
      cell_type: cell.cell_type as ICellSnapshot['cell_type'],
      source: cell.getSource(),
      execution_count: (json.execution_count as number | null | undefined) ?? null,
      outputs: (json.outputs as nbformat.IOutput[] | undefined) ?? []
    };
  });
}

/** Append a code cell (with the caller's metadata, kept as given); returns its id. */
export function appendCodeCell(notebook: ISharedNotebook, source: string, metadata: Record<string, unknown>): string {
  const cell = notebook.insertCell(notebook.cells.length, {
    cell_type: 'code',
    source,
    metadata: metadata as nbformat.ICodeCellMetadata
  });
  return cell.id;
}

/** The code cell with `cellId`; `UnknownCellError` when there is none, an error when it is not code. */
export function codeCellById(notebook: ISharedNotebook, cellId: string): ISharedCodeCell {
  const cell = notebook.cells.find(c => c.id === cellId);
  if (!cell) {
    throw new UnknownCellError(cellId);
  }
  if (cell.cell_type !== 'code') {
    throw new Error(`cell '${cellId}' is a ${cell.cell_type} cell, not code`);
  }
  return cell as ISharedCodeCell;
}

/** Remove the cell with `cellId` (one change); `UnknownCellError` when there is none. */
export function deleteCell(notebook: ISharedNotebook, cellId: string): void {
  const index = notebook.cells.findIndex(c => c.id === cellId);
  if (index < 0) {
    throw new UnknownCellError(cellId);
  }
  notebook.deleteCell(index);
}

/** The cells as nbformat JSON, ids included: what `restoreCells` puts back. */
export function cellsJSON(notebook: ISharedNotebook): nbformat.ICell[] {
  return notebook.cells.map(cell => cell.toJSON() as nbformat.ICell);
}

/**
 * Make the notebook's cells `cells` again (sources, outputs, metadata, ids) in one transaction: one change for
 * collaborators and for the notebook model's listeners.
 */
export function restoreCells(notebook: ISharedNotebook, cells: nbformat.ICell[]): void {
  notebook.transact(() => {
    notebook.deleteCellRange(0, notebook.cells.length);
    notebook.insertCells(0, cells.map(cell => ({ ...cell }) as never));
  });
}
