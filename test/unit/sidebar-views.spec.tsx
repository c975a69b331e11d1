import { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { BridgeClient } from '../../src/request';
import type { ISessionSummary } from '../../src/tokens';
import { AutoScroller } from '../../src/ui/autoscroll';
import { formatElapsed, HistoryList, StatusLine } from '../../src/ui/controls';
import { AievModel, IAievHost } from '../../src/ui/model';
import { AievSidebar, collectionNotice, ISidebarViewProps, SidebarView } from '../../src/ui/sidebar';
import { buildTranscript, IDLE } from '../../src/ui/transcript';
import { byRole, click, makeRendermime, press, render, sessionSteps, trans, typeInto } from '../helpers/sidebarFixtures';

const rendermime = makeRendermime();

/** SidebarView props with every callback recording what it was called with. */
function props(overrides: Partial<ISidebarViewProps> = {}): { props: ISidebarViewProps; calls: string[] } {
  const calls: string[] = [];
  const record = (name: string) => (...args: unknown[]) => calls.push([name, ...args.map(a => (typeof a === 'object' ? (a as ISessionSummary).id : String(a)))].join(':'));
  return {
    calls,
    props: {
      trans,
      rendermime,
      notebookPath: 'work/analysis.ipynb',
      modelLabel: 'gpt-x @ api.example.com',
      setupMessage: null,
      collectionNotice: null,
      approvalMode: null,
      pendingApproval: null,
      canUndo: false,
      reviewItems: [],
      offerRestart: false,
      canExport: false,
      exportView: null,
      items: [],
      conversationKey: 'c1',
      readOnly: null,
      history: { path: null, sessions: [] },
      error: null,
      draft: '',
      busy: false,
      status: null,
      onDraft: record('draft'),
      onSend: record('send'),
      onStop: record('stop'),
      onNewSession: record('new'),
      onDismissError: record('dismiss'),
      onOpenPast: record('open'),
      onContinuePast: record('continue'),
      onRevealCell: record('reveal'),
      onDecide: (decision: { choice: string; reason?: string }) => calls.push(`decide:${decision.choice}:${decision.reason ?? ''}`),
      onApprovalMode: record('mode'),
      onUndo: record('undo'),
      onRestartAndRun: record('restart'),
      onReview: (target: { cellId: string } | { turn: number }, decision: string) =>
        calls.push(`review:${'cellId' in target ? target.cellId : `run ${target.turn}`}:${decision}`),
      onExport: record('export'),
      ...overrides
    }
  };
}

const summary = (overrides: Partial<ISessionSummary> = {}): ISessionSummary => ({
  id: 's1',
  notebook_path: 'work/analysis.ipynb',
  created_at: '2026-01-01T10:00:00Z',
  updated_at: '2026-01-01T10:05:00Z',
  prompt: 'Load the CSV and plot it',
  turns: 2,
  lines: 30,
  state: 'idle',
  outcome: null,
  model: 'gpt-x',
  has_record: true,
  ...overrides
});

describe('SidebarView', () => {
  it('has a textbox "Ask the agent" and buttons "Send", "Stop", "New session"', () => {
    const { props: p, calls } = props({ draft: 'hello' });
    const view = render(<SidebarView {...p} />);
    const box = byRole(view.container, 'textbox', 'Ask the agent') as HTMLTextAreaElement;
    expect(box).not.toBeNull();
    expect(box.placeholder).toBe('Ask about analysis.ipynb (Enter sends, Shift+Enter new line)');
    const stop = byRole(view.container, 'button', 'Stop') as HTMLButtonElement;
    expect(stop.disabled).toBe(true);
    click(byRole(view.container, 'button', 'Send')!);
    click(byRole(view.container, 'button', 'New session')!);
    expect(calls).toEqual(['send', 'new']);
    expect(view.container.textContent).toContain('gpt-x @ api.example.com');
    view.unmount();
  });

  it('Enter sends, Shift+Enter does not; typing goes to onDraft', () => {
    const { props: p, calls } = props({ draft: 'line one' });
    const view = render(<SidebarView {...p} />);
    const box = byRole(view.container, 'textbox', 'Ask the agent') as HTMLTextAreaElement;
    press(box, 'Enter', { shiftKey: true });
    expect(calls).toEqual([]);
    press(box, 'Enter');
    expect(calls).toEqual(['send']);
    typeInto(box, 'line one!');
    expect(calls).toEqual(['send', 'draft:line one!']);
    view.unmount();
  });

  it('while the agent works Stop is enabled and Send still takes a message (queued)', () => {
    const { props: p, calls } = props({ draft: 'also do this', busy: true });
    const view = render(<SidebarView {...p} />);
    const stop = byRole(view.container, 'button', 'Stop') as HTMLButtonElement;
    const send = byRole(view.container, 'button', 'Send') as HTMLButtonElement;
    expect(stop.disabled).toBe(false);
    expect(send.disabled).toBe(false);
    expect(view.container.textContent).toContain('queued for the agent’s next turn');
    click(stop);
    click(send);
    expect(calls).toEqual(['stop', 'send']);
    view.unmount();
  });

  it('a past session is read-only: the prompt is disabled, the banner offers Continue, cards have no cell links', () => {
    const past = summary({ state: 'cut' });
    const { props: p, calls } = props({ readOnly: past, items: buildTranscript(sessionSteps(), IDLE, trans) });
    const view = render(<SidebarView {...p} />);
    expect((byRole(view.container, 'textbox', 'Ask the agent') as HTMLTextAreaElement).disabled).toBe(true);
    expect(byRole(view.container, 'status', /cut by a reload/)).not.toBeNull();
    expect(view.container.querySelector('.jp-aiev-Card button')).toBeNull();
    click(byRole(view.container, 'button', 'Continue')!);
    expect(calls).toEqual(['continue:s1']);
    view.unmount();
  });

  it('says what to set on the server when no model endpoint is configured there', () => {
    const message = 'No model endpoint is configured on the Jupyter server: set OPENAI_BASE_URL …';
    const { props: p } = props({ modelLabel: null, setupMessage: message });
    const view = render(<SidebarView {...p} />);
    expect(byRole(view.container, 'status', message)).not.toBeNull();
    view.unmount();
  });

  it('says when the server collects the sessions for a teacher, or why it cannot', () => {
    expect(collectionNotice(null, trans)).toBeNull();
    const on = collectionNotice({ user: 'alice', required: true, active: true, message: null }, trans)!;
    const { props: p } = props({ collectionNotice: on });
    const view = render(<SidebarView {...p} />);
    expect(byRole(view.container, 'note', /Collection is on: .* under the name alice/)).not.toBeNull();
    view.unmount();
    const off = { user: 'alice', required: false, active: false, message: 'Session collection is off: cannot write to /c/alice; sessions stay on this server' };
    expect(collectionNotice(off, trans)).toBe(off.message);
  });

  it('shows the code waiting for approval and answers Allow once, Always allow and Reject with the reason typed', () => {
    const request = { call_id: 'c1', tool: 'execute_cell', kind: 'pip' as const, code: '%pip install seaborn', arguments: { code: '%pip install seaborn' } };
    const { props: p, calls } = props({ pendingApproval: request, approvalMode: 'ask-risky' });
    const view = render(<SidebarView {...p} />);
    expect(view.container.querySelector('.jp-aiev-Approval-code')!.textContent).toBe('%pip install seaborn');
    expect(view.container.querySelector('.jp-aiev-Approval-title')!.textContent).toContain('package install');
    click(byRole(view.container, 'button', 'Allow once')!);
    click(byRole(view.container, 'button', 'Always allow')!);
    typeInto(view.container.querySelector<HTMLInputElement>('.jp-aiev-Approval-reason input')!, 'not on this machine');
    click(byRole(view.container, 'button', 'Reject')!);
    expect(calls).toEqual(['decide:allow_once:', 'decide:always_allow:', 'decide:reject:not on this machine']);
    expect((view.container.querySelector('.jp-aiev-ApprovalMode select') as HTMLSelectElement).value).toBe('ask-risky');
    view.unmount();
  });

  it('shows an edit waiting for approval as a diff of the cell, before it is applied', () => {
    const request = { call_id: 'c2', tool: 'edit_cell', kind: 'notebook' as const, code: 'x = 2\n', arguments: { cell_id: 'a', code: 'x = 2\n' }, before: 'x = 1\n' };
    const view = render(<SidebarView {...props({ pendingApproval: request, approvalMode: 'ask' }).props} />);
    expect(view.container.querySelector('.jp-aiev-Approval-title')!.textContent).toContain('change a cell');
    const diff = view.container.querySelector('[aria-label="Change to apply"]')!;
    expect(diff.querySelector('.cm-deletedChunk')!.textContent).toContain('x = 1');
    expect(diff.querySelector('.cm-content')!.textContent).toContain('x = 2');
    expect(view.container.querySelector('.jp-aiev-Approval-code')).toBeNull();
    view.unmount();
  });

  it('lists the cells to review by run, with their diffs, Accept / Reject per cell and Accept all / Reject all', () => {
    const reviewItems = [
      { cellId: 'a', callId: 'k1', tool: 'execute_cell', turn: 1, change: 'added' as const, before: null, after: 'import pandas as pd', position: 2 },
      { cellId: 'b', callId: 'k2', tool: 'edit_cell', turn: 2, change: 'changed' as const, before: 'df = load()', after: 'df = pd.read_csv("d.csv")', position: 1 }
    ];
    const { props: p, calls } = props({ reviewItems });
    const view = render(<SidebarView {...p} />);
    const runs = Array.from(view.container.querySelectorAll('.jp-aiev-Review-run'));
    expect(runs.map(run => run.getAttribute('aria-label'))).toEqual(['Run 1', 'Run 2']);
    const changed = view.container.querySelector<HTMLElement>('[aria-label="Cell 1, changed"]')!;
    expect(changed.querySelector('.cm-deletedChunk')!.textContent).toContain('df = load()');
    expect(changed.querySelector('.cm-content')!.textContent).toContain('pd.read_csv');
    const added = view.container.querySelector<HTMLElement>('[aria-label="Cell 2, added"]')!;
    expect(added.querySelector('.cm-deletedChunk')).toBeNull(); // a new cell: its source only, no empty "before"
    expect(added.querySelector('.jp-aiev-Diff.jp-mod-added .jp-aiev-Diff-source')!.textContent).toBe('import pandas as pd');
    expect(added.querySelector('.cm-editor')).toBeNull(); // plain text: no editor to create for each new cell
    click(byRole(added, 'button', 'Accept')!);
    click(byRole(changed, 'button', 'Reject')!);
    click(byRole(runs[1], 'button', 'Accept all')!);
    click(byRole(runs[0], 'button', 'Reject all')!);
    click(byRole(changed, 'button', 'Cell 1, changed')!);
    expect(calls).toEqual(['review:a:accepted', 'review:b:rejected', 'review:run 2:accepted', 'review:run 1:rejected', 'reveal:b:k2']);
    view.unmount();
  });

  it('offers Undo agent run, and after an undo a restart of the kernel that runs the cells', () => {
    const { props: p, calls } = props({ canUndo: true });
    const view = render(<SidebarView {...p} />);
    expect(byRole(view.container, 'button', 'Restart kernel and run all')).toBeNull();
    click(byRole(view.container, 'button', 'Undo agent run')!);
    view.unmount();
    const after = render(<SidebarView {...props({ offerRestart: true }).props} onRestartAndRun={() => calls.push('restart')} />);
    expect(byRole(after.container, 'button', 'Undo agent run')).toBeNull();
    click(byRole(after.container, 'button', 'Restart kernel and run all')!);
    expect(calls).toEqual(['undo', 'restart']);
    after.unmount();
  });

  it('shows the error as an alert that can be dismissed', () => {
    const { props: p, calls } = props({ error: 'Open a notebook first.' });
    const view = render(<SidebarView {...p} />);
    expect(byRole(view.container, 'alert', /Open a notebook first/)).not.toBeNull();
    click(byRole(view.container, 'button', 'Dismiss')!);
    expect(calls).toEqual(['dismiss']);
    view.unmount();
  });
});

describe('HistoryList and StatusLine', () => {
  it('lists past sessions with Open and Continue; a cut one says so', () => {
    const calls: string[] = [];
    const view = render(
      <HistoryList
        trans={trans}
        path="work/analysis.ipynb"
        sessions={[summary(), summary({ id: 's2', state: 'cut', prompt: 'second' })]}
        disabled={false}
        onOpen={s => calls.push(`open:${s.id}`)}
        onContinue={s => calls.push(`continue:${s.id}`)}
      />
    );
    const rows = Array.from(view.container.querySelectorAll('li'));
    expect(rows.map(r => r.querySelector('.jp-aiev-History-prompt')?.textContent)).toEqual(['Load the CSV and plot it', 'second']);
    expect(rows[1].textContent).toContain('cut by a reload');
    expect(rows[0].textContent).not.toContain('cut by a reload');
    click(byRole(rows[1], 'button', 'Open')!);
    click(byRole(rows[0], 'button', 'Continue')!);
    expect(calls).toEqual(['open:s2', 'continue:s1']);
    expect(view.container.querySelector('summary')?.textContent).toBe('Past sessions of analysis.ipynb (2)');
    view.unmount();
  });

  it('shows the step counter, elapsed time, tokens in and out and an unsaved log as an alert', () => {
    const view = render(
      <StatusLine trans={trans} turns={3} maxTurns={20} elapsedMs={83000} tokensIn={12345} tokensOut={678} saveState="unsaved" saveError="HTTP 502" busy />
    );
    const text = view.container.textContent!;
    expect(text).toContain('Step 3/20');
    expect(text).toContain('1:23');
    expect(text).toContain(`${(12345).toLocaleString()} in / 678 out`);
    expect(byRole(view.container, 'alert', /not saved.*HTTP 502/)).not.toBeNull();
    view.unmount();
    expect([formatElapsed(0), formatElapsed(59999), formatElapsed(3600000 + 61000)]).toEqual(['0:00', '0:59', '1:01:01']);
  });
});

describe('AutoScroller', () => {
  /** Run the scheduled scroll at once (the lab runs it at the next animation frame). */
  const now = (run: () => void) => run();

  /** A scroll container with a layout jsdom does not compute: content height `height`, viewport 100 px. */
  function container(height: { value: number }): HTMLElement {
    const node = document.createElement('div');
    Object.defineProperty(node, 'scrollHeight', { get: () => height.value });
    Object.defineProperty(node, 'clientHeight', { get: () => 100 });
    let top = 0;
    Object.defineProperty(node, 'scrollTop', {
      get: () => top,
      set: (value: number) => {
        top = Math.max(0, Math.min(value, height.value - 100));
      }
    });
    return node;
  }

  it('follows new content, pauses while the user reads above, and jumps back on request', () => {
    const height = { value: 500 };
    const node = container(height);
    const states: string[] = [];
    const scroller = new AutoScroller(node, s => states.push(`${s.following}/${s.unseen}`), now);
    scroller.contentChanged();
    expect(node.scrollTop).toBe(400);
    scroller.onScroll(); // our own scroll to the bottom
    expect(scroller.state).toEqual({ following: true, unseen: false });

    node.scrollTop = 150; // the user scrolls up to read
    scroller.onScroll();
    expect(scroller.state.following).toBe(false);
    height.value = 900; // more content arrives
    scroller.contentChanged();
    expect(node.scrollTop).toBe(150); // not yanked down
    expect(scroller.state).toEqual({ following: false, unseen: true });

    scroller.jumpToLatest();
    expect(node.scrollTop).toBe(800);
    expect(scroller.state).toEqual({ following: true, unseen: false });
    height.value = 1000;
    scroller.contentChanged();
    expect(node.scrollTop).toBe(900);
    expect(states).toEqual(['false/false', 'false/true', 'true/false']);
  });

  it('scrolling back to the bottom by hand resumes following', () => {
    const height = { value: 500 };
    const node = container(height);
    const scroller = new AutoScroller(node, () => undefined, now);
    scroller.contentChanged();
    node.scrollTop = 0;
    scroller.onScroll();
    expect(scroller.state.following).toBe(false);
    node.scrollTop = 395;
    scroller.onScroll();
    expect(scroller.state).toEqual({ following: true, unseen: false });
  });

  it('several changes before the next frame make one scroll', () => {
    const height = { value: 500 };
    const node = container(height);
    const queued: (() => void)[] = [];
    const scroller = new AutoScroller(node, () => undefined, run => queued.push(run));
    scroller.contentChanged();
    height.value = 600;
    scroller.contentChanged();
    scroller.contentChanged();
    expect(queued).toHaveLength(1);
    expect(node.scrollTop).toBe(0);
    queued[0]();
    expect(node.scrollTop).toBe(500);
  });

  it('content that grows between our scroll to the bottom and its scroll event does not pause following', () => {
    const height = { value: 500 };
    const node = container(height);
    const scroller = new AutoScroller(node, () => undefined, now);
    scroller.contentChanged();
    height.value = 700; // streamed text grew before the scroll event fired
    scroller.onScroll();
    expect(scroller.state.following).toBe(true);
    scroller.contentChanged();
    expect(node.scrollTop).toBe(600);
  });
});

describe('AievSidebar on a real model', () => {
  // The widget renders on Lumino's update requests, outside act(), as in the lab.
  const flag = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean };
  beforeAll(() => (flag.IS_REACT_ACT_ENVIRONMENT = false));
  afterAll(() => (flag.IS_REACT_ACT_ENVIRONMENT = true));

  /** A host with no notebook open (the lab's tracker when nothing is open). */
  const noNotebook: IAievHost = {
    activeNotebook: () => null,
    activeNotebookChanged: new Signal<unknown, unknown>({}),
    openNotebook: () => Promise.reject(new Error('none')),
    startSession: () => Promise.reject(new Error('none'))
  };

  it('says the server extension does not answer, and that a notebook must be open to ask', async () => {
    const unreachable = ServerConnection.makeSettings({ baseUrl: 'http://127.0.0.1:9/', wsUrl: 'ws://127.0.0.1:9/' });
    const model = new AievModel({ host: noNotebook, client: new BridgeClient(unreachable), trans });
    const sidebar = new AievSidebar(model, rendermime, trans);
    Widget.attach(sidebar, document.body);
    await model.refresh();
    await new Promise(resolve => requestAnimationFrame(resolve));
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(byRole(sidebar.node, 'alert', /server extension does not answer/)?.textContent).toMatch(/jupyter server extension list/);
    model.dismissError();
    expect(model.trySend('hello')).toBe(false);
    expect(model.error).toBe('Open a notebook first: the agent writes and runs cells in the notebook you have open.');
    Widget.detach(sidebar);
    sidebar.dispose();
  });
});
