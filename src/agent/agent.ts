import type {
  ChatCompletionContentPart,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionTool
} from 'openai/resources/chat/completions';

import { ChatClient, IAssistantTurn, ITurnDelta, ModelAbortedError, ModelError } from '../llm/client';
import type { INotebookDriver } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IOutcome } from '../trace/types';
import type { ApprovalGate } from './approvals';
import type { ICellWrite } from './review';
import { CellRunner, ICellRun } from './cellRunner';
import { parseFencedBlocks } from './fenced';
import { SYSTEM_PROMPTS, SystemPromptId } from './prompts';
import { actionKindOf, TOOL_DEFINITIONS } from './tools';
import { ICellProvenance, IToolAnswer, Toolbox } from './toolbox';

/** Options of `Agent`. */
export interface IAgentOptions {
  client: ChatClient;
  driver: INotebookDriver;
  recorder: SessionRecorder;
  toolMode: 'native' | 'fenced';
  /** Most model turns per run (default 20). */
  maxSteps?: number;
  cellTimeoutMs?: number;
  /** Characters of each execution's output the model sees (head + tail). */
  modelBudgetChars?: number;
  /** The model takes images. */
  vision?: boolean;
  /** Stops a run that was given no signal of its own. */
  signal?: AbortSignal;
  /** Progress, for a command line or a UI. */
  onProgress?: (line: string) => void;
  /** Streamed text of the model turn in progress. */
  onDelta?: (delta: ITurnDelta) => void;
  /** The conversation so far, when continuing a session (see `conversationOf`); else it starts with the system prompt. */
  messages?: ChatCompletionMessageParam[];
  /** User messages sent while the agent worked; taken before each model turn after the first of a run. */
  takeQueued?: () => string[];
  /** Asks the user before code runs (approvals.ts); none: everything runs. */
  approvals?: ApprovalGate;
  /** Told of every cell the agent adds or changes (cell review, review.ts). */
  onCellWritten?: (write: ICellWrite) => void;
}

/** The system prompt id for a tool mode. */
export function systemPromptIdFor(toolMode: 'native' | 'fenced'): SystemPromptId {
  return toolMode === 'native' ? 'native-v1' : 'fenced-v1';
}

/** The outcome of a stopped run. */
const CANCELLED: IOutcome = { reason: 'cancelled', message: 'stopped by the user' };

/**
 * The agent loop: a model turn, then its tool calls (or fenced code blocks) run on the notebook's kernel, the
 * results fed back, until the model gives a final answer or a limit is hit. Everything is recorded as it happens.
 * The conversation lives as long as the agent: each `run` continues it with one more user message.
 */
export class Agent {
  constructor(private readonly _options: IAgentOptions) {
    this._runner = new CellRunner({
      driver: _options.driver,
      recorder: _options.recorder,
      cellTimeoutMs: _options.cellTimeoutMs ?? 120000,
      modelBudgetChars: _options.modelBudgetChars ?? 6000,
      vision: _options.vision ?? false,
      signal: () => this._signal
    });
    const steps = _options.recorder.snapshot().steps;
    this._turn = steps.filter(step => step.type === 'user').length;
    this._step = steps.filter(step => step.type === 'assistant').length;
    this._tools = new Toolbox({
      driver: _options.driver,
      recorder: _options.recorder,
      runner: this._runner,
      budgetChars: _options.modelBudgetChars ?? 6000,
      provenance: () => this._provenance(),
      approvals: _options.approvals,
      signal: () => this._signal,
      onCellWritten: _options.onCellWritten
    });
    this._tools.restoreSeen(steps);
    this._messages = _options.messages ?? [{ role: 'system', content: SYSTEM_PROMPTS[systemPromptIdFor(_options.toolMode)] }];
  }

  /** The cell runner (saves the notebook at most once a second; `save()` saves now). */
  get runner(): CellRunner {
    return this._runner;
  }

  /**
   * Continue the conversation with `prompt` until a final answer or a limit (`maxSteps` model turns, default the
   * agent's); never throws for model, kernel or tool failures.
   */
  async run(prompt: string, signal: AbortSignal | undefined = this._options.signal, maxSteps = this._options.maxSteps ?? 20): Promise<IOutcome> {
    this._signal = signal;
    try {
      this._userMessage(prompt);
      for (let step = 1; step <= maxSteps; step++) {
        if (step > 1) {
          (this._options.takeQueued?.() ?? []).forEach(text => this._userMessage(text));
        }
        let turn: IAssistantTurn;
        try {
          turn = await this._options.client.complete(this._messages, this._toolDefinitions(), {
            signal,
            onDelta: this._options.onDelta,
            onRetry: (attempt, error) => this._options.recorder.event('model_retry', { attempt, message: error.message }),
            onAdaptation: (adaptation, detail) => this._options.recorder.event('model_adaptation', { adaptation, detail })
          });
        } catch (error) {
          return this._modelFailure(error as Error);
        }
        this._step++;
        const outcome = this._options.toolMode === 'native' ? await this._nativeTurn(turn) : await this._fencedTurn(turn);
        if (outcome) {
          return outcome;
        }
        if (signal?.aborted) {
          return CANCELLED;
        }
      }
      return { reason: 'max_steps', message: `no final answer within ${maxSteps} model turns` };
    } finally {
      this._signal = undefined;
    }
  }

