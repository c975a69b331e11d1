/**
 * Hugging Face TRL / `datasets` conversational format with tool calling
 * (https://huggingface.co/docs/trl/dataset_formats#tool-calling): `{"id", "messages", "tools"}` where assistant
 * tool calls carry `arguments` as objects (what chat templates expect, see
 * https://huggingface.co/docs/transformers/chat_extras), `tool` messages carry `tool_call_id` and the tool `name`,
 * and `tools` is the list of JSON-schema tool definitions the chat template renders.
 *
 * Assistant `content` is always a string (`""` for a turn that only calls tools): templates that concatenate
 * `message.content` fail on a missing key or `None` (huggingface/transformers#45419).
 *
 * Loading: arguments of different tools have different keys (`{code}`, `{cell_id}`, `{answer}`), messages of
 * different roles have different keys, and tool parameter schemas differ. `datasets` ≥ 4 stores such columns as its
 * `Json` feature, and the `json` loader of `datasets` 5 detects them by itself, so
 * `load_dataset("json", data_files=...)` gives back every message and every arguments object exactly (no keys
 * padded with nulls). Older `datasets` merge them into one Arrow struct (every arguments object gets every key,
 * `null` where absent, which templates then render); with those, use the openai projection (arguments as strings).
 * The loader decides from the file's first chunk (10 MB by default): a file whose first chunk holds only
 * fenced-mode rows (plain `{role, content}` messages) and whose later rows call tools fails to load ("Couldn't cast
 * array of type struct<...tool_calls...>"). Such a file loads with explicit features:
 * `features=Features({"id": Value("string"), "messages": List(Json()), "tools": List(Json())})` (the same holds
 * for the openai and hf-jupyter-agent files, with their own columns).
 */
import type { ISample } from '../types';
import { IChatMessage, IDialogue, trainingDialogue } from './dialogue';

/** One message with tool-call arguments as objects (TRL, and the jupyter-agent dataset). */
export function objectArgumentsMessage(message: IChatMessage, dialogue: IDialogue): Record<string, unknown> {
  if (message.role === 'tool') {
    return { role: 'tool', tool_call_id: message.call?.id, name: message.call?.name, content: message.content };
  }
  const calls = dialogue.mode === 'native' ? (message.calls ?? []) : [];
  if (message.role !== 'assistant' || !calls.length) {
    return { role: message.role, content: message.content };
  }
  return {
    role: 'assistant',
    content: message.content,
    tool_calls: calls.map(call => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments }
    }))
  };
}

/** The TRL conversational row of a sample, as an object. */
export function trlRow(sample: ISample): Record<string, unknown> {
  const dialogue = trainingDialogue(sample);
  return {
    id: sample.id,
    messages: dialogue.messages.map(message => objectArgumentsMessage(message, dialogue)),
    tools: sample.tools
  };
}
