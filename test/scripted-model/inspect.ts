/**
 * Helpers for turn functions and assertions: what the model "saw" in a chat.completions request.
 */
import type { ChatCompletionMessageParam, ChatCompletionToolMessageParam } from 'openai/resources/chat/completions';

import { ChatRequest } from './types';

/** A message's content as plain text: a string as is, text parts joined, anything else ''. */
export function messageText(message: ChatCompletionMessageParam): string {
  const content = message.content;
  if (typeof content === 'string') {
    return content;
  }
  if (!Array.isArray(content)) {
    return '';
  }
  return content.map(part => (part.type === 'text' ? part.text : '')).join('');
}

/** The request's `tool` messages, in order. */
export function toolMessages(request: ChatRequest): ChatCompletionToolMessageParam[] {
  return (request.messages ?? []).filter((m): m is ChatCompletionToolMessageParam => m.role === 'tool');
}

/** Text of the last tool message (the newest tool result); throws when there is none. */
export function lastToolResult(request: ChatRequest): string {
  const tools = toolMessages(request);
  if (!tools.length) {
    throw new Error('scripted model: the request has no tool message');
  }
  return messageText(tools[tools.length - 1]);
}

/** Text of the tool message answering `toolCallId`; throws when there is none. */
export function toolResultFor(request: ChatRequest, toolCallId: string): string {
  const message = toolMessages(request).find(m => m.tool_call_id === toolCallId);
  if (!message) {
    throw new Error(`scripted model: no tool message answers ${toolCallId}`);
  }
  return messageText(message);
}

/** Text of the last message with `role` (e.g. 'user', 'system'); throws when there is none. */
export function lastMessageText(request: ChatRequest, role: ChatCompletionMessageParam['role']): string {
  const messages = (request.messages ?? []).filter(m => m.role === role);
  if (!messages.length) {
    throw new Error(`scripted model: the request has no ${role} message`);
  }
  return messageText(messages[messages.length - 1]);
}
