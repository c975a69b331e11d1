/**
 * The agent's tools on a notebook: each model tool call becomes a recorded action and an answer the model reads.
 * Bad calls (unknown tool, arguments that are not JSON, unknown cell) become error answers the model can act on.
 * Cells a person changed since the agent last saw them are never overwritten silently: the model is told and
 * shown their current source.
 */
import type { IModelToolCall } from '../llm/client';
import { INotebookDriver, UnknownCellError } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IAction, IStep } from '../trace/types';
import type { ApprovalGate, IApprovalRequest } from './approvals';
import { CellRunner, ICellRun } from './cellRunner';
import type { ICellWrite } from './review';
import { inspectionText, INSPECT_SNIPPET } from './inspect';
import { notebookListing } from './results';
import { actionKindOf, isToolName, TOOL_DEFINITIONS, ToolName } from './tools';

/** The result of one tool call, as the model will read it. */
export interface IToolAnswer {
  text: string;
  images: ICellRun['images'];
  cellId: string | null;
  /** Set when the call finished the task. */
  answer?: string;
}

/** Where an agent cell came from, written to its `metadata.aiev` (with the tool and call id). */
export interface ICellProvenance {
  session: string;
  /** The user turn (1-based) and the model turn within the session (1-based). */
  turn: number;
  step: number;
  model: string;
}

/** Options of a `Toolbox`. */
export interface IToolboxOptions {
  driver: INotebookDriver;
  recorder: SessionRecorder;
  runner: CellRunner;
  /** Characters of output the model sees (inspection listings are cut to this too). */
  budgetChars: number;
  /** Provenance of the cells made now (called per cell). */
  provenance: () => ICellProvenance;
  /** Asks the user before code runs, by its kind (none: everything runs). */
  approvals?: ApprovalGate;
  /** The current run's signal (a Stop ends a wait for approval). */
  signal?: () => AbortSignal | undefined;
  /** Told of every cell the agent adds or changes (cell review). */
  onCellWritten?: (write: ICellWrite) => void;
}

/** Runs the model's tool calls on the notebook and records what the model is answered. */
export class Toolbox {
  constructor(private readonly _options: IToolboxOptions) {}

  /**
   * What the agent saw of each cell in a continued session's steps (the code it ran, the sources it wrote), so
   * that a change a person made since is noticed as for a live session.
   */
  restoreSeen(steps: readonly IStep[]): void {
    for (const step of steps) {
      if (step.type === 'execution') {
        this._seen.set(step.cell_id, step.code);
      } else if (step.type === 'event' && step.event === 'agent_cell') {
        this._seen.set(String(step.detail.cell_id), String(step.detail.after));
      }
    }
  }

  /** How a tool call is recorded: parsed arguments (or the raw text when they do not parse), kind, cell. */
  actionOf(call: IModelToolCall): IAction {
    const parsed = parseArguments(call.arguments);
    const args = parsed.ok ? parsed.value : {};
    const code = typeof args.code === 'string' ? args.code : undefined;
    const answer = typeof args.answer === 'string' ? args.answer : undefined;
    const cellId = typeof args.cell_id === 'string' ? args.cell_id : null;
    let kind: IAction['kind'] = 'notebook';
    if (call.name === 'final_answer') {
      kind = 'final_answer';
    } else if (code !== undefined) {
      kind = actionKindOf(code);
    } else if (call.name === 'run_cell' && cellId) {
      const cell = this._options.driver.cells().find(c => c.id === cellId);
      kind = cell ? actionKindOf(cell.source) : 'python';
    }
    return {
      call_id: call.id,
      tool: call.name,
      kind,
      cell_id: cellId,
      arguments: args,
      ...(parsed.ok ? {} : { raw_arguments: call.arguments }),
      ...(code !== undefined ? { code } : {}),
      ...(answer !== undefined ? { answer } : {})
    };
  }

