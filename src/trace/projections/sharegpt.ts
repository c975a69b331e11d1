/**
 * ShareGPT as LLaMA-Factory reads it (https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md, "Sharegpt
 * Format"): `{"id", "conversations": [{"from", "value"}], "system", "tools"}`, to be declared in `dataset_info.json`
 * with `"formatting": "sharegpt"` and columns `messages: conversations`, `system: system`, `tools: tools` (the `id`
 * column is not mapped, so LLaMA-Factory drops it).
 *
 * - `human` / `observation` sit at odd positions (1st, 3rd…), `gpt` / `function_call` at even ones, and the
 *   conversation ends with the model: LLaMA-Factory's converter skips any example that breaks this.
 * - `function_call` values are JSON: `{"name", "arguments"}` with `arguments` an object (LLaMA-Factory's
 *   FunctionFormatter re-serialises it), or a JSON list of those for a turn with several calls (parallel calls).
 * - One turn's tool results become one `observation`, joined by `\n</tool_response>\n<tool_response>\n`, the way
 *   LLaMA-Factory's own OpenAI-format converter merges consecutive tool messages.
 * - The text of an assistant turn that calls tools is not kept: a `function_call` holds only the calls
 *   (LLaMA-Factory's OpenAI-format converter does the same).
 * - Sessions with several user turns: the result of a `final_answer` call ("Final answer recorded.") is left out,
 *   so the human's next message follows the call; a human message the agent got right after tool results (sent
 *   while it worked) has no place of its own in the alternation and is appended to that observation after a
 *   blank line, as `User: <text>`.
 * - `tools` is a JSON string of the function definitions (`[{name, description, parameters}]`, as in its
 *   glaive_toolcall demo), `""` when the record offered none; fenced-mode records are plain `human` / `gpt`.
 */
import type { ISample } from '../types';
import { IDialogueCall, ProjectionError, trainingDialogue } from './dialogue';

/** Separator of several tool results in one observation (LLaMA-Factory's convention). */
export const OBSERVATION_SEPARATOR = '\n</tool_response>\n<tool_response>\n';

/** One ShareGPT turn. */
export interface IShareGptTurn {
  from: 'human' | 'gpt' | 'function_call' | 'observation';
  value: string;
}

function functionCallValue(calls: IDialogueCall[]): string {
  const entries = calls.map(call => ({ name: call.name, arguments: call.arguments }));
  return JSON.stringify(entries.length === 1 ? entries[0] : entries);
}

/** The ShareGPT row of a sample, as an object; throws `ProjectionError` if the turns cannot alternate. */
export function sharegptRow(sample: ISample): Record<string, unknown> {
  const dialogue = trainingDialogue(sample);
  const conversations: IShareGptTurn[] = [];
  let results: string[] = [];
  const flushResults = (): void => {
    if (results.length) {
      conversations.push({ from: 'observation', value: results.join(OBSERVATION_SEPARATOR) });
      results = [];
    }
  };
  let system = '';
  for (const message of dialogue.messages) {
    if (message.role === 'tool') {
      if (message.call?.name !== 'final_answer') {
        results.push(message.content);
      }
      continue;
    }
    flushResults();
    const calls = dialogue.mode === 'native' ? (message.calls ?? []) : [];
    const last = conversations[conversations.length - 1];
    if (message.role === 'system') {
      system = message.content;
    } else if (message.role === 'user' && last?.from === 'observation') {
      last.value += `\n\nUser: ${message.content}`;
    } else if (message.role === 'user') {
      conversations.push({ from: 'human', value: message.content });
    } else if (calls.length) {
      conversations.push({ from: 'function_call', value: functionCallValue(calls) });
    } else {
      conversations.push({ from: 'gpt', value: message.content });
    }
  }
  flushResults();
  conversations.forEach((turn, index) => {
    const modelTurn = turn.from === 'gpt' || turn.from === 'function_call';
    if (modelTurn !== (index % 2 === 1)) {
      const where = `sharegpt turn ${index + 1} (${turn.from})`;
      throw new ProjectionError(sample.id, `${where} breaks the human/model alternation`);
    }
  });
  if (conversations.length % 2 !== 0) {
    throw new ProjectionError(sample.id, 'sharegpt conversation does not end with the model');
  }
  return {
    id: sample.id,
    conversations,
    system,
    tools: sample.tools.length ? JSON.stringify(sample.tools.map(tool => tool.function)) : ''
  };
}
