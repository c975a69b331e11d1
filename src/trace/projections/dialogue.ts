/**
 * The chat dialogue of a record: the one place that knows how `sample.steps` map to messages. Every chat
 * projection starts from `trainingDialogue`.
 *
 * `buildDialogue` rebuilds what the model was sent, turn by turn, as the agent built it (src/agent/agent.ts):
 * - the system prompt `SYSTEM_PROMPTS[source.system_prompt_id]` (the record names the id, not the text; the task's
 *   own `system` text is the fallback for an id this version does not know), then the user turns;
 * - native mode: each assistant turn with its tool calls, then one `tool` message per answered call, in call order,
 *   whose content is exactly the `model_text` of the execution or tool_result step that answered it;
 * - fenced mode: each assistant turn as text, then one user message joining `Result of code block N:\n<model_text>`
 *   sections with blank lines;
 * - a final text-only assistant turn (the answer without a tool call) is part of the dialogue, although the agent
 *   never sends it back.
 * Left out: image messages (the images stay in the record; each execution's `model_text` keeps its
 * `[image/png …]` line), reasoning (the model is never sent it back), events, and result steps whose call id
 * matches no call of their turn.
 *
 * `trainingDialogue` makes that a valid training example: calls whose arguments were not a JSON object
 * (`raw_arguments`) are dropped with their error result (a turn left without calls is dropped whole, text included:
 * a broken call is nothing to learn, and what followed only answered the error), as are calls that got no result
 * before a later turn; empty assistant turns go; the dialogue ends at its last assistant turn (trailing results
 * teach nothing and every format wants the model to speak last). A record whose outcome carries an answer that no
 * turn delivered (a harvested notebook: the markdown after the last cell) gets a final turn with it: a
 * `final_answer` call when the record offers that tool, plain text otherwise. Consecutive user messages (in fenced
 * mode, the results and then a message the user sent while the agent worked) become one, joined by a blank line,
 * as chat fine-tuning formats want the roles to alternate.
 */
import { SYSTEM_PROMPTS } from '../../agent/prompts';
import type { IAction, IExecutionStep, ISample, IToolResultStep } from '../types';

/** A record that cannot become the asked projection (no assistant turn, unknown system prompt, no notebook). */
export class ProjectionError extends Error {
  constructor(
    readonly sampleId: string,
    message: string
  ) {
    super(`sample ${sampleId}: ${message}`);
    this.name = 'ProjectionError';
  }
}

/** One tool call (native mode) or execution request (fenced mode) of an assistant turn, with what answered it. */
export interface IDialogueCall {
  /** The call's id in the dialogue: the model's, or `call_<turn>_<n>` when it sent none. */
  id: string;
  name: string;
  /** Parsed arguments; `{}` when they did not parse (see `action.raw_arguments`). */
  arguments: Record<string, unknown>;
  action: IAction;
  /** The step that answered the call; null when none did (the run ended first, or a synthesized final answer). */
  result: IExecutionStep | IToolResultStep | null;
  /** The source that ran, for calls answered by an execution; null otherwise. */
  code: string | null;
}

/** One chat message. `calls` are tool calls in native mode and execution requests (code blocks) in fenced mode. */
export interface IChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Assistant turns: what the turn asked to run. */
  calls?: IDialogueCall[];
  /** Tool messages: the call answered. */
  call?: IDialogueCall;
}

/** The dialogue of one record. */
export interface IDialogue {
  id: string;
  mode: 'native' | 'fenced';
  messages: IChatMessage[];
}

/** The section of the fenced-mode result turn for block `index` (0-based), as the agent writes it. */
export function fencedResultSection(index: number, modelText: string): string {
  return `Result of code block ${index + 1}:\n${modelText}`;
}

/** The system prompt the model was given. */
export function systemPromptOf(sample: ISample): string {
  const known = (SYSTEM_PROMPTS as Record<string, string>)[sample.source.system_prompt_id];
  const text = known ?? sample.task.system;
  if (text === undefined) {
    throw new ProjectionError(sample.id, `unknown system prompt id ${JSON.stringify(sample.source.system_prompt_id)}`);
  }
  return text;
}

/** The dialogue exactly as the model was sent it (see the module comment for what is left out). */
export function buildDialogue(sample: ISample): IDialogue {
  const system: IChatMessage = { role: 'system', content: systemPromptOf(sample) };
  return { id: sample.id, mode: sample.source.tool_mode, messages: [system, ...turnsOf(sample)] };
}

/**
 * A key for finding duplicate samples: the exact dialogue after the system prompt, without call ids, whitespace
 * runs collapsed. Never throws.
 */
export function dialogueKey(sample: ISample): string {
  const normal = (text: string): string => text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(
    turnsOf(sample).map(m => [m.role, normal(m.content), (m.calls ?? []).map(c => [c.name, c.arguments])])
  );
}

