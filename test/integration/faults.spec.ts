import { ChatRequest, lastToolResult } from '../scripted-model/server';
import { executions, runScripted, streamText } from '../helpers/agentHarness';
import { withTestServer } from '../helpers/jupyter';

const call = (name: string, args: object | string) => ({ toolCalls: [{ name, arguments: args }] });
const run = (code: string) => call('execute_cell', { code });
const finish = (answer = 'done') => call('final_answer', { answer });
/** A script step that hands the last tool result to `check`, then runs `next`. */
const after = (check: (result: string) => void, next: object) => (request: ChatRequest) => {
  check(lastToolResult(request));
  return next;
};

describe('faults the agent loop survives', () => {
  const server = withTestServer();

  it('a cell over the time limit is interrupted and the next cell runs in the same live kernel', async () => {
    const result = await runScripted(server(),
      [
        run('kept = 41'),
        run('import time\ntime.sleep(600)'),
        after(text => {
          expect(text).toMatch(/^status: timeout$/m);
          expect(text).toContain('KeyboardInterrupt');
          expect(text).toContain('its state is kept');
        }, run('print(kept + 1)')),
        after(text => expect(text).toMatch(/output:\n42$/), finish())
      ],
      { cellTimeoutMs: 2000 }
    );
    const [, slow, next] = executions(result.sample);
    expect(slow.status).toBe('timeout');
    expect(slow.duration_ms).toBeLessThan(30000);
    expect(next.status).toBe('ok');
    expect(streamText(next)).toBe('42\n');
    expect(result.outcome.reason).toBe('final_answer');
  });

  it('input() does not hang: the kernel is refused stdin and the model is told', async () => {
    const result = await runScripted(server(), [
      run("name = input('Your name? ')"),
      after(text => {
        expect(text).toMatch(/^status: error$/m);
        expect(text).toContain('no interactive input');
      }, finish())
    ]);
    const [asked] = executions(result.sample);
    expect(asked.stdin_requested).toBe(true);
    expect(asked.error?.ename).toBe('StdinNotImplementedError');
  });

  it('kernel death is detected, the kernel comes back, and the model is told its state is gone', async () => {
    const result = await runScripted(server(), [
      run('lost = 1'),
      run('import os\nos._exit(1)'),
      after(text => {
        expect(text).toMatch(/^status: kernel_died$/m);
        expect(text).toContain('state');
      }, run('print(lost)')),
      after(text => expect(text).toContain("NameError: name 'lost' is not defined"), run('print(6 * 7)')),
      after(text => expect(text).toMatch(/output:\n42$/), finish())
    ]);
    const statuses = executions(result.sample).map(e => e.status);
    expect(statuses).toEqual(['ok', 'kernel_died', 'error', 'ok']);
    expect(result.sample.steps.some(s => s.type === 'event' && s.event === 'kernel_died')).toBe(true);
  });

  it('millions of output lines: the model sees a bounded head and tail; the record keeps a capped raw copy', async () => {
    const lines = 2_000_000;
    const result = await runScripted(server(),
      [
        run(`print('\\n'.join(str(i) for i in range(${lines})))`),
        after(text => {
          expect(text.length).toBeLessThan(7000);
          expect(text).toMatch(/cut from the middle/);
          expect(text).toContain('\n0\n1\n2\n');
          expect(text).toContain(`${lines - 1}`);
        }, finish())
      ],
      { modelBudgetChars: 6000 }
    );
    const [big] = executions(result.sample);
    expect(big.status).toBe('ok');
    expect(big.truncated).toBe(true);
    const raw = streamText(big);
    expect(raw.length).toBeLessThanOrEqual(result.sample.outputs_cap_bytes + 200);
    expect(raw.startsWith('0\n1\n2\n')).toBe(true);
    expect(raw.trimEnd().endsWith(`${lines - 1}`)).toBe(true);
    expect(big.model_text.length).toBeLessThan(7000);
  });

  it('malformed tool-call JSON and an unknown tool get error results and the loop goes on', async () => {
    const result = await runScripted(server(), [
      call('execute_cell', '{"code": "print(1)"'),
      after(text => expect(text).toMatch(/^error: the arguments of execute_cell are not valid JSON/), call('fly_to_moon', {})),
      after(text => expect(text).toMatch(/^error: unknown tool 'fly_to_moon'\. Available tools: execute_cell/), call('run_cell', { cell_id: 'nope' })),
      after(text => expect(text).toContain("no cell with id 'nope'"), run('print(1)')),
      after(text => expect(text).toMatch(/output:\n1$/), finish())
    ]);
    expect(result.outcome.reason).toBe('final_answer');
    const assistant = result.sample.steps.filter(s => s.type === 'assistant');
    expect(assistant[0].type === 'assistant' && assistant[0].actions[0].raw_arguments).toBe('{"code": "print(1)"');
    const refused = result.sample.steps.filter(s => s.type === 'tool_result' && s.is_error);
    expect(refused).toHaveLength(3);
    expect(executions(result.sample)).toHaveLength(1);
  });

  it('HTTP 429 and 5xx are retried with backoff and the run goes on', async () => {
    const result = await runScripted(server(), [
      { error: { status: 429, retryAfterMs: 50 } },
      { error: { status: 503 } },
      run('print(7)'),
      finish('7')
    ]);
    expect(result.outcome).toEqual({ reason: 'final_answer', answer: '7' });
    expect(result.requests).toHaveLength(4);
  });

  it('when retries run out the run ends cleanly with a model_error and a complete record', async () => {
    const result = await runScripted(server(),
      [run('x = 1'), { error: { status: 500 } }, { error: { status: 500 } }, { error: { status: 500 } }],
      { maxRetries: 2 }
    );
    expect(result.outcome.reason).toBe('model_error');
    expect(result.outcome.message).toContain('HTTP 500');
    expect(executions(result.sample)).toHaveLength(1);
    expect(result.sample.steps.some(s => s.type === 'event' && s.event === 'model_error')).toBe(true);
  });

  it('a cut stream is retried as a whole turn', async () => {
    const result = await runScripted(server(), [
      { cut: true, content: 'I will print a number now, let me think about it for a while', after: 3 },
      run('print(5)'),
      finish('5')
    ]);
    expect(result.outcome.answer).toBe('5');
    expect(result.sample.steps.some(s => s.type === 'event' && s.event === 'model_retry')).toBe(true);
  });
});
