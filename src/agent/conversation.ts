/**
 * The model conversation of a record, for continuing a session from its log: the messages the agent sent, as
 * `buildDialogue` rebuilds them from the steps (images to vision models are not kept in records, so a continued
 * conversation lacks them), in the openai SDK's shape.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

import { buildDialogue } from '../trace/projections/dialogue';
import type { IAction, ISample } from '../trace/types';

/** The conversation of `sample` as chat messages, ready to be continued. */
export function conversationOf(sample: ISample): ChatCompletionMessageParam[] {
  const dialogue = buildDialogue(sample);
  return dialogue.messages.map((message): ChatCompletionMessageParam => {
    switch (message.role) {
      case 'system':
      case 'user':
        return { role: message.role, content: message.content };
      case 'tool':
        return { role: 'tool', tool_call_id: message.call?.id ?? '', content: message.content };
      case 'assistant': {
        const calls = dialogue.mode === 'native' ? (message.calls ?? []) : [];
        if (!calls.length) {
          return { role: 'assistant', content: message.content };
        }
        return {
          role: 'assistant',
          content: message.content || null,
          tool_calls: calls.map(call => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.action.raw_arguments ?? JSON.stringify(call.arguments) }
          }))
        };
      }
    }
  });
}

/** The actions of the record's last assistant turn that nothing answered (the log was cut in the middle of it). */
export function unansweredActions(sample: ISample): IAction[] {
  const last = sample.steps.map(step => step.type).lastIndexOf('assistant');
  if (last < 0) {
    return [];
  }
  const answered = new Set(
    sample.steps
      .slice(last + 1)
      .flatMap(step => (step.type === 'execution' || step.type === 'tool_result' ? [step.call_id] : []))
  );
  const turn = sample.steps[last];
  return turn.type === 'assistant' ? turn.actions.filter(action => !answered.has(action.call_id)) : [];
}
