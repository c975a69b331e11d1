import type {
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionTool
} from 'openai/resources/chat/completions';

import { ChatClient, IAssistantTurn, IModelToolCall, ModelAbortedError, ModelError } from '../llm/client';
import { INotebookDriver, UnknownCellError } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IAction, IOutcome } from '../trace/types';
import { CellRunner, ICellRun } from './cellRunner';
import { parseFencedBlocks } from './fenced';
import { SYSTEM_PROMPTS, SystemPromptId } from './prompts';
import { notebookListing } from './results';
import { actionKindOf, isToolName, TOOL_DEFINITIONS, ToolName } from './tools';

/** Options of `Agent`. */
export interface IAgentOptions {
  client: ChatClient;
  driver: INotebookDriver;
  recorder: SessionRecorder;
  toolMode: 'native' | 'fenced';
  /** Most model turns (default 20). */
  maxSteps?: number;
  cellTimeoutMs?: number;
  /** Characters of each execution's output the model sees (head + tail). */
  modelBudgetChars?: number;
  /** The model takes images. */
  vision?: boolean;
  /** Stops the run: the pending model request is aborted, a running cell interrupted. */
  signal?: AbortSignal;
  /** Progress, for a command line or a UI. */
  onProgress?: (line: string) => void;
}

/** The system prompt id for a tool mode. */
export function systemPromptIdFor(toolMode: 'native' | 'fenced'): SystemPromptId {
  return toolMode === 'native' ? 'native-v1' : 'fenced-v1';
}

/** The result of one tool call, as the model will read it. */
interface IToolAnswer {
  text: string;
  images: ICellRun['images'];
  cellId: string | null;
  /** Set when the call finished the task. */
  answer?: string;
}

/**
 * The agent loop: a model turn, then its tool calls (or fenced code blocks) run on the notebook's kernel, the
 * results fed back, until the model gives a final answer or a limit is hit. Everything is recorded as it happens.
 */
export class Agent {
  constructor(private readonly _options: IAgentOptions) {
    this._runner = new CellRunner({
      driver: _options.driver,
      recorder: _options.recorder,
      cellTimeoutMs: _options.cellTimeoutMs ?? 120000,
      modelBudgetChars: _options.modelBudgetChars ?? 6000,
      vision: _options.vision ?? false,
      signal: _options.signal
    });
  }

