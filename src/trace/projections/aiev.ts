/**
 * AIEV-Instruct style (AutoCoder, https://arxiv.org/abs/2405.14906, and its demo dialogs in
 * https://github.com/bin123apple/AutoCoder): plain `{role, content}` turns where the assistant asks for code to be
 * run with fenced blocks (```python, and installs as ```sh `pip install …`), the executed results come back as the
 * next user turn, and the final answer is plain text. Line: `{"id", "messages"}`.
 *
 * This is exactly the agent's fenced mode, so a fenced-mode record is its training dialogue as is. A native-mode
 * record is rewritten into that convention:
 * - the system prompt becomes the fenced one (`SYSTEM_PROMPTS['fenced-v1']`, which describes the blocks);
 * - each turn's calls that ran on the kernel become blocks after the turn's text, with the source that ran
 *   (`run_cell` included); a cell made only of `%pip` / `!` lines becomes a ```sh block (`%pip install x` →
 *   `pip install x`, `!ls` → `ls`), which the agent's fenced parser turns back into the same cell;
 * - the results come back as one user turn of `Result of code block N:\n<model_text>` sections, as in fenced mode;
 * - `final_answer` becomes a plain final turn (the turn's text, then the answer);
 * - calls that ran nothing (`edit_cell`, `read_notebook`, `restart_kernel`, refused calls) have no equivalent: they
 *   and their results are left out, and a turn left with nothing to run is dropped, text included.
 * - consecutive user turns (results, then a message the user sent while the agent worked) are one turn, joined by a
 *   blank line, so the roles alternate as chat templates expect.
 * Known limit: a fence inside the assistant's own text reads as one more execution request.
 */
import { SYSTEM_PROMPTS } from '../../agent/prompts';
import type { ISample } from '../types';
import { fencedResultSection, IChatMessage, IDialogueCall, joinUserRuns, ProjectionError, trainingDialogue } from './dialogue';

/** One AIEV turn. */
export interface IAievMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const PIP_LINE = /^[%!]\s*(?:pip3?|python3? -m pip)\s+(.*)$/;

/** The shell lines of a cell made only of `%pip` / `!cmd` lines; null for any other cell. */
export function shellLinesOf(code: string): string[] | null {
  const lines = code.split('\n').filter(line => line.trim());
  if (!lines.length) {
    return null;
  }
  const shell: string[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    const pip = PIP_LINE.exec(line);
    if (pip) {
      shell.push(`pip ${pip[1]}`);
    } else if (/^![^!]/.test(line)) {
      shell.push(line.slice(1).trim());
    } else {
      return null;
    }
  }
  return shell;
}

/** A fenced block, with a longer fence when the body itself holds three backticks. */
export function fencedBlock(language: string, body: string): string {
  const fence = body.includes('```') ? '````' : '```';
  return `${fence}${language}\n${body.replace(/\s+$/, '')}\n${fence}`;
}

/** The execution request for the source of a cell. */
export function requestBlock(code: string): string {
  const shell = shellLinesOf(code);
  return shell ? fencedBlock('sh', shell.join('\n')) : fencedBlock('python', code);
}

function joinParts(parts: string[]): string {
  return parts.filter(part => part !== '').join('\n\n');
}

/** The turns a native-mode assistant message becomes. */
function nativeTurns(message: IChatMessage): IAievMessage[] {
  const calls = message.calls ?? [];
  if (!calls.length) {
    return [{ role: 'assistant', content: message.content }];
  }
  const turns: IAievMessage[] = [];
  const executed = calls.filter(
    (call): call is IDialogueCall & { code: string } => call.result?.type === 'execution' && call.code !== null
  );
  let text = message.content;
  if (executed.length) {
    turns.push({ role: 'assistant', content: joinParts([text, ...executed.map(call => requestBlock(call.code))]) });
    turns.push({
      role: 'user',
      content: executed.map((call, index) => fencedResultSection(index, call.result?.model_text ?? '')).join('\n\n')
    });
    text = '';
  }
  const final = calls.find(call => call.name === 'final_answer' && typeof call.arguments.answer === 'string');
  if (final) {
    const answer = final.arguments.answer as string;
    turns.push({ role: 'assistant', content: text === answer ? answer : joinParts([text, answer]) });
  }
  return turns;
}

/** The AIEV-Instruct row of a sample, as an object. */
export function aievRow(sample: ISample): Record<string, unknown> {
  const dialogue = trainingDialogue(sample);
  let messages: IAievMessage[];
  if (dialogue.mode === 'fenced') {
    messages = dialogue.messages.map(m => ({ role: m.role as IAievMessage['role'], content: m.content }));
  } else {
    messages = [{ role: 'system', content: SYSTEM_PROMPTS['fenced-v1'] }];
    for (const message of dialogue.messages) {
      if (message.role === 'user') {
        messages.push({ role: 'user', content: message.content });
      } else if (message.role === 'assistant') {
        messages.push(...nativeTurns(message));
      }
    }
  }
  const end = messages.map(m => m.role).lastIndexOf('assistant');
  if (end < 0) {
    throw new ProjectionError(sample.id, 'no assistant turn with code or an answer');
  }
  return { id: sample.id, messages: joinUserRuns(messages.slice(0, end + 1)) };
}
