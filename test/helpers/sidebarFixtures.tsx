/** Shared pieces of the sidebar's jsdom tests: rendering React into the document, rendermime, record steps. */
import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';
import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';

import type { IAction, IAssistantStep, IExecutionStep, IStep } from '../../src/trace/types';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const trans = nullTranslator.load('jupyterlab_aiev');

/** The registry JupyterLab builds from its standard renderers (markdown falls back to <pre> without a parser). */
export function makeRendermime(): RenderMimeRegistry {
  return new RenderMimeRegistry({ initialFactories: standardRendererFactories });
}

/** Render an element into a fresh container in the document. */
export function render(element: React.ReactElement): { container: HTMLElement; rerender: (next: React.ReactElement) => void; unmount: () => void } {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  act(() => root.render(element));
  return {
    container,
    rerender: next => act(() => root.render(next)),
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    }
  };
}

/** Let rendermime's asynchronous renderers finish. */
export async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise(resolve => setTimeout(resolve, 0));
    }
  });
}

/** The element with ARIA `role` and accessible name `name` (aria-label, else text), or null. */
export function byRole(root: ParentNode, role: 'button' | 'textbox' | 'alert' | 'status' | 'log' | 'note', name: string | RegExp): HTMLElement | null {
  const selector = { button: 'button', textbox: 'textarea, input[type="text"]', alert: '[role="alert"]', status: '[role="status"]', log: '[role="log"]', note: '[role="note"]' }[role];
  for (const element of Array.from(root.querySelectorAll<HTMLElement>(selector))) {
    const accessible = (element.getAttribute('aria-label') ?? element.textContent ?? '').trim();
    if (typeof name === 'string' ? accessible === name : name.test(accessible)) {
      return element;
    }
  }
  return null;
}

/** Type into a React-controlled textarea or text input. */
export function typeInto(element: HTMLTextAreaElement | HTMLInputElement, value: string): void {
  const prototype = element instanceof HTMLInputElement ? HTMLInputElement.prototype : HTMLTextAreaElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(prototype, 'value')!.set!;
  act(() => {
    setter.call(element, value);
    element.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

/** Press a key in an element. */
export function press(element: HTMLElement, key: string, init: KeyboardEventInit = {}): void {
  act(() => {
    element.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init }));
  });
}

export function click(element: HTMLElement): void {
  act(() => element.click());
}

/** A 1x1 PNG. */
export const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const T = '2026-01-01T00:00:00.000Z';

export function action(callId: string, code: string, tool = 'execute_cell'): IAction {
  return { call_id: callId, tool, kind: code.startsWith('%pip') ? 'pip' : 'python', cell_id: null, arguments: { code }, code };
}

export function assistant(actions: IAction[], text = '', usage = { prompt_tokens: 100, completion_tokens: 10 }): IAssistantStep {
  return { type: 'assistant', text, actions, time: T, usage, finish_reason: actions.length ? 'tool_calls' : 'stop' };
}

export function execution(callId: string, code: string, overrides: Partial<IExecutionStep> = {}): IExecutionStep {
  return {
    type: 'execution',
    call_id: callId,
    cell_id: `cell-${callId}`,
    code,
    executor: 'ipykernel',
    execution_count: 1,
    status: 'ok',
    started_at: T,
    duration_ms: 5,
    outputs: [],
    truncated: false,
    model_text: 'status: ok',
    ...overrides
  };
}

/** A whole session: a missing package, its install, a plot, the answer. */
export function sessionSteps(): IStep[] {
  return [
    { type: 'user', text: 'Plot something with tabulate', time: T },
    assistant([action('c1', 'import tabulate')], 'Let me try **tabulate**.'),
    execution('c1', 'import tabulate', {
      status: 'error',
      execution_count: 1,
      error: { ename: 'ModuleNotFoundError', evalue: "No module named 'tabulate'" },
      model_text: "status: error\nModuleNotFoundError: No module named 'tabulate'"
    }),
    assistant([action('c2', '%pip install -q tabulate')]),
    execution('c2', '%pip install -q tabulate', {
      execution_count: 2,
      install: { resolved: [{ name: 'tabulate', version: '0.9.0' }], removed: [], restart_required: false },
      model_text: 'status: ok\ninstalled: tabulate==0.9.0'
    }),
    assistant([action('c3', 'show_plot()')]),
    execution('c3', 'show_plot()', {
      execution_count: 3,
      outputs: [{ output_type: 'display_data', data: { 'image/png': PNG, 'text/plain': '<Image>' }, metadata: {} }],
      model_text: 'status: ok\n[image/png 1x1 omitted]'
    }),
    assistant([{ call_id: 'c4', tool: 'final_answer', kind: 'final_answer', cell_id: null, arguments: { answer: 'The value is 42.' }, answer: 'The value is 42.' }]),
    { type: 'tool_result', call_id: 'c4', cell_id: null, model_text: 'Final answer recorded.', is_error: false, time: T }
  ];
}