  /** Run the task to its end; never throws for model, kernel or tool failures (they end up in the outcome). */
  async run(prompt: string): Promise<IOutcome> {
    const { recorder, toolMode } = this._options;
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: SYSTEM_PROMPTS[systemPromptIdFor(toolMode)] },
      { role: 'user', content: prompt }
    ];
    recorder.user(prompt);
    const maxSteps = this._options.maxSteps ?? 20;
    for (let step = 1; step <= maxSteps; step++) {
      let turn: IAssistantTurn;
      try {
        turn = await this._options.client.complete(messages, this._tools(), this._options.signal);
      } catch (error) {
        return this._modelFailure(error as Error);
      }
      const outcome =
        toolMode === 'native' ? await this._nativeTurn(step, turn, messages) : await this._fencedTurn(step, turn, messages);
      if (outcome) {
        return outcome;
      }
      if (this._options.signal?.aborted) {
        return { reason: 'cancelled', message: 'stopped by the user' };
      }
    }
    return { reason: 'max_steps', message: `no final answer within ${maxSteps} model turns` };
  }

  private _tools(): ChatCompletionTool[] | undefined {
    return this._options.toolMode === 'native' ? (TOOL_DEFINITIONS as ChatCompletionTool[]) : undefined;
  }

  private _modelFailure(error: Error): IOutcome {
    if (error instanceof ModelAbortedError) {
      return { reason: 'cancelled', message: 'stopped by the user' };
    }
    const status = error instanceof ModelError ? error.status : undefined;
    this._options.recorder.event('model_error', { message: error.message, status: status ?? null });
    return { reason: 'model_error', message: error.message };
  }

  /** Tool-calling turn: run each call in order; a reply without calls is the final answer. */
  private async _nativeTurn(
    step: number,
    turn: IAssistantTurn,
    messages: ChatCompletionMessageParam[]
  ): Promise<IOutcome | null> {
    const { recorder } = this._options;
    const actions = turn.toolCalls.map(call => this._actionOf(call));
    recorder.assistant({
      text: turn.text,
      reasoning: turn.reasoning,
      actions,
      usage: turn.usage,
      finish_reason: turn.finishReason
    });
    if (!turn.toolCalls.length) {
      this._progress(`[turn ${step}] answer (no tool call)`);
      return { reason: 'final_answer', answer: turn.text };
    }
    messages.push({
      role: 'assistant',
      content: turn.text || null,
      tool_calls: turn.toolCalls.map(
        (call): ChatCompletionMessageToolCall => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments }
        })
      )
    });
    const images: { cellId: string | null; image: ICellRun['images'][number] }[] = [];
    let answer: string | undefined;
    for (const [index, call] of turn.toolCalls.entries()) {
      let result: IToolAnswer;
      if (answer !== undefined || this._options.signal?.aborted) {
        result = this._refuse(call, 'not run: the run had already ended before this call', actions[index].cell_id);
      } else {
        result = await this._callTool(call, actions[index]);
      }
      this._progress(`[turn ${step}] ${call.name}${result.cellId ? ` ${result.cellId}` : ''}: ${firstLine(result.text, call.name)}`);
      messages.push({ role: 'tool', tool_call_id: call.id, content: result.text });
      images.push(...result.images.map(image => ({ cellId: result.cellId, image })));
      answer ??= result.answer;
    }
    if (images.length) {
      messages.push({ role: 'user', content: imageParts(images) });
    }
    if (answer !== undefined) {
      return { reason: 'final_answer', answer };
    }
    if (this._options.signal?.aborted) {
      return { reason: 'cancelled', message: 'stopped by the user' };
    }
    return null;
  }

  /** Fenced turn: every ```python / ```sh block runs as a new cell; the results come back as the next user turn. */
  private async _fencedTurn(
    step: number,
    turn: IAssistantTurn,
    messages: ChatCompletionMessageParam[]
  ): Promise<IOutcome | null> {
    const { recorder, driver } = this._options;
    const blocks = parseFencedBlocks(turn.text);
    const planned = blocks.map((block, index) => ({
      block,
      callId: `block_${step}_${index + 1}`,
      cellId: driver.appendCodeCell(block.code, { aiev: { tool: 'fenced', language: block.language } })
    }));
    recorder.assistant({
      text: turn.text,
      reasoning: turn.reasoning,
      actions: planned.map(({ block, callId, cellId }) => ({
        call_id: callId,
        tool: 'execute_cell',
        kind: actionKindOf(block.code),
        cell_id: cellId,
        arguments: { code: block.code },
        code: block.code
      })),
      usage: turn.usage,
      finish_reason: turn.finishReason
    });
    messages.push({ role: 'assistant', content: turn.text });
    if (!planned.length) {
      this._progress(`[turn ${step}] answer (no code block)`);
      return { reason: 'final_answer', answer: turn.text };
    }
    const sections: string[] = [];
    const images: { cellId: string | null; image: ICellRun['images'][number] }[] = [];
    for (const [index, { callId, cellId, block }] of planned.entries()) {
      if (this._options.signal?.aborted) {
        break;
      }
      const run = await this._runner.run(callId, cellId, block.code);
      this._progress(`[turn ${step}] block ${index + 1} ${cellId}: ${run.step.status}`);
      sections.push(`Result of code block ${index + 1}:\n${run.step.model_text}`);
      images.push(...run.images.map(image => ({ cellId, image })));
    }
    messages.push({ role: 'user', content: sections.join('\n\n') });
    if (images.length) {
      messages.push({ role: 'user', content: imageParts(images) });
    }
    return this._options.signal?.aborted ? { reason: 'cancelled', message: 'stopped by the user' } : null;
  }

  /** How a tool call is recorded: parsed arguments (or the raw text when they do not parse), kind, cell. */
  private _actionOf(call: IModelToolCall): IAction {
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

  /** Run one tool call; bad calls become error results the model can act on. */
  private async _callTool(call: IModelToolCall, action: IAction): Promise<IToolAnswer> {
    if (!isToolName(call.name)) {
      const known = TOOL_DEFINITIONS.map(t => t.function.name).join(', ');
      return this._refuse(call, `error: unknown tool '${call.name}'. Available tools: ${known}.`, null);
    }
    const parsed = parseArguments(call.arguments);
    if (!parsed.ok) {
      return this._refuse(
        call,
        `error: the arguments of ${call.name} are not valid JSON (${parsed.error}). Send them again as one JSON object.`,
        null
      );
    }
    const missing = requiredArguments(call.name).filter(name => typeof action.arguments[name] !== 'string');
    if (missing.length) {
      return this._refuse(call, `error: ${call.name} needs the string argument(s): ${missing.join(', ')}.`, action.cell_id);
    }
    try {
      return await this._dispatch(call.name, call.id, action);
    } catch (error) {
      if (error instanceof UnknownCellError) {
        return this._refuse(call, `error: ${error.message}. Call read_notebook to see the cell ids.`, action.cell_id);
      }
      throw error;
    }
  }

  private async _dispatch(name: ToolName, callId: string, action: IAction): Promise<IToolAnswer> {
    const { driver } = this._options;
    const args = action.arguments as Record<string, string>;
    switch (name) {
      case 'execute_cell': {
        const cellId = driver.appendCodeCell(args.code, { aiev: { tool: name, call_id: callId } });
        action.cell_id = cellId;
        return this._execution(callId, cellId, args.code);
      }
      case 'run_cell': {
        const cell = driver.cells().find(c => c.id === args.cell_id);
        if (!cell) {
          throw new UnknownCellError(args.cell_id);
        }
        return this._execution(callId, cell.id, cell.source);
      }
      case 'edit_cell':
        driver.setCellSource(args.cell_id, args.code);
        await this._runner.saveSoon();
        return this._answer(callId, args.cell_id, `cell_id: ${args.cell_id}\nedited (not run; call run_cell to run it).`);
      case 'read_notebook':
        return this._answer(callId, null, notebookListing(driver.cells()));
      case 'restart_kernel':
        await driver.restartKernel();
        this._options.recorder.event('kernel_restart', { requested_by: 'model', call_id: callId });
        return this._answer(callId, null, 'The kernel was restarted: all variables and imports are gone.');
      case 'final_answer':
        return { ...this._answer(callId, null, 'Final answer recorded.'), answer: args.answer };
    }
  }

  private async _execution(callId: string, cellId: string, code: string): Promise<IToolAnswer> {
    const run = await this._runner.run(callId, cellId, code);
    return { text: run.step.model_text, images: run.images, cellId };
  }

  private _answer(callId: string, cellId: string | null, text: string, isError = false): IToolAnswer {
    this._options.recorder.toolResult({ call_id: callId, cell_id: cellId, model_text: text, is_error: isError });
    return { text, images: [], cellId };
  }

  private _refuse(call: IModelToolCall, text: string, cellId: string | null): IToolAnswer {
    this._options.recorder.event('tool_error', { call_id: call.id, tool: call.name, message: text });
    return this._answer(call.id, cellId, text, true);
  }

  private _progress(line: string): void {
    this._options.onProgress?.(line);
  }

  private readonly _runner: CellRunner;
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

function imageParts(images: { cellId: string | null; image: { mime: string; data: string } }[]): ChatCompletionContentPart[] {
  return [
    { type: 'text', text: `Images produced by the cells above (${images.length}):` },
    ...images.map(
      ({ image }): ChatCompletionContentPart => ({
        type: 'image_url',
        image_url: { url: `data:${image.mime};base64,${image.data}` }
      })
    )
  ];
}

function firstLine(text: string, tool: string): string {
  const status = /^status: (.*)$/m.exec(text);
  return status ? status[1] : (text.split('\n')[0] ?? tool).slice(0, 100);
}
