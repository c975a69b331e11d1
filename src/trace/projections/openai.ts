/**
 * OpenAI chat fine-tuning JSONL (https://platform.openai.com/docs/guides/fine-tuning): one
 * `{"messages": [...], "tools": [...]}` line per sample. Assistant tool calls are
 * `{id, type: "function", function: {name, arguments}}` with `arguments` a JSON string; each answer is a `tool`
 * message with `tool_call_id`. An assistant turn that only calls tools has no `content` key, as in OpenAI's
 * function-calling fine-tuning example. `tools` is left out when the record offered none (fenced mode).
 *
 * No sample id in the line: a training example (`FineTuneChatRequestInput` in OpenAI's OpenAPI spec) has only
 * `messages`, `tools`, `parallel_tool_calls` and the deprecated `functions`, and OpenAI's file check fails jobs on
 * examples with keys it does not expect ("Example N contains an extra …", community.openai.com/t/966285). Lines
 * come out in the order the samples go in: whoever writes the file keeps the ids beside it, one per line (e.g.
 * `<file>.ids`), to join back.
 *
 * Malformed calls never reach the line (see `trainingDialogue`), so every `arguments` string parses to an object.
 */
import type { ISample } from '../types';
import { IChatMessage, IDialogue, trainingDialogue } from './dialogue';

/** One OpenAI chat message. */
function openaiMessage(message: IChatMessage, dialogue: IDialogue): Record<string, unknown> {
  if (message.role === 'tool') {
    return { role: 'tool', tool_call_id: message.call?.id, content: message.content };
  }
  const calls = dialogue.mode === 'native' ? (message.calls ?? []) : [];
  if (message.role !== 'assistant' || !calls.length) {
    return { role: message.role, content: message.content };
  }
  return {
    role: 'assistant',
    ...(message.content ? { content: message.content } : {}),
    tool_calls: calls.map(call => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: JSON.stringify(call.arguments) }
    }))
  };
}

/** The OpenAI fine-tuning example of a sample, as an object. */
export function openaiExample(sample: ISample): Record<string, unknown> {
  const dialogue = trainingDialogue(sample);
  return {
    messages: dialogue.messages.map(message => openaiMessage(message, dialogue)),
    ...(sample.tools.length ? { tools: sample.tools } : {})
  };
}