  private _userMessage(text: string): void {
    this._turn++;
    this._messages.push({ role: 'user', content: text });
    this._options.recorder.user(text);
  }

  private _provenance(): ICellProvenance {
    const recorder = this._options.recorder;
    return { session: recorder.id, turn: this._turn, step: this._step, model: recorder.source.model };
  }

  private _toolDefinitions(): ChatCompletionTool[] | undefined {
    return this._options.toolMode === 'native' ? (TOOL_DEFINITIONS as ChatCompletionTool[]) : undefined;
  }

  private _modelFailure(error: Error): IOutcome {
    if (error instanceof ModelAbortedError) {
      return CANCELLED;
    }
    const status = error instanceof ModelError ? error.status : undefined;
    this._options.recorder.event('model_error', { message: error.message, status: status ?? null });
    return { reason: 'model_error', message: error.message };
  }

  /** Tool-calling turn: run each call in order; a reply without calls is the final answer. */
  private async _nativeTurn(turn: IAssistantTurn): Promise<IOutcome | null> {
    const actions = turn.toolCalls.map(call => this._tools.actionOf(call));
    this._options.recorder.assistant({
      text: turn.text,
      reasoning: turn.reasoning,
      actions,
      usage: turn.usage,
      finish_reason: turn.finishReason
    });
    if (!turn.toolCalls.length) {
      this._messages.push({ role: 'assistant', content: turn.text });
      this._progress(`[turn ${this._step}] answer (no tool call)`);
      return { reason: 'final_answer', answer: turn.text };
    }
    this._messages.push({
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
    const images: ICellRun['images'] = [];
    let answer: string | undefined;
    for (const [index, call] of turn.toolCalls.entries()) {
      let result: IToolAnswer;
      if (answer !== undefined || this._signal?.aborted) {
        const text = 'not run: the run had already ended before this call';
        result = this._tools.refuse(call.id, call.name, text, actions[index].cell_id);
      } else {
        result = await this._tools.call(call, actions[index]);
      }
      this._progress(`[turn ${this._step}] ${call.name}${result.cellId ? ` ${result.cellId}` : ''}: ${firstLine(result.text, call.name)}`);
      this._messages.push({ role: 'tool', tool_call_id: call.id, content: result.text });
      images.push(...result.images);
      answer ??= result.answer;
    }
    this._pushImages(images);
    if (answer !== undefined) {
      return { reason: 'final_answer', answer };
    }
    return this._signal?.aborted ? CANCELLED : null;
  }

  /** Fenced turn: every ```python / ```sh block runs as a new cell; the results come back as the next user turn. */
  private async _fencedTurn(turn: IAssistantTurn): Promise<IOutcome | null> {
    const { recorder, driver } = this._options;
    const blocks = parseFencedBlocks(turn.text);
    const planned = blocks.map((block, index) => ({
      block,
      callId: `block_${this._step}_${index + 1}`,
      cellId: driver.appendCodeCell(block.code, {
        aiev: { ...this._provenance(), tool: 'fenced', language: block.language, call_id: `block_${this._step}_${index + 1}` }
      })
    }));
    planned.forEach(({ block, callId, cellId }) =>
      this._options.onCellWritten?.({ cellId, callId, tool: 'execute_cell', turn: this._turn, before: null, after: block.code })
    );
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
    this._messages.push({ role: 'assistant', content: turn.text });
    if (!planned.length) {
      this._progress(`[turn ${this._step}] answer (no code block)`);
      return { reason: 'final_answer', answer: turn.text };
    }
    const sections: string[] = [];
    const images: ICellRun['images'] = [];
    for (const [index, { callId, cellId, block }] of planned.entries()) {
      let text: string;
      if (this._signal?.aborted) {
        text = this._tools.refuse(callId, 'execute_cell', 'not run: the run was stopped before this block', cellId).text;
      } else {
        const args = { code: block.code };
        const refusal = await this._tools.approve({ call_id: callId, tool: 'execute_cell', kind: actionKindOf(block.code), code: block.code, arguments: args });
        if (refusal) {
          text = this._tools.notApproved(callId, cellId, refusal).text;
        } else {
          const run = await this._runner.run(callId, cellId, block.code);
          this._progress(`[turn ${this._step}] block ${index + 1} ${cellId}: ${run.step.status}`);
          images.push(...run.images);
          text = run.step.model_text;
        }
      }
      sections.push(`Result of code block ${index + 1}:\n${text}`);
    }
    this._messages.push({ role: 'user', content: sections.join('\n\n') });
    this._pushImages(images);
    return this._signal?.aborted ? CANCELLED : null;
  }

  private _pushImages(images: ICellRun['images']): void {
    if (images.length) {
      this._messages.push({ role: 'user', content: imageParts(images) });
    }
  }

  private _progress(line: string): void {
    this._options.onProgress?.(line);
  }

  private readonly _runner: CellRunner;
  private readonly _tools: Toolbox;
  private readonly _messages: ChatCompletionMessageParam[];
  private _signal: AbortSignal | undefined;
  private _turn: number;
  private _step: number;
}

function imageParts(images: ICellRun['images']): ChatCompletionContentPart[] {
  return [
    { type: 'text', text: `Images produced by the cells above (${images.length}):` },
    ...images.map(
      (image): ChatCompletionContentPart => ({
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
