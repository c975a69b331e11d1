/**
 * The environment block on real kernels: a second session on the same kernelspec takes the distributions from the
 * first one's scan (its silent execution lists none), and anything that changes what `importlib.metadata` finds
 * (a folder put on `sys.path`, a distribution added to a folder already on it, one in the working folder) is
 * scanned again.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { captureEnvironment, finishEnvironment } from '../../src/agent/environment';
import { runSource } from '../../src/agent/source';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { SessionRecorder } from '../../src/trace/recorder';
import type { IEnvironment } from '../../src/trace/types';
import { withTestServer } from '../helpers/jupyter';

const server = withTestServer();

/** A driver on a fresh kernel whose silent executions' printed lines are kept in `silent` (the driver is real). */
async function openDriver(name: string): Promise<{ driver: HeadlessNotebookDriver; silent: string[] }> {
  const driver = await HeadlessNotebookDriver.open({ settings: server().settings, path: `${name}-${process.pid}.ipynb` });
  const silent: string[] = [];
  const executeSilent = driver.executeSilent.bind(driver);
  driver.executeSilent = async (code, timeoutMs) => {
    const result = await executeSilent(code, timeoutMs);
    silent.push(result.stdout);
    return result;
  };
  return { driver, silent };
}

function recorder(): SessionRecorder {
  return new SessionRecorder({
    sink: { append: () => undefined },
    source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'scripted', baseUrl: 'http://127.0.0.1:1/v1', toolMode: 'native', stream: true }),
    task: { prompt: 'p', system: 's', attachments: [], tags: [] },
    tools: [],
    outputsCapBytes: 1 << 20
  });
}

/** Whether the last silent execution scanned the distributions (its JSON line lists them). */
function scanned(silent: string[]): boolean {
  return 'packages' in JSON.parse(silent[silent.length - 1].trim().split('\n').pop()!);
}

/** Python that writes a minimal `<name>-<version>.dist-info` into `folder`. */
function distInfo(folder: string, name: string, version: string): string {
  return (
    `import os\np = os.path.join(${JSON.stringify(folder)}, "${name}-${version}.dist-info")\nos.makedirs(p, exist_ok=True)\n` +
    `open(os.path.join(p, "METADATA"), "w").write("Metadata-Version: 2.1\\nName: ${name}\\nVersion: ${version}\\n")`
  );
}

describe('the environment scan', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(dir => rmSync(dir, { recursive: true, force: true })));

  it('is taken from an earlier scan of the same environment, and scanned again when what it finds changed', async () => {
    const first = await openDriver('env-first');
    const second = await openDriver('env-second');
    try {
      const firstRecorder = recorder();
      const before = (await captureEnvironment(first.driver, firstRecorder))!;
      expect(before.packages_before.some(p => p.name === 'ipykernel')).toBe(true);
      expect(before.kernel.ipykernel).toMatch(/^\d+\./);

      // A second kernel of the same kernelspec: the same environment, not scanned again.
      const secondRecorder = recorder();
      const again = (await captureEnvironment(second.driver, secondRecorder))!;
      expect(scanned(second.silent)).toBe(false);
      expect(again.packages_before).toEqual(before.packages_before);
      expect(again.kernel.ipykernel).toBe(before.kernel.ipykernel);
      expect(again.python).toBe(before.python);

      // Nothing changed: the end of the session is not scanned either.
      await finishEnvironment(second.driver, secondRecorder, again);
      expect(scanned(second.silent)).toBe(false);
      expect(secondRecorder.snapshot().environment?.installed_during_session).toEqual([]);

      // A folder with a distribution put on sys.path.
      const extra = mkdtempSync(join(tmpdir(), 'aiev-env-'));
      dirs.push(extra);
      expect((await second.driver.executeSilent(`${distInfo(extra, 'aievprobe', '1.2.3')}\nimport sys\nsys.path.append(${JSON.stringify(extra)})`)).status).toBe('ok');
      await finishEnvironment(second.driver, secondRecorder, again);
      expect(scanned(second.silent)).toBe(true);
      expect(installed(secondRecorder.snapshot().environment)).toEqual(['aievprobe==1.2.3']);

      // A second distribution in that folder, already on sys.path: its modification time changed.
      expect((await second.driver.executeSilent(distInfo(extra, 'aievprobe-two', '0.1'))).status).toBe('ok');
      await finishEnvironment(second.driver, secondRecorder, again);
      expect(scanned(second.silent)).toBe(true);
      expect(installed(secondRecorder.snapshot().environment)).toEqual(['aievprobe-two==0.1', 'aievprobe==1.2.3']);

      // The first kernel's environment is unchanged (its sys.path has no extra folder): still the first scan.
      await finishEnvironment(first.driver, firstRecorder, before);
      expect(scanned(first.silent)).toBe(false);

      // A distribution in the kernel's working folder (whose time changes with any file written there).
      expect((await first.driver.executeSilent(distInfo('.', 'aievhere', '0.2'))).status).toBe('ok');
      await finishEnvironment(first.driver, firstRecorder, before);
      expect(scanned(first.silent)).toBe(true);
      expect(installed(firstRecorder.snapshot().environment)).toEqual(['aievhere==0.2']);
    } finally {
      await first.driver.dispose();
      await second.driver.dispose();
    }
  }, 120000);
});

function installed(environment: IEnvironment | null | undefined): string[] {
  return (environment?.installed_during_session ?? []).map(p => `${p.name}==${p.version}`).sort();
}
