/**
 * Preference pairs from the user's decisions, for DPO-style training: TRL's conversational preference format with
 * an explicit prompt (https://huggingface.co/docs/trl/dataset_formats#preference). One line per pair, a record
 * giving none or several: `{"id": "<sample id>#<n>", "sample_id", "prompt", "chosen", "rejected", "tools",
 * "source"}`, where `prompt` is the training dialogue (`trainingDialogue`, so scrubbing and shaping are those of the
 * other formats) before the rejected assistant turn, and `chosen` / `rejected` are one assistant message each, tool
 * calls with arguments as objects (as in ./trl.ts). Both completions follow the same prompt, as DPO needs.
 *
 * A pair comes from
 * - `source: "review"`: a `review` event that rejected an agent's cell with the user's own source (`replacement`):
 *   rejected is the assistant turn that made the call, chosen the same turn with that call's `code` argument (in
 *   fenced mode: the code block in the text) replaced by the user's source;
 * - `source: "approval"`: an `approval` event that rejected a call before it ran, and the agent's next attempt in
 *   the same user turn: the next assistant turn with a code call (execute_cell, run_cell, edit_cell) that the user
 *   allowed (or that ran without asking). When that attempt was itself rejected in review, or the run was stopped,
 *   or the user spoke again first, there is no pair: a later turn answers more than the rejection.
 * Left out: accepted reviews, rejections without a replacement (nothing says what the user wanted), a replacement
 * equal to the agent's code, a retry the same as the rejected turn, and calls `trainingDialogue` drops (malformed arguments, no result). The user's
 * rejection reason is not a message of its own: in an approval pair it is in neither completion (the chosen turn
 * was written after reading it, which the prompt does not show).
 *
 * Loading: `datasets.load_dataset("json", data_files=..., split="train")`; as for ./trl.ts, messages and tool
 * arguments of different shapes need `datasets` 5 (its `Json` feature), or explicit features
 * (`prompt`, `chosen`, `rejected`, `tools`: `List(Json())`). DPOTrainer takes the rows as they are (an explicit
 * `prompt`, conversational, `tools` passed to the chat template); drop `id`, `sample_id` and `source` or keep them,
 * it ignores extra columns.
 */
import type { IReviewDetail, ISample } from '../types';
import { IChatMessage, IDialogue, IDialogueCall, messageIndexOfCall, trainingDialogue } from './dialogue';
import { objectArgumentsMessage } from './trl';

/** The tools whose calls put code in a cell. */
const CODE_TOOLS = ['execute_cell', 'run_cell', 'edit_cell'];

/** What a pair is made of: the rejected turn's index in the dialogue and the chosen message. */
interface IPair {
  at: number;
  chosen: IChatMessage;
  source: 'review' | 'approval';
}

/** Every preference row of a sample, as objects (none when the record holds no pair). */
export function preferenceRows(sample: ISample): Record<string, unknown>[] {
  const reviews = lastDetailByCall(sample, 'review') as Map<string, IReviewDetail>;
  const approvals = lastDetailByCall(sample, 'approval');
  const replaced = [...reviews.values()].filter(r => r.decision === 'rejected' && typeof r.replacement === 'string');
  const refused = [...approvals.values()].some(a => a.decision === 'reject');
  if (!replaced.length && !refused) {
    return [];
  }
  const dialogue = trainingDialogue(sample);
  const pairs = [...reviewPairs(dialogue, replaced), ...approvalPairs(sample, dialogue, approvals, reviews)];
  pairs.sort((a, b) => a.at - b.at);
  const render = (message: IChatMessage) => objectArgumentsMessage(message, dialogue);
  return pairs.map((pair, index) => ({
    id: `${sample.id}#${index + 1}`,
    sample_id: sample.id,
    prompt: dialogue.messages.slice(0, pair.at).map(render),
    chosen: [render(pair.chosen)],
    rejected: [render(dialogue.messages[pair.at])],
    tools: sample.tools,
    source: pair.source
  }));
}