  /** Run one tool call; bad calls become error answers the model can act on. */
  async call(call: IModelToolCall, action: IAction): Promise<IToolAnswer> {
    if (!isToolName(call.name)) {
      const known = TOOL_DEFINITIONS.map(t => t.function.name).join(', ');
      return this.refuse(call.id, call.name, `error: unknown tool '${call.name}'. Available tools: ${known}.`, null);
    }
    const parsed = parseArguments(call.arguments);
    if (!parsed.ok) {
      const text = `error: the arguments of ${call.name} are not valid JSON (${parsed.error}). Send them again as one JSON object.`;
      return this.refuse(call.id, call.name, text, null);
    }
    const missing = requiredArguments(call.name).filter(name => typeof action.arguments[name] !== 'string');
    if (missing.length) {
      const text = `error: ${call.name} needs the string argument(s): ${missing.join(', ')}.`;
      return this.refuse(call.id, call.name, text, action.cell_id);
    }
    try {
      if (call.name === 'execute_cell' || call.name === 'run_cell') {
        const code = call.name === 'execute_cell' ? String(action.arguments.code) : this._source(String(action.arguments.cell_id));
        const refusal = await this.approve({ call_id: call.id, tool: call.name, kind: action.kind, code, arguments: action.arguments });
        if (refusal) {
          return this.notApproved(call.id, action.cell_id, refusal);
        }
      }
      return await this._dispatch(call.name, call.id, action);
    } catch (error) {
      if (error instanceof UnknownCellError) {
        return this.refuse(call.id, call.name, `error: ${error.message}. Call read_notebook to see the cell ids.`, action.cell_id);
      }
      throw error;
    }
  }

  /** Null when the code may run (asking the user first when the mode says so), else what the model is told. */
  approve(request: IApprovalRequest): Promise<string | null> {
    return this._options.approvals?.check(request, this._options.signal?.()) ?? Promise.resolve(null);
  }

  /** Answer a call the user did not approve (its `approval` event says why) with `text`. */
  notApproved(callId: string, cellId: string | null, text: string): IToolAnswer {
    return this._answer(callId, cellId, text, true);
  }

  /** Append a cell with `code` and run it (fenced mode's execution requests, and execute_cell). */
  async appendAndRun(callId: string, code: string, metadata: Record<string, unknown>): Promise<{ cellId: string; run: ICellRun }> {
    const provenance = this._options.provenance();
    const cellId = this._options.driver.appendCodeCell(code, { aiev: { ...provenance, ...metadata, call_id: callId } });
    this._seen.set(cellId, code);
    this._options.onCellWritten?.({ cellId, callId, tool: 'execute_cell', turn: provenance.turn, before: null, after: code });
    return { cellId, run: await this._options.runner.run(callId, cellId, code) };
  }

  /** Answer a call without running it (recorded as an error result and a `tool_error` event). */
  refuse(callId: string, tool: string, text: string, cellId: string | null): IToolAnswer {
    this._options.recorder.event('tool_error', { call_id: callId, tool, message: text });
    return this._answer(callId, cellId, text, true);
  }

