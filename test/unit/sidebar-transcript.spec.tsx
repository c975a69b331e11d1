import * as React from 'react';
import { act } from 'react';

import { TranscriptEntry } from '../../src/ui/cards';
import { buildTranscript, IActionCard, IDLE, sessionCounts, TranscriptItem } from '../../src/ui/transcript';
import { ENTRIES_PER_FRAME, TranscriptView } from '../../src/ui/transcriptView';
import { action, assistant, execution, makeRendermime, PNG, render, sessionSteps, settle, trans } from '../helpers/sidebarFixtures';

const cards = (items: TranscriptItem[]) => items.filter((item): item is IActionCard => item.kind === 'action');

describe('buildTranscript', () => {
  it('joins each action with the execution that answered it, in order, and turns final_answer into the answer', () => {
    const items = buildTranscript(sessionSteps(), IDLE, trans);
    expect(items.map(item => item.kind)).toEqual(['user', 'assistant', 'action', 'action', 'action', 'answer']);
    const [failed, install, plot] = cards(items);
    expect(failed).toMatchObject({ state: 'error', cellId: 'cell-c1' });
    expect(failed.execution?.error?.ename).toBe('ModuleNotFoundError');
    expect(install.state).toBe('ok');
    expect(plot.execution?.outputs).toHaveLength(1);
    expect(items[5]).toMatchObject({ kind: 'answer', text: 'The value is 42.' });
  });

  it('marks the first unanswered call of the running turn running, later ones waiting, and none once the run ended', () => {
    const steps = [
      { type: 'user' as const, text: 'go', time: '' },
      assistant([action('a', 'slow()'), action('b', 'after()')])
    ];
    const running = cards(buildTranscript(steps, { ...IDLE, busy: true }, trans));
    expect(running.map(card => card.state)).toEqual(['running', 'waiting']);
    const stopped = cards(buildTranscript(steps, IDLE, trans));
    expect(stopped.map(card => card.state)).toEqual(['not_run', 'not_run']);
    const half = cards(buildTranscript([...steps, execution('a', 'slow()', { status: 'interrupted' })], { ...IDLE, busy: true }, trans));
    expect(half.map(card => card.state)).toEqual(['interrupted', 'running']);
    const asking = cards(buildTranscript(steps, { ...IDLE, busy: true, awaitingApproval: 'a' }, trans));
    expect(asking.map(card => card.state)).toEqual(['awaiting_approval', 'waiting']);
  });

  it('shows tool results of calls that ran nothing, refused calls, and the events a user needs', () => {
    const steps = [
      assistant([
        { call_id: 'r', tool: 'read_notebook', kind: 'notebook', cell_id: null, arguments: {} },
        { call_id: 'x', tool: 'nope', kind: 'notebook', cell_id: null, arguments: {} }
      ]),
      { type: 'tool_result' as const, call_id: 'r', cell_id: null, model_text: 'cells: 0', is_error: false, time: '' },
      { type: 'event' as const, event: 'tool_error' as const, time: '', detail: {} },
      { type: 'tool_result' as const, call_id: 'x', cell_id: null, model_text: "error: unknown tool 'nope'", is_error: true, time: '' },
      { type: 'event' as const, event: 'kernel_died' as const, time: '', detail: {} },
      { type: 'event' as const, event: 'silent_execution' as const, time: '', detail: {} },
      { type: 'event' as const, event: 'model_error' as const, time: '', detail: { message: 'model endpoint answered HTTP 401: 401 bad key', status: 401 } }
    ];
    const items = buildTranscript(steps, IDLE, trans);
    expect(cards(items).map(card => card.state)).toEqual(['done', 'refused']);
    const notices = items.flatMap(item => (item.kind === 'notice' ? [item.notice] : []));
    expect(notices.map(n => n.level)).toEqual(['warning', 'error']);
    expect(notices[1].text).toBe(
      'The model endpoint rejected the API key (HTTP 401): bad key. Check the key the Jupyter server reads from OPENAI_API_KEY.'
    );
  });

  it('ends with the streamed text in flight and the queued messages; places notices where they happened', () => {
    const steps = [{ type: 'user' as const, text: 'one', time: '' }, assistant([], 'done')];
    const items = buildTranscript(
      steps,
      {
        busy: true,
        streaming: { text: 'Thinking ab', reasoning: '' },
        queued: ['and also this'],
        notices: [{ at: 1, notice: { level: 'info', text: 'Stopped.' } }]
      },
      trans
    );
    expect(items.map(item => [item.kind, 'text' in item ? item.text : ''])).toEqual([
      ['user', 'one'],
      ['notice', ''],
      ['assistant', 'done'],
      ['assistant', 'Thinking ab'],
      ['user', 'and also this']
    ]);
    expect(items[3]).toMatchObject({ streaming: true });
    expect(items[4]).toMatchObject({ queued: true });
  });

  it('counts model turns and sums tokens in and out', () => {
    expect(sessionCounts(sessionSteps())).toEqual({ turns: 4, tokensIn: 400, tokensOut: 40 });
  });
});