/** The detail of the last `event` step of each call (a later decision on the same call replaces an earlier one). */
function lastDetailByCall(sample: ISample, event: 'review' | 'approval'): Map<string, Record<string, any>> {
  const details = new Map<string, Record<string, any>>();
  for (const step of sample.steps) {
    if (step.type === 'event' && step.event === event && typeof step.detail.call_id === 'string') {
      details.set(step.detail.call_id as string, step.detail);
    }
  }
  return details;
}

/** A rejected agent edit against the same turn with the user's source. */
function reviewPairs(dialogue: IDialogue, rejected: IReviewDetail[]): IPair[] {
  return rejected.flatMap(review => {
    const at = messageIndexOfCall(dialogue, review.call_id);
    const message = dialogue.messages[at];
    const call = message?.calls?.find(c => c.action.call_id === review.call_id);
    const chosen = call && withCode(dialogue, message, call, review.replacement as string);
    return chosen ? [{ at, chosen, source: 'review' as const }] : [];
  });
}

/** `message` with `call`'s code replaced by `code`; null when the call has no code there or it is the same. */
function withCode(dialogue: IDialogue, message: IChatMessage, call: IDialogueCall, code: string): IChatMessage | null {
  const own = dialogue.mode === 'native' ? call.arguments.code : call.action.code;
  if (typeof own !== 'string' || own === code) {
    return null;
  }
  if (dialogue.mode === 'native') {
    const calls = (message.calls ?? []).map(c => (c === call ? { ...c, arguments: { ...c.arguments, code } } : c));
    return { ...message, calls };
  }
  const start = message.content.indexOf(own);
  if (start < 0) {
    return null;
  }
  return { ...message, content: message.content.slice(0, start) + code + message.content.slice(start + own.length) };
}

/** A call rejected before it ran against the agent's next attempt that the user let run. */
function approvalPairs(
  sample: ISample,
  dialogue: IDialogue,
  approvals: Map<string, Record<string, any>>,
  reviews: Map<string, IReviewDetail>
): IPair[] {
  const turnOf = userTurnOfCalls(sample);
  const codeCalls = (message: IChatMessage) =>
    message.role === 'assistant' ? (message.calls ?? []).filter(c => CODE_TOOLS.includes(c.name)) : [];
  const decided = (message: IChatMessage, decision: string) =>
    codeCalls(message).some(c => approvals.get(c.action.call_id)?.decision === decision);
  const pairs: IPair[] = [];
  dialogue.messages.forEach((message, at) => {
    if (!decided(message, 'reject')) {
      return;
    }
    const turn = turnOf.get(codeCalls(message)[0].action.call_id);
    for (const next of dialogue.messages.slice(at + 1)) {
      const calls = codeCalls(next);
      if (!calls.length || decided(next, 'reject')) {
        continue;
      }
      const accepted =
        turnOf.get(calls[0].action.call_id) === turn &&
        !decided(next, 'cancelled') &&
        !calls.some(c => reviews.get(c.action.call_id)?.decision === 'rejected');
      if (accepted && !sameTurn(message, next)) {
        pairs.push({ at, chosen: next, source: 'approval' });
      }
      break;
    }
  });
  return pairs;
}

/** Whether two assistant turns say and call the same (call ids aside). */
function sameTurn(a: IChatMessage, b: IChatMessage): boolean {
  const key = (m: IChatMessage) => JSON.stringify([m.content, (m.calls ?? []).map(c => [c.name, c.arguments])]);
  return key(a) === key(b);
}

/** The user turn (1-based) of each recorded call. */
function userTurnOfCalls(sample: ISample): Map<string, number> {
  const turns = new Map<string, number>();
  let turn = 0;
  for (const step of sample.steps) {
    if (step.type === 'user') {
      turn++;
    } else if (step.type === 'assistant') {
      step.actions.forEach(action => turns.set(action.call_id, turn));
    }
  }
  return turns;
}
