/**
 * What both projection suites check: OpenAI's chat fine-tuning rules, and, per format, the dialogue read back from
 * a projected line in one normal form, to compare with what `trainingDialogue` says of the record.
 */
import { parseFencedBlocks } from '../../src/agent/fenced';
import { SYSTEM_PROMPTS } from '../../src/agent/prompts';
import { trainingDialogue } from '../../src/trace/projections';
import { OBSERVATION_SEPARATOR } from '../../src/trace/projections/sharegpt';
import type { ISample } from '../../src/trace/types';

/** Every breach of OpenAI's chat fine-tuning rules in one example (empty when valid). */
export function openaiExampleErrors(example: any): string[] {
  const errors: string[] = [];
  const fail = (message: string): number => errors.push(message);
  if (!example || typeof example !== 'object' || Array.isArray(example)) {
    return ['example is not an object'];
  }
  Object.keys(example)
    .filter(key => !['messages', 'tools', 'parallel_tool_calls'].includes(key))
    .forEach(key => fail(`unknown top-level key ${key}`));
  const messages = example.messages;
  if (!Array.isArray(messages) || !messages.length) {
    return [...errors, 'messages missing or empty'];
  }
  const allowed: Record<string, string[]> = {
    system: ['role', 'content', 'name'],
    user: ['role', 'content', 'name'],
    assistant: ['role', 'content', 'tool_calls', 'weight', 'name'],
    tool: ['role', 'content', 'tool_call_id']
  };
  let open: string[] = [];
  let previous = '';
  messages.forEach((m: any, i: number) => {
    const where = `message ${i} (${m?.role})`;
    if (!allowed[m?.role]) {
      fail(`${where}: unknown role`);
      return;
    }
    Object.keys(m)
      .filter(key => !allowed[m.role].includes(key))
      .forEach(key => fail(`${where}: unknown key ${key}`));
    if (m.role === 'system' && i !== 0) {
      fail(`${where}: system message not first`);
    }
    if (m.role !== 'assistant' && (typeof m.content !== 'string' || (m.role !== 'tool' && !m.content))) {
      fail(`${where}: content must be a non-empty string`);
    }
    if (m.role === 'tool') {
      if (!open.includes(m.tool_call_id)) {
        fail(`${where}: answers no open tool call (${m.tool_call_id})`);
      }
      open = open.filter(id => id !== m.tool_call_id);
    } else {
      if (open.length) {
        fail(`${where}: tool calls ${open.join(', ')} unanswered before it`);
      }
      open = [];
    }
    const order: Record<string, string[]> = {
      system: [''],
      user: ['', 'system', 'assistant', 'tool'],
      assistant: ['user', 'tool'],
      tool: ['assistant', 'tool']
    };
    if (!order[m.role].includes(previous)) {
      fail(`${where}: may not follow ${previous || 'the start'}`);
    }
    if (m.role === 'assistant') {
      const calls = m.tool_calls ?? [];
      if (m.content !== undefined && typeof m.content !== 'string') {
        fail(`${where}: content must be a string`);
      }
      if (!calls.length && !m.content) {
        fail(`${where}: neither content nor tool calls`);
      }
      if (m.weight !== undefined && m.weight !== 0 && m.weight !== 1) {
        fail(`${where}: weight must be 0 or 1`);
      }
      for (const c of calls) {
        if (!c.id || typeof c.id !== 'string' || c.type !== 'function' || !c.function?.name) {
          fail(`${where}: malformed tool call ${JSON.stringify(c)}`);
        }
        let args: unknown;
        try {
          args = JSON.parse(c.function?.arguments);
        } catch {
          fail(`${where}: arguments of ${c.function?.name} are not JSON`);
        }
        if (typeof c.function?.arguments !== 'string' || !args || typeof args !== 'object' || Array.isArray(args)) {
          fail(`${where}: arguments of ${c.function?.name} are not a JSON object string`);
        }
      }
      open = calls.map((c: any) => c.id);
      if (new Set(open).size !== open.length) {
        fail(`${where}: duplicate tool call ids`);
      }
    }
    previous = m.role;
  });
  if (!messages.some((m: any) => m.role === 'assistant')) {
    fail('no assistant message');
  }
  if (messages[messages.length - 1]?.role !== 'assistant') {
    fail('last message is not from the assistant');
  }
  for (const tool of example.tools ?? []) {
    const fn = tool?.function;
    if (tool?.type !== 'function' || typeof fn?.name !== 'string' || typeof fn?.parameters !== 'object') {
      fail(`malformed tool ${JSON.stringify(tool)}`);
    }
  }
  return errors;
}