/** Every message after the system prompt. */
function turnsOf(sample: ISample): IChatMessage[] {
  const mode = sample.source.tool_mode;
  const messages: IChatMessage[] = [];
  const cellSources = new Map<string, string>();
  let pending: IDialogueCall[] = [];
  let turn = 0;

  const flush = (): void => {
    if (mode === 'native') {
      for (const call of pending) {
        if (call.result) {
          messages.push({ role: 'tool', content: call.result.model_text, call });
        }
      }
    } else if (pending.length) {
      const sections = pending.flatMap((call, index) =>
        call.result ? [fencedResultSection(index, call.result.model_text)] : []
      );
      messages.push({ role: 'user', content: sections.join('\n\n') });
    }
    pending = [];
  };

  for (const step of sample.steps) {
    switch (step.type) {
      case 'user':
        flush();
        messages.push({ role: 'user', content: step.text });
        break;
      case 'assistant':
        flush();
        turn++;
        pending = step.actions.map((action, index) => ({
          id: action.call_id || `call_${turn}_${index + 1}`,
          name: action.tool,
          arguments: action.arguments ?? {},
          action,
          result: null,
          code: null
        }));
        messages.push({ role: 'assistant', content: step.text, calls: pending });
        break;
      case 'execution':
      case 'tool_result': {
        const call = pending.find(c => c.action.call_id === step.call_id && !c.result);
        if (!call) {
          break;
        }
        call.result = step;
        if (step.type === 'execution') {
          call.code = step.code ?? call.action.code ?? cellSources.get(step.cell_id) ?? null;
          if (call.code !== null) {
            cellSources.set(step.cell_id, call.code);
          }
        } else if (call.name === 'edit_cell' && !step.is_error && step.cell_id) {
          const edited = call.arguments.code;
          if (typeof edited === 'string') {
            cellSources.set(step.cell_id, edited);
          }
        }
        break;
      }
      case 'event':
        break;
    }
  }
  flush();
  return messages;
}

/** The index of the message holding the recorded call `callId` (its `action.call_id`); -1 when none does. */
export function messageIndexOfCall(dialogue: IDialogue, callId: string): number {
  return dialogue.messages.findIndex(m => m.role === 'assistant' && (m.calls ?? []).some(c => c.action.call_id === callId));
}

/** Whether a call's arguments were not a JSON object when the model sent them. */
export function isMalformed(call: IDialogueCall): boolean {
  return call.action.raw_arguments !== undefined;
}

/** The dialogue as a training example (see the module comment); throws `ProjectionError` without an assistant turn. */
export function trainingDialogue(sample: ISample): IDialogue {
  const dialogue = buildDialogue(sample);
  appendUndeliveredAnswer(sample, dialogue);
  const lastAssistant = dialogue.messages.map(m => m.role).lastIndexOf('assistant');
  const dropped = new Set<IDialogueCall>();
  const kept: IChatMessage[] = [];
  dialogue.messages.forEach((message, index) => {
    if (message.role === 'tool') {
      if (!dropped.has(message.call as IDialogueCall)) {
        kept.push(message);
      }
      return;
    }
    if (message.role !== 'assistant') {
      kept.push(message);
      return;
    }
    const calls = message.calls ?? [];
    const usable =
      dialogue.mode === 'fenced'
        ? calls
        : calls.filter(call => !isMalformed(call) && (call.result !== null || index === lastAssistant));
    calls.filter(call => !usable.includes(call)).forEach(call => dropped.add(call));
    if ((calls.length && !usable.length) || (!usable.length && !message.content)) {
      return;
    }
    kept.push({ ...message, calls: usable });
  });
  const end = kept.map(m => m.role).lastIndexOf('assistant');
  if (end < 0) {
    throw new ProjectionError(sample.id, 'no assistant turn to learn from');
  }
  return { ...dialogue, messages: joinUserRuns(kept.slice(0, end + 1)) };
}

/** Consecutive user messages as one, joined by a blank line (for any `{role, content}` messages). */
export function joinUserRuns<T extends { role: string; content: string }>(messages: T[]): T[] {
  const out: T[] = [];
  for (const message of messages) {
    const last = out[out.length - 1];
    if (message.role === 'user' && last?.role === 'user') {
      out[out.length - 1] = { role: 'user', content: [last.content, message.content].filter(Boolean).join('\n\n') } as T;
    } else {
      out.push(message);
    }
  }
  return out;
}

/** Appends the outcome's answer as a final turn when no turn of the record delivered it. */
function appendUndeliveredAnswer(sample: ISample, dialogue: IDialogue): void {
  const answer = sample.outcome?.reason === 'final_answer' ? sample.outcome.answer : undefined;
  if (!answer) {
    return;
  }
  const last = [...dialogue.messages].reverse().find(m => m.role === 'assistant');
  const delivered =
    last !== undefined && (!(last.calls ?? []).length || (last.calls ?? []).some(c => c.name === 'final_answer'));
  if (delivered) {
    return;
  }
  const offersFinalAnswer = dialogue.mode === 'native' && sample.tools.some(t => t.function.name === 'final_answer');
  if (!offersFinalAnswer) {
    dialogue.messages.push({ role: 'assistant', content: answer, calls: [] });
    return;
  }
  const id = 'call_final_answer';
  const action: IAction = {
    call_id: id,
    tool: 'final_answer',
    kind: 'final_answer',
    cell_id: null,
    arguments: { answer },
    answer
  };
  const call: IDialogueCall = { id, name: 'final_answer', arguments: { answer }, action, result: null, code: null };
  dialogue.messages.push({ role: 'assistant', content: '', calls: [call] });
}
