import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

import { TurnAssembler } from '../../src/llm/client';

/** A chunk with one choice whose delta is `delta`. */
function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] } as ChatCompletionChunk;
}

function assemble(chunks: ChatCompletionChunk[]): { turn: ReturnType<TurnAssembler['finish']>; repeated: boolean } {
  const assembler = new TurnAssembler();
  chunks.forEach(c => assembler.add(c));
  return { turn: assembler.finish(), repeated: assembler.nameRepeated };
}

describe('TurnAssembler', () => {
  it('takes a function name once when the server repeats it in every delta', () => {
    const head = { index: 0, id: 'call_1', type: 'function' };
    const { turn, repeated } = assemble([
      chunk({ tool_calls: [{ ...head, function: { name: 'final_answer', arguments: '' } }] }),
      chunk({ tool_calls: [{ ...head, function: { name: 'final_answer', arguments: '{"answer":' } }] }),
      chunk({ tool_calls: [{ ...head, function: { name: 'final_answer', arguments: ' "42"}' } }] }),
      chunk({}, 'tool_calls')
    ]);
    expect(turn.toolCalls).toEqual([{ id: 'call_1', name: 'final_answer', arguments: '{"answer": "42"}' }]);
    expect(repeated).toBe(true);
  });

  it('keeps OpenAI streams as they are (no repetition reported)', () => {
    const { turn, repeated } = assemble([
      chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'run_cell', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"cell_id": "x"}' } }] }),
      chunk({}, 'tool_calls')
    ]);
    expect(turn.toolCalls).toEqual([{ id: 'a', name: 'run_cell', arguments: '{"cell_id": "x"}' }]);
    expect(repeated).toBe(false);
  });

  it('tells calls apart by id when deltas carry no index', () => {
    const { turn } = assemble([
      chunk({ tool_calls: [{ id: 'a', type: 'function', function: { name: 'execute_cell', arguments: '{"code":' } }] }),
      chunk({ tool_calls: [{ function: { arguments: ' "1"}' } }] }),
      chunk({ tool_calls: [{ id: 'b', type: 'function', function: { name: 'execute_cell', arguments: '{"code": "2"}' } }] }),
      chunk({}, 'stop')
    ]);
    expect(turn.toolCalls).toEqual([
      { id: 'a', name: 'execute_cell', arguments: '{"code": "1"}' },
      { id: 'b', name: 'execute_cell', arguments: '{"code": "2"}' }
    ]);
    expect(turn.finishReason).toBe('stop');
  });

  it('takes arguments sent as an object, and a call whole in one delta', () => {
    const { turn } = assemble([
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'edit_cell', arguments: { cell_id: 'x', code: 'y = 1' } } }] }),
      chunk({}, 'tool_calls')
    ]);
    expect(JSON.parse(turn.toolCalls[0].arguments)).toEqual({ cell_id: 'x', code: 'y = 1' });
  });

  it('throws when the stream ends without a finish reason (a cut connection)', () => {
    const assembler = new TurnAssembler();
    assembler.add(chunk({ content: 'half' }));
    expect(() => assembler.finish()).toThrow(/no finish_reason/);
  });
});
