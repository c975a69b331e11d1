import { KernelAPI, Session, SessionAPI } from '@jupyterlab/services';

import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { withTestServer } from '../helpers/jupyter';

describe('the headless driver is lost when someone else takes its kernel away', () => {
  const server = withTestServer();
  let counter = 0;
  let driver: HeadlessNotebookDriver | undefined;

  afterEach(async () => {
    await driver?.dispose().catch(() => undefined);
    driver = undefined;
  });

  /** A driver, its server session (as another client sees it) and a cell that sleeps, running. */
  async function sleeping() {
    const path = `lost-${++counter}.ipynb`;
    driver = await HeadlessNotebookDriver.open({ settings: server().settings, path, interruptGraceMs: 5000 });
    const session = (await SessionAPI.listRunning(server().settings)).find(s => s.path === path)!;
    await driver.execute(driver.appendCodeCell('kept = 1'), { timeoutMs: 30000 });
    const running = driver.execute(driver.appendCodeCell('import time\ntime.sleep(600)'), { timeoutMs: 120000 });
    await new Promise(resolve => setTimeout(resolve, 500));
    return { driver, session, running };
  }
  const reason = (d: HeadlessNotebookDriver) => (d.lost.reason as Error | undefined)?.message;

  const settings = () => server().settings;
  it.each([
    ['its kernel shut down (REST API)', 'the kernel was shut down', (s: Session.IModel) => KernelAPI.shutdownKernel(s.kernel!.id, settings())],
    ['its session deleted (REST API)', 'the kernel was shut down', (s: Session.IModel) => SessionAPI.shutdownSession(s.id, settings())],
    ['its kernel restarted by another client', 'the kernel was restarted by someone else', (s: Session.IModel) => KernelAPI.restartKernel(s.kernel!.id, settings())]
  ])('%s: lost, and the running cell ends at once saying why', async (_, message, takeAway) => {
    const { driver, session, running } = await sleeping();
    await takeAway(session);
    const outcome = await running;
    expect(reason(driver)).toBe(message);
    expect(outcome.status).toBe('interrupted');
    expect(outcome.recovery).toBe(`The run was stopped because ${message}.`);
    expect(outcome.durationMs).toBeLessThan(30000);
    expect((await driver.executeSilent('print(1)')).error).toEqual({ ename: 'DriverLostError', evalue: message });
    await expect(driver.restartKernel()).rejects.toThrow(message);
  });

  it("the driver's own restart, an interrupt and a kernel death are no loss", async () => {
    driver = await HeadlessNotebookDriver.open({ settings: server().settings, path: `lost-${++counter}.ipynb`, interruptGraceMs: 5000 });
    const run = (code: string, timeoutMs = 60000) => driver!.execute(driver!.appendCodeCell(code), { timeoutMs });
    await run('kept = 1');
    await driver.restartKernel();
    expect((await run('import time\ntime.sleep(600)', 1000)).status).toBe('timeout');
    expect((await run('import os\nos._exit(1)')).status).toBe('kernel_died');
    expect((await run('print(6 * 7)')).outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: '42\n' }]);
    expect(driver.lost.aborted).toBe(false);
  });
});
