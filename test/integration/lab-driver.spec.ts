import type { ICodeCellModel } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { NotebookTracker } from '@jupyterlab/notebook';

import { LabNotebookDriver } from '../../src/notebook/lab';
import { DriverLostError, IExecutionOutcome } from '../../src/notebook/tokens';
import { asJupyterLabStores, clickDialogButton, dismissDialogs, ILabParts, startLab, untilTrue } from '../helpers/lab';

const text = (outputs: any[], name = 'stdout') =>
  outputs
    .filter(o => o.output_type === 'stream' && o.name === name)
    .map(o => (Array.isArray(o.text) ? o.text.join('') : o.text))
    .join('');

describe('LabNotebookDriver on a real notebook panel and kernel', () => {
  let lab: ILabParts;
  let counter = 0;
  const opened: NotebookPanel[] = [];

  beforeAll(async () => {
    lab = await startLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });
  afterEach(async () => {
    dismissDialogs();
    for (const panel of opened.splice(0)) {
      if (!panel.isDisposed) {
        await panel.sessionContext.shutdown().catch(() => undefined);
        panel.dispose();
      }
    }
  });

  async function open(options = {}): Promise<{ panel: NotebookPanel; driver: LabNotebookDriver }> {
    const panel = await lab.openNotebook(`lab-${++counter}.ipynb`);
    opened.push(panel);
    return { panel, driver: await LabNotebookDriver.open(panel, { interruptGraceMs: 5000, ...options }) };
  }
  const cellModel = (panel: NotebookPanel, id: string) =>
    [...panel.content.model!.cells].find(c => c.id === id) as ICodeCellModel;
  const cellWidget = (panel: NotebookPanel, id: string) => panel.content.widgets.find(w => w.model.id === id)!;
  const run = (driver: LabNotebookDriver, code: string, timeoutMs = 60000, signal?: AbortSignal) =>
    driver.execute(driver.appendCodeCell(code), { timeoutMs, signal });

  it('appends cells into the panel model and edits them in place (ids kept, metadata kept)', async () => {
    const { panel, driver } = await open();
    const before = panel.content.model!.cells.length;
    const id = driver.appendCodeCell('x = 1', { aiev: { tool: 'execute_cell', call_id: 'c1' } });
    expect(panel.content.model!.cells.length).toBe(before + 1);
    expect(panel.content.widgets[panel.content.widgets.length - 1].model.id).toBe(id);
    driver.setCellSource(id, 'x = 2');
    const cell = cellModel(panel, id);
    expect(cell.sharedModel.getSource()).toBe('x = 2');
    expect(cell.getMetadata('aiev')).toEqual({ tool: 'execute_cell', call_id: 'c1' });
    expect(driver.cells().map(c => c.id)).toContain(id);
    expect(driver.cells().find(c => c.id === id)!.source).toBe('x = 2');
    expect(() => driver.setCellSource('nope', '')).toThrow("no cell with id 'nope'");
    expect(driver.path).toBe(panel.context.path);
  });

  it('an nbformat 4.4 notebook is upgraded to 4.5 on the first edit, so the saved cells keep their ids', async () => {
    const path = `lab-old-${++counter}.ipynb`;
    const cells = [{ cell_type: 'code', source: 'old = 1', metadata: {}, outputs: [], execution_count: null }];
    await lab.services.contents.save(path, {
      type: 'notebook',
      format: 'json',
      content: { nbformat: 4, nbformat_minor: 4, metadata: {}, cells }
    });
    const panel = await lab.openNotebook(path);
    opened.push(panel);
    const driver = await LabNotebookDriver.open(panel);
    expect(panel.content.model!.nbformatMinor).toBe(4);
    const id = driver.appendCodeCell('new = 2');
    expect(panel.content.model!.nbformatMinor).toBe(5);
    await driver.save();
    const saved = (await lab.services.contents.get(path, { content: true })).content;
    expect(saved.nbformat_minor).toBe(5);
    expect(saved.cells.map((c: any) => c.id)).toEqual(driver.cells().map(c => c.id));
    expect(saved.cells[1].id).toBe(id);
  });

  it('runs on the panel kernel: the cell model holds the collected outputs, the count is the kernel\'s', async () => {
    const { panel, driver } = await open();
    const first = await run(driver, 'print("hello")\n6 * 7');
    const second = await run(driver, 'import sys; print("to err", file=sys.stderr); 1/0');
    expect(first.status).toBe('ok');
    expect(text(first.outputs)).toBe('hello\n');
    expect(first.outputs[1]).toMatchObject({ output_type: 'execute_result', data: { 'text/plain': '42' } });
    expect(second.status).toBe('error');
    expect(second.error?.ename).toBe('ZeroDivisionError');
    expect(second.executionCount).toBe(first.executionCount! + 1);
    for (const outcome of [first, second]) {
      const cell = cellModel(panel, outcome.cellId);
      expect(cell.outputs.toJSON()).toEqual(outcome.outputs);
      expect(cell.executionCount).toBe(outcome.executionCount);
      expect(cell.executionState).toBe('idle');
    }
    // The notebook rendered them through rendermime, as a run by the user does.
    const widget = cellWidget(panel, first.cellId);
    expect(widget.node.querySelector('.jp-InputPrompt')!.textContent).toBe(`[${first.executionCount}]:`);
    const rendered = [...widget.node.querySelectorAll('.jp-OutputArea-output')].map(n => n.textContent);
    expect(rendered).toEqual(['hello\n', '42']);
    expect(cellWidget(panel, second.cellId).node.textContent).toContain('ZeroDivisionError');
    const { kernelFacts } = { kernelFacts: await driver.kernelFacts() };
    expect(kernelFacts).toMatchObject({ name: 'python3', language: 'python' });
  });

  it('shows a running cell as running, with its output streaming in before it ends', async () => {
    const { panel, driver } = await open({ throttleMs: 50 });
    const id = driver.appendCodeCell('import time\nprint("started", flush=True)\ntime.sleep(4)\nprint("ended")');
    const running = driver.execute(id, { timeoutMs: 60000 });
    const cell = cellModel(panel, id);
    await untilTrue(() => text(cell.outputs.toJSON()) === 'started\n', 10000);
    expect(cell.executionState).toBe('running');
    expect(cellWidget(panel, id).node.querySelector('.jp-InputPrompt')!.textContent).toBe('[*]:');
    const outcome = await running;
    expect(cell.executionState).toBe('idle');
    expect(text(cell.outputs.toJSON())).toBe('started\nended\n');
    expect(cellWidget(panel, id).node.querySelector('.jp-InputPrompt')!.textContent).toBe(`[${outcome.executionCount}]:`);
  });

  it('clear_output, display updates and \\r progress stream in live; the cell ends as JupyterLab stores the record', async () => {
    const { panel, driver } = await open({ throttleMs: 20 });
    const code = [
      'import time',
      'from IPython.display import clear_output, display',
      "handle = display('step 0', display_id=True)",
      'for i in range(1, 6):',
      '    time.sleep(0.1)',
      "    handle.update(f'step {i}')",
      "    print(f'\\rprogress {i}/5', end='', flush=True)",
      "print()",
      'for i in range(3):',
      '    clear_output(wait=True)',
      "    print(f'frame {i}', flush=True)",
      '    time.sleep(0.1)',
      "display({'text/html': '<b>done</b>', 'text/plain': 'done'}, raw=True)"
    ].join('\n');
    const id = driver.appendCodeCell(code);
    const cell = cellModel(panel, id);
    const seen = new Set<string>();
    cell.outputs.changed.connect(() => seen.add(JSON.stringify(cell.outputs.toJSON())));
    const outcome = await driver.execute(id, { timeoutMs: 60000 });
    expect(outcome.status).toBe('ok');
    expect(outcome.outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'frame 2\n' },
      { output_type: 'display_data', data: { 'text/html': '<b>done</b>', 'text/plain': 'done' }, metadata: {} }
    ]);
    expect(cell.outputs.toJSON()).toEqual(asJupyterLabStores(outcome.outputs));
    expect(cellWidget(panel, id).node.querySelector('.jp-OutputArea-output b')!.textContent).toBe('done');
    // Intermediate states reached the cell while it ran (sampled: a refresh every 20 ms at most).
    const states = [...seen].join('\n');
    expect(states).toMatch(/'step \d'/);
    expect(states).toMatch(/progress \d\/5/);
    expect(states).toMatch(/frame [01]/);
  });

  it('a cell over its time limit is interrupted; the kernel keeps its state', async () => {
    const { driver } = await open();
    await run(driver, 'kept = 41');
    const slow = await run(driver, 'import time\ntime.sleep(600)', 1500);
    expect(slow.status).toBe('timeout');
    expect(slow.recovery).toContain('its state is kept');
    expect(slow.outputs.some(o => o.output_type === 'error' && o.ename === 'KeyboardInterrupt')).toBe(true);
    expect(slow.durationMs).toBeLessThan(30000);
    const next = await run(driver, 'print(kept + 1)');
    expect(text(next.outputs)).toBe('42\n');
    expect(driver.lost.aborted).toBe(false);
  });

  it('input() is refused at once', async () => {
    const { driver } = await open();
    const asked = await run(driver, "name = input('Your name? ')", 30000);
    expect(asked.status).toBe('error');
    expect(asked.stdinRequested).toBe(true);
    expect(asked.error?.ename).toBe('StdinNotImplementedError');
  });

  it('kernel death is detected and the kernel comes back (not a loss)', async () => {
    const { driver } = await open();
    await run(driver, 'gone = 1');
    const died = await run(driver, 'import os\nos._exit(1)');
    expect(died.status).toBe('kernel_died');
    expect(died.recovery).toContain('state is lost');
    const after = await run(driver, 'print(6 * 7)\nprint("gone" in dir())');
    expect(text(after.outputs)).toBe('42\nFalse\n');
    expect(driver.lost.aborted).toBe(false);
  });

  it('2,000,000 printed lines: bounded head and tail in the record and in the cell', async () => {
    const cap = 1024 * 1024;
    const { panel, driver } = await open({ outputsCapBytes: cap });
    const lines = 2_000_000;
    const big = await run(driver, `print('\\n'.join(str(i) for i in range(${lines})))`);
    expect(big.status).toBe('ok');
    expect(big.truncated).toBe(true);
    expect(big.totalBytes).toBeGreaterThan(10 * cap);
    const raw = text(big.outputs);
    expect(raw.length).toBeLessThanOrEqual(cap + 200);
    expect(raw.startsWith('0\n1\n2\n')).toBe(true);
    expect(raw.trimEnd().endsWith(`${lines - 1}`)).toBe(true);
    const shown = cellModel(panel, big.cellId).outputs.toJSON();
    expect(shown).toEqual(big.outputs);
    const saved = panel.content.model!.toJSON() as any;
    expect(text(saved.cells.find((c: any) => c.id === big.cellId).outputs).length).toBeLessThanOrEqual(cap + 200);
  });

  it('closing the panel mid-run: lost with the reason, the execution ends at once, the kernel is interrupted', async () => {
    const { panel, driver } = await open();
    const reasons: string[] = [];
    driver.lost.addEventListener('abort', () => reasons.push((driver.lost.reason as Error).message));
    const kernel = panel.sessionContext.session!.kernel!;
    const id = driver.appendCodeCell('import time\nfor i in range(600):\n    time.sleep(0.1)');
    const running = driver.execute(id, { timeoutMs: 120000 });
    await untilTrue(() => kernel.status === 'busy', 10000);
    const started = Date.now();
    void panel.close();
    await clickDialogButton('Discard');
    const outcome = await running;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(panel.isDisposed).toBe(true);
    expect(driver.lost.aborted).toBe(true);
    expect(driver.lost.reason).toBeInstanceOf(DriverLostError);
    expect(reasons).toEqual(['the notebook was closed']);
    expect(outcome.status).toBe('interrupted');
    expect(outcome.recovery).toBe('The run was stopped because the notebook was closed.');
    // The record can still take the notebook as it was when it closed.
    expect(driver.toJSON().cells.map(c => c.id)).toContain(id);
    expect(() => driver.appendCodeCell('x')).toThrow('the notebook was closed');
    // The agent's cell was interrupted: the kernel (still running on the server) is idle again.
    await untilTrue(async () => (await lab.kernelModel(kernel.id))?.execution_state === 'idle', 10000);
    await lab.shutdownKernel(kernel.id);
  });

  it("a restart by the user mid-run: lost, and the execution ends saying why", async () => {
    const { panel, driver } = await open();
    const id = driver.appendCodeCell('import time\ntime.sleep(600)');
    const running = driver.execute(id, { timeoutMs: 120000 });
    await untilTrue(() => panel.sessionContext.session!.kernel!.status === 'busy', 10000);
    await panel.sessionContext.restartKernel();
    const outcome = await running;
    expect((driver.lost.reason as Error).message).toBe('the kernel was restarted by the user');
    expect(outcome.status).toBe('interrupted');
    expect(outcome.recovery).toContain('the kernel was restarted by the user');
    expect(cellModel(panel, id).executionState).toBe('idle');
  });

  it('a restart made elsewhere (the REST API) mid-run: lost instead of waiting for a reply that never comes', async () => {
    const { panel, driver } = await open();
    const kernel = panel.sessionContext.session!.kernel!;
    await run(driver, 'x = 1');
    const running = run(driver, 'import time\ntime.sleep(600)', 120000);
    await untilTrue(() => kernel.status === 'busy', 10000);
    await lab.restartKernel(kernel.id);
    const outcome = await running;
    expect((driver.lost.reason as Error).message).toBe('the kernel was restarted by someone else');
    expect(outcome.status).toBe('interrupted');
  });

  it("changing the notebook's kernel or shutting it down (here or elsewhere) is a loss", async () => {
    const first = await open();
    const running = run(first.driver, 'import time\ntime.sleep(600)', 120000);
    await untilTrue(() => first.panel.sessionContext.session!.kernel!.status === 'busy', 10000);
    await first.panel.sessionContext.changeKernel({ name: 'python3' });
    expect((await running).status).toBe('interrupted');
    expect((first.driver.lost.reason as Error).message).toBe("the notebook's kernel was changed");

    const second = await open();
    await second.panel.sessionContext.shutdown();
    expect((second.driver.lost.reason as Error).message).toBe('the kernel was shut down');
    expect((await run(second.driver, 'print(1)')).status).toBe('interrupted');

    // Shut down from elsewhere (the Running panel of another tab, the REST API) while a cell runs.
    const third = await open();
    const sleeping = run(third.driver, 'import time\ntime.sleep(600)', 120000);
    await untilTrue(() => third.panel.sessionContext.session!.kernel!.status === 'busy', 10000);
    await lab.shutdownKernel(third.panel.sessionContext.session!.kernel!.id);
    expect((await sleeping).recovery).toBe('The run was stopped because the kernel was shut down.');
    expect((third.driver.lost.reason as Error).message).toBe('the kernel was shut down');
  });

  it("the driver's own restart is not a loss; its state is gone and the kernel is idle", async () => {
    const { driver } = await open();
    await run(driver, 'before = 1');
    await driver.restartKernel();
    const after = await run(driver, 'print("before" in dir())');
    expect(text(after.outputs)).toBe('False\n');
    expect(driver.lost.aborted).toBe(false);
  });

  it('executeSilent leaves no cell and no history', async () => {
    const { panel, driver } = await open();
    const cells = panel.content.model!.cells.length;
    const counted = await run(driver, 'y = 5');
    const silent = await driver.executeSilent('print(y * 2)');
    expect(silent).toEqual({ status: 'ok', stdout: '10\n', error: undefined });
    expect(panel.content.model!.cells.length).toBe(cells + 1);
    const next = await run(driver, 'y');
    expect(next.executionCount).toBe(counted.executionCount! + 1);
  });

  it('saves through the document context; dispose leaves the kernel running and stops listening', async () => {
    const { panel, driver } = await open();
    const id = driver.appendCodeCell('print("saved")');
    await driver.execute(id, { timeoutMs: 60000 });
    expect(panel.context.model.dirty).toBe(true);
    await driver.save();
    expect(panel.context.model.dirty).toBe(false);
    const onDisk = await lab.services.contents.get(panel.context.path, { content: true });
    const saved = (onDisk.content as any).cells.find((c: any) => c.id === id);
    expect(saved.outputs[0].text).toBe('saved\n');
    expect(driver.toJSON().cells.find(c => c.id === id)!.outputs).toEqual(saved.outputs);

    const kernel = panel.sessionContext.session!.kernel!;
    await driver.dispose();
    expect(kernel.isDisposed).toBe(false);
    expect((await lab.kernelModel(kernel.id))?.execution_state).toBe('idle');
    await panel.sessionContext.restartKernel();
    expect(driver.lost.aborted).toBe(false);
  });

  it('stays bound to its own panel whatever the active notebook is', async () => {
    const tracker = new NotebookTracker({ namespace: `lab-driver-${counter}` });
    const first = await open();
    const other = await lab.openNotebook(`lab-other-${counter}.ipynb`);
    opened.push(other);
    await tracker.add(first.panel);
    await tracker.add(other);
    other.content.activate();
    await untilTrue(() => tracker.currentWidget === other, 5000);
    const otherCells = other.content.model!.toJSON();
    const outcome: IExecutionOutcome = await run(first.driver, 'print("mine")');
    expect(text(cellModel(first.panel, outcome.cellId).outputs.toJSON())).toBe('mine\n');
    expect(other.content.model!.toJSON()).toEqual(otherCells);
    first.panel.content.activate();
    other.content.activate();
    expect(first.driver.lost.aborted).toBe(false);
    tracker.dispose();
  });

  it('fails to open with a clear message when the notebook has no kernel', async () => {
    const panel = await lab.openNotebook(`lab-nokernel-${++counter}.ipynb`);
    opened.push(panel);
    await panel.sessionContext.shutdown();
    await expect(LabNotebookDriver.open(panel)).rejects.toThrow('the notebook has no kernel: start one from the Kernel menu');
  });
});

describe("LabNotebookDriver on a server with Jupyter's IOPub rate limit on (the default of a user's server)", () => {
  let lab: ILabParts;
  beforeAll(async () => {
    lab = await startLab({ iopubRateLimit: true });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('output the server dropped marks the execution truncated', async () => {
    const panel = await lab.openNotebook('rate-limited.ipynb');
    try {
      const driver = await LabNotebookDriver.open(panel);
      const flood = await driver.execute(driver.appendCodeCell("for i in range(100):\n    print('x' * 100_000)"), {
        timeoutMs: 60000
      });
      expect(flood.status).toBe('ok');
      expect(text(flood.outputs, 'stderr')).toContain('IOPub data rate exceeded.');
      expect(flood.truncated).toBe(true);
    } finally {
      await panel.sessionContext.shutdown();
      panel.dispose();
    }
  });
});