/** A message in the normal form the round-trip tests compare. */
export interface INormalMessage {
  role: string;
  content: string;
  calls?: { id?: string; name: string; arguments: Record<string, unknown> }[];
  callId?: string;
}

/** The training dialogue of a record in normal form; `withIds: false` for formats that keep no call ids. */
export function expectedDialogue(
  sample: ISample,
  options: { withIds?: boolean; callText?: boolean } = {}
): INormalMessage[] {
  const { withIds = true, callText = true } = options;
  const dialogue = trainingDialogue(sample);
  return dialogue.messages.map(m => {
    const calls = dialogue.mode === 'native' && m.role === 'assistant' ? (m.calls ?? []) : [];
    const out: INormalMessage = { role: m.role, content: calls.length && !callText ? '' : m.content };
    if (calls.length) {
      out.calls = calls.map(c => ({ ...(withIds ? { id: c.id } : {}), name: c.name, arguments: c.arguments }));
    }
    if (m.role === 'tool' && withIds) {
      out.callId = m.call?.id;
    }
    return out;
  });
}

/** The dialogue of an openai, trl or hf-jupyter-agent line (arguments as JSON strings or objects). */
export function recoverChat(row: any): INormalMessage[] {
  return row.messages.map((m: any) => {
    const out: INormalMessage = { role: m.role, content: m.content ?? '' };
    if (m.tool_calls?.length) {
      out.calls = m.tool_calls.map((c: any) => ({
        id: c.id,
        name: c.function.name,
        arguments: typeof c.function.arguments === 'string' ? JSON.parse(c.function.arguments) : c.function.arguments
      }));
    }
    if (m.role === 'tool') {
      out.callId = m.tool_call_id;
    }
    return out;
  });
}

/** The dialogue of a sharegpt line (no call ids; a tool-calling turn has no text). */
export function recoverShareGpt(row: any): INormalMessage[] {
  const messages: INormalMessage[] = [{ role: 'system', content: row.system }];
  for (const turn of row.conversations) {
    if (turn.from === 'human') {
      messages.push({ role: 'user', content: turn.value });
    } else if (turn.from === 'gpt') {
      messages.push({ role: 'assistant', content: turn.value });
    } else if (turn.from === 'function_call') {
      const parsed = JSON.parse(turn.value);
      const entries = Array.isArray(parsed) ? parsed : [parsed];
      const calls = entries.map((c: any) => ({ name: c.name, arguments: c.arguments }));
      messages.push({ role: 'assistant', content: '', calls });
    } else {
      turn.value.split(OBSERVATION_SEPARATOR).forEach((content: string) => messages.push({ role: 'tool', content }));
    }
  }
  return messages;
}

/** One execution round of an AIEV dialogue: the code the assistant asked to run and the results it got. */
export interface IAievRound {
  text: string;
  code: string[];
  results: string[];
}

/** The rounds and final answer of an aiev line, read back with the agent's own fenced-block parser. */
export function recoverAiev(row: any): { system: string; prompt: string; rounds: IAievRound[]; final: string } {
  const [system, prompt, ...rest] = row.messages;
  const rounds: IAievRound[] = [];
  for (let i = 0; i + 1 < rest.length; i += 2) {
    const sections = rest[i + 1].content.split(/^Result of code block \d+:\n/m).slice(1);
    rounds.push({
      text: rest[i].content,
      code: parseFencedBlocks(rest[i].content).map(b => b.code),
      results: sections.map((s: string, k: number) => (k < sections.length - 1 ? s.replace(/\n\n$/, '') : s))
    });
  }
  return { system: system.content, prompt: prompt.content, rounds, final: rest[rest.length - 1].content };
}

/** What `recoverAiev` should read from the projection of a native record. */
export function expectedAiev(sample: ISample): {
  system: string;
  prompt: string;
  rounds: Omit<IAievRound, 'text'>[];
  final: string;
} {
  const dialogue = trainingDialogue(sample);
  const rounds = dialogue.messages
    .filter(m => m.role === 'assistant')
    .map(m => (m.calls ?? []).filter(c => c.result?.type === 'execution'))
    .filter(executed => executed.length)
    .map(executed => ({
      code: executed.map(c => (c.code as string).replace(/\s+$/, '')),
      results: executed.map(c => c.result?.model_text as string)
    }));
  const answer = sample.outcome?.answer ?? '';
  return { system: SYSTEM_PROMPTS['fenced-v1'], prompt: sample.task.prompt, rounds, final: answer };
}