describe('transcript entries', () => {
  const rendermime = makeRendermime();

  it('an execution card shows code, status, execution count, what the model saw, the plot, and links to its cell', async () => {
    const items = buildTranscript(sessionSteps(), IDLE, trans);
    const revealed: [string | null, string][] = [];
    const view = render(
      <div>
        {items.map(item => (
          <TranscriptEntry key={item.key} item={item} rendermime={rendermime} trans={trans} onRevealCell={(c, k) => revealed.push([c, k])} />
        ))}
      </div>
    );
    await settle();
    const sections = Array.from(view.container.querySelectorAll<HTMLElement>('.jp-aiev-Card'));
    expect(sections.map(s => s.getAttribute('aria-label'))).toEqual(['execute_cell (error)', 'execute_cell (ok)', 'execute_cell (ok)']);
    const [failed, install, plot] = sections;
    expect(failed.querySelector('.jp-aiev-Card-code')?.textContent).toBe('import tabulate');
    expect(failed.querySelector('.jp-aiev-Card-count')?.textContent).toBe('[1]');
    expect(failed.querySelector('.jp-aiev-Card-error')?.textContent).toBe("ModuleNotFoundError: No module named 'tabulate'");
    expect(failed.querySelector('.jp-aiev-Card-result pre')?.textContent).toContain("No module named 'tabulate'");
    expect(install.querySelector('.jp-aiev-Card-install')?.textContent).toBe('installed: tabulate==0.9.0');
    const img = plot.querySelector<HTMLImageElement>('.jp-aiev-Card-image img');
    expect(img?.src).toBe(`data:image/png;base64,${PNG}`);
    (plot.querySelector('button') as HTMLButtonElement).click();
    expect(revealed).toEqual([['cell-c3', 'c3']]);
    // The assistant's text and the final answer go through rendermime (markdown).
    expect(view.container.querySelector('.jp-aiev-Assistant .jp-aiev-Markdown')?.textContent).toContain('Let me try **tabulate**.');
    expect(view.container.querySelector('[aria-label="Final answer"]')?.textContent).toContain('The value is 42.');
    view.unmount();
  });

  it('a running card says so (aria-busy) and a read-only transcript has no cell links', () => {
    const [card] = cards(buildTranscript([assistant([action('a', 'import time; time.sleep(60)')])], { ...IDLE, busy: true }, trans));
    const view = render(<TranscriptEntry item={card} rendermime={rendermime} trans={trans} />);
    const section = view.container.querySelector('.jp-aiev-Card')!;
    expect(section.getAttribute('aria-busy')).toBe('true');
    expect(section.querySelector('.jp-aiev-Card-status')?.textContent).toBe('running');
    expect(section.querySelector('button')).toBeNull();
    view.unmount();
  });

  it('queued messages carry a queued badge; errors are alerts', () => {
    const view = render(
      <div>
        <TranscriptEntry item={{ kind: 'user', key: 'q', text: 'later', queued: true }} rendermime={rendermime} trans={trans} />
        <TranscriptEntry item={{ kind: 'notice', key: 'n', notice: { level: 'error', text: 'bad' } }} rendermime={rendermime} trans={trans} />
      </div>
    );
    expect(view.container.querySelector('.jp-aiev-User[data-queued] .jp-aiev-Badge')?.textContent).toBe('queued');
    expect(view.container.querySelector('[role="alert"]')?.textContent).toBe('bad');
    view.unmount();
  });
});

describe('TranscriptView', () => {
  it('renders a long conversation the newest entries first, the rest a frame at a time', async () => {
    const items: TranscriptItem[] = Array.from({ length: 100 }, (_, i) => ({ kind: 'user', key: `u${i}`, text: `message ${i}`, queued: false }));
    const rendermime = makeRendermime();
    const view = render(<TranscriptView items={items} conversationKey="a" rendermime={rendermime} trans={trans} empty={null} />);
    const shown = () => Array.from(view.container.querySelectorAll('.jp-aiev-User-text')).map(e => e.textContent);
    expect(shown()).toHaveLength(ENTRIES_PER_FRAME);
    expect(shown()[ENTRIES_PER_FRAME - 1]).toBe('message 99');
    for (let frame = 0; frame < 10 && shown().length < 100; frame++) {
      await act(() => new Promise(resolve => requestAnimationFrame(() => resolve(undefined))));
    }
    expect(shown()).toEqual(items.map(item => (item as { text: string }).text));
    // One more entry arriving renders at once.
    view.rerender(<TranscriptView items={[...items, { kind: 'user', key: 'u100', text: 'message 100', queued: false }]} conversationKey="a" rendermime={rendermime} trans={trans} empty={null} />);
    expect(shown()).toHaveLength(101);
    view.unmount();
  });
});