  private async _dispatch(name: ToolName, callId: string, action: IAction): Promise<IToolAnswer> {
    const { driver, recorder } = this._options;
    const args = action.arguments as Record<string, string>;
    switch (name) {
      case 'execute_cell': {
        const { cellId, run } = await this.appendAndRun(callId, args.code, { tool: name });
        action.cell_id = cellId;
        return { text: run.step.model_text, images: run.images, cellId };
      }
      case 'run_cell': {
        const source = this._source(args.cell_id);
        const edited = this._editedByUser(args.cell_id, source);
        this._seen.set(args.cell_id, source);
        const note = edited ? `the user changed this cell since you last saw it; it ran its current source:\n${source}` : undefined;
        const run = await this._options.runner.run(callId, args.cell_id, source, note);
        return { text: run.step.model_text, images: run.images, cellId: args.cell_id };
      }
      case 'edit_cell': {
        const source = this._source(args.cell_id);
        if (this._editedByUser(args.cell_id, source)) {
          this._seen.set(args.cell_id, source);
          const text =
            `error: the user changed cell ${args.cell_id} since you last saw it, so it was not overwritten. ` +
            `Its current source:\n${source}\nCall edit_cell again with code based on it if it still needs changing.`;
          return this.refuse(callId, name, text, args.cell_id);
        }
        // Edits run nothing: the kind is `notebook`, asked about in `ask` mode only, with the source it replaces.
        const refusal = await this.approve({ call_id: callId, tool: name, kind: 'notebook', code: args.code, arguments: action.arguments, before: source });
        if (refusal) {
          return this.notApproved(callId, args.cell_id, refusal);
        }
        driver.setCellSource(args.cell_id, args.code);
        this._seen.set(args.cell_id, args.code);
        this._options.onCellWritten?.({ cellId: args.cell_id, callId, tool: name, turn: this._options.provenance().turn, before: source, after: args.code });
        await this._options.runner.saveSoon();
        return this._answer(callId, args.cell_id, `cell_id: ${args.cell_id}\nedited (not run; call run_cell to run it).`);
      }
      case 'read_notebook': {
        const cells = driver.cells();
        cells.forEach(cell => this._seen.set(cell.id, cell.source));
        return this._answer(callId, null, notebookListing(cells));
      }
      case 'inspect_variables':
        return this._answer(callId, null, await this._inspect());
      case 'restart_kernel':
        await driver.restartKernel();
        recorder.event('kernel_restart', { requested_by: 'model', call_id: callId });
        return this._answer(callId, null, 'The kernel was restarted: all variables and imports are gone.');
      case 'final_answer':
        return { ...this._answer(callId, null, 'Final answer recorded.'), answer: args.answer };
    }
  }

  /** The kernel's variables, by a silent execution that the record keeps (code, status, output). */
  private async _inspect(): Promise<string> {
    const result = await this._options.driver.executeSilent(INSPECT_SNIPPET);
    this._options.recorder.event('silent_execution', {
      purpose: 'inspect_variables',
      status: result.status,
      code: INSPECT_SNIPPET,
      stdout: result.stdout,
      error: result.error ?? null
    });
    if (result.status !== 'ok') {
      const why = result.error ? `${result.error.ename}: ${result.error.evalue}` : result.status;
      return `error: the variables could not be inspected (${why}).`;
    }
    try {
      return inspectionText(result.stdout, this._options.budgetChars);
    } catch {
      return 'error: the inspection printed something unreadable; use execute_cell to look at variables.';
    }
  }

  private _source(cellId: string): string {
    const cell = this._options.driver.cells().find(c => c.id === cellId);
    if (!cell) {
      throw new UnknownCellError(cellId);
    }
    return cell.source;
  }

  /** True when the agent has seen the cell and its source is no longer what it saw (a person edited it). */
  private _editedByUser(cellId: string, source: string): boolean {
    const seen = this._seen.get(cellId);
    if (seen === undefined || seen === source) {
      return false;
    }
    this._options.recorder.event('user_edit', { cell_id: cellId });
    return true;
  }

  /** Records the answer; the model reads the recorded text (secrets scrubbed), as for executions. */
  private _answer(callId: string, cellId: string | null, text: string, isError = false): IToolAnswer {
    const step = this._options.recorder.toolResult({ call_id: callId, cell_id: cellId, model_text: text, is_error: isError });
    return { text: step.model_text, images: [], cellId };
  }

  /** The source of each cell as the agent last wrote, ran or listed it. */
  private readonly _seen = new Map<string, string>();
}

function requiredArguments(name: ToolName): string[] {
  const definition = TOOL_DEFINITIONS.find(t => t.function.name === name);
  return (definition?.function.parameters.required as string[] | undefined) ?? [];
}

function parseArguments(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  try {
    const value = JSON.parse(text.trim() || '{}');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { ok: false, error: 'not a JSON object' };
    }
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
