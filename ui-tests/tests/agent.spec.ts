/**
 * The agent in the sidebar, end to end: real `jupyter lab` with the bridge, real kernels, Debian's Chromium; the
 * only double is the scripted model behind the bridge's proxy, which accepts only the key the lab server holds.
 */
import { expect, test } from '@jupyterlab/galata';
import { join } from 'path';

import { validateSample } from '../../src/trace/validate';
import {
  aievVerify,
  askInNewNotebook,
  call,
  ChatRequest,
  deleteSessions,
  KEY_SHA256,
  lastToolResult,
  logLines,
  openNewNotebook,
  pip,
  ReceivedWatch,
  recordOf,
  run,
  ScriptEntry,
  sessionIdsOf,
  Sidebar,
  startModel,
  STORE
} from './aiev';

/** A small pure-Python package the venv does not have (uninstalled before and after). */
const PACKAGE = 'termcolor';
const uninstall = () => pip('uninstall', '-y', '-q', PACKAGE);

// Galata's mocks of the kernels and sessions APIs are off: the kernels mock answers POST
// /api/kernels/<id>/interrupt (204, no body) by parsing JSON and never fulfils it (a Stop would wait forever), and
// after a reload the sessions mock hands the notebook a new kernel. Each test shuts its kernels down itself.
test.use({ kernels: null, sessions: null });

let watch: ReceivedWatch;
test.beforeEach(({ page }) => {
  watch = new ReceivedWatch(page);
});
test.afterEach(async ({ request }) => {
  await deleteSessions(request);
  // The key the lab server holds reaches no response body, header or websocket frame the browser receives.
  expect(await watch.leaks()).toEqual([]);
  expect(watch.responses).toBeGreaterThan(10);
});

test.describe('the agent in the sidebar', () => {
  test.beforeAll(uninstall);
  test.afterAll(uninstall);

  test('a question: cells run on the notebook kernel, a missing package is installed, the real value reaches the answer; a follow-up continues the session', async ({
    page,
    tmpPath
  }) => {
    let version = '';
    const model = await startModel([
      { content: `Let me see whether ${PACKAGE} is installed.`, toolCalls: [{ name: 'execute_cell', arguments: { code: `import ${PACKAGE}` } }] },
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toContain(`ModuleNotFoundError: No module named '${PACKAGE}'`);
        return run(`%pip install -q ${PACKAGE}`);
      },
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toMatch(/^status: ok$/m);
        return run(`import importlib.metadata\nimport ${PACKAGE}\nprint('version', importlib.metadata.version('${PACKAGE}'))`);
      },
      (request: ChatRequest) => {
        version = /version (\S+)/.exec(lastToolResult(request))![1];
        return call('final_answer', { answer: `${PACKAGE} ${version} is installed and imports.` });
      },
      (request: ChatRequest) => {
        // The follow-up arrives in the same conversation: both user messages and the earlier tool results.
        const users = request.messages.filter(m => m.role === 'user').map(m => String(m.content));
        expect(users.slice(-2)).toEqual([`Install ${PACKAGE} if needed and tell me its version.`, 'And what is 6 times 7?']);
        expect(request.messages.filter(m => m.role === 'tool')).toHaveLength(4);
        return run('print(6 * 7)');
      },
      (request: ChatRequest) => call('final_answer', { answer: `It is ${/output:\n(\d+)/.exec(lastToolResult(request))![1]}.` })
    ]);
    try {
      const path = `${tmpPath}/agent.ipynb`;
      const sidebar = await askInNewNotebook(page, 'agent.ipynb', `Install ${PACKAGE} if needed and tell me its version.`);

      await expect(sidebar.answers.first()).toContainText(`is installed and imports.`, { timeout: 120000 });
      expect(version).toBe(/Version: (\S+)/.exec(pip('show', PACKAGE))![1]);
      await expect(sidebar.answers.first()).toContainText(`${PACKAGE} ${version}`);
      await expect(sidebar.cards).toHaveCount(3);
      const [failed, install, imported] = [0, 1, 2].map(i => sidebar.cards.nth(i));
      await expect(failed).toHaveAttribute('data-state', 'error');
      await expect(failed.locator('.jp-aiev-Card-error')).toHaveText(`ModuleNotFoundError: No module named '${PACKAGE}'`);
      await expect(install).toHaveAttribute('data-state', 'ok');
      await expect(install.locator('.jp-aiev-Card-install')).toHaveText(`installed: ${PACKAGE}==${version}`);
      await expect(imported).toHaveAttribute('data-state', 'ok');
      await expect(imported.locator('.jp-aiev-Card-result pre')).toContainText(`version ${version}`);
      await expect(imported.locator('.jp-aiev-Card-count')).toHaveText('[3]');

      // The cells are in the open notebook (after the empty cell a new notebook starts with), with the outputs of
      // its kernel.
      expect(await page.notebook.getCellCount()).toBe(4);
      expect((await page.notebook.getCellTextOutput(1))!.join('')).toContain('ModuleNotFoundError');
      expect((await page.notebook.getCellTextOutput(3))!.join('')).toBe(`version ${version}\n`);

      // "Show cell" selects the cell in the notebook.
      await failed.getByRole('button', { name: 'Show cell' }).click();
      await expect(page.locator('.jp-Notebook .jp-Cell').nth(1)).toHaveClass(/jp-mod-active/);

      await sidebar.ask('And what is 6 times 7?');
      await expect(sidebar.answers.nth(1)).toContainText('It is 42.', { timeout: 60000 });
      await expect(sidebar.cards).toHaveCount(4);

      // One record, the same session: two user turns; it validates and the replay verifies it.
      const record = await recordOf(path, 2);
      expect(record.outcome).toMatchObject({ reason: 'final_answer', answer: 'It is 42.' });
      expect(validateSample(record).errors).toEqual([]);
      const verified = aievVerify(join(STORE, `${record.id}.aiev.json`));
      expect(verified.output).toContain('aiev verify: verified');
      expect(verified.status).toBe(0);

      // The scripted model accepted every request: the proxy sent the server's key, which the kernel cannot read.
      model.verify();
      expect(model.requests.map(r => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      await page.notebook.addCell(
        'code',
        `import os, hashlib\nprint('OPENAI_API_KEY' in os.environ, any(hashlib.sha256(v.encode()).hexdigest() == '${KEY_SHA256}' for v in os.environ.values()))`
      );
      await page.notebook.runCell(5);
      expect(await page.notebook.getCellTextOutput(5)).toEqual(['False False\n']);
    } finally {
      await model.stop();
    }
  });

  test('a message sent while the agent works is queued for its next turn; Stop ends a streaming model turn', async ({ page }) => {
    const slow = { chunkSize: 3, chunkDelayMs: 150 };
    const model = await startModel([
      { ...slow, content: 'Computing the first part now, slowly, piece by piece.', toolCalls: [{ name: 'execute_cell', arguments: { code: 'first = 20' } }] },
      (request: ChatRequest) => {
        // The queued message is part of the agent's next model turn.
        expect(request.messages[request.messages.length - 1]).toMatchObject({ role: 'user', content: 'Also add 22.' });
        return run('print(first + 22)');
      },
      (request: ChatRequest) => call('final_answer', { answer: `The sum is ${/output:\n(\d+)/.exec(lastToolResult(request))![1]}.` }),
      { content: 'This answer streams so slowly that it is stopped long before it ends. '.repeat(20), chunkSize: 2, chunkDelayMs: 200 }
    ]);
    try {
      const sidebar = await askInNewNotebook(page, 'queue.ipynb', 'Set first to 20.');
      await expect(sidebar.root.locator('.jp-aiev-Assistant[data-streaming]')).toBeVisible();
      await expect(sidebar.stop).toBeEnabled();
      await sidebar.ask('Also add 22.');
      await expect(sidebar.root.locator('.jp-aiev-User[data-queued]')).toHaveText(/queued\s*Also add 22\./);
      await expect(sidebar.answers.first()).toContainText('The sum is 42.', { timeout: 60000 });
      await expect(sidebar.root.locator('.jp-aiev-User[data-queued]')).toHaveCount(0);
      await expect(sidebar.root.locator('.jp-aiev-User')).toHaveText(['Set first to 20.', 'Also add 22.']);

      // Stop while the model streams: the text stops growing and the session is idle again.
      await sidebar.ask('Now write an essay.');
      const streaming = sidebar.root.locator('.jp-aiev-Assistant[data-streaming]');
      await expect(streaming).toBeVisible();
      await sidebar.stop.click();
      await expect(streaming).toHaveCount(0);
      await expect(sidebar.notices().last()).toHaveText(/^Stopped\./);
      await expect(sidebar.stop).toBeDisabled();
      await expect.poll(() => model.requests[3]?.clientAborted, { timeout: 15000 }).toBe(true);
    } finally {
      await model.stop();
    }
  });

  test('Stop during a long cell interrupts it and leaves an idle kernel the user can run cells on', async ({ page, tmpPath }) => {
    const model = await startModel([run('import time\nprint("sleeping", flush=True)\ntime.sleep(60)')]);
    try {
      const sidebar = await askInNewNotebook(page, 'stop.ipynb', 'Wait a minute.');
      const card = sidebar.cards.first();
      await expect(card).toHaveAttribute('data-state', 'running', { timeout: 60000 });
      await expect(card.locator('.jp-aiev-Card-status')).toHaveText('running');
      // The notebook shows the cell running too.
      await expect(page.locator('.jp-Notebook .jp-Cell').nth(1).locator('.jp-InputPrompt')).toHaveText('[*]:');
      const started = Date.now();
      await sidebar.stop.click();
      await expect(card).toHaveAttribute('data-state', 'interrupted', { timeout: 30000 });
      expect(Date.now() - started).toBeLessThan(30000);
      await expect(sidebar.stop).toBeDisabled();

      await page.notebook.addCell('code', 'print(6 * 7)');
      await page.notebook.runCell(2);
      expect(await page.notebook.getCellTextOutput(2)).toEqual(['42\n']);
      const record = await recordOf(`${tmpPath}/stop.ipynb`);
      expect(record.outcome?.reason).toBe('cancelled');
      expect(record.steps.find(s => s.type === 'execution')).toMatchObject({ status: 'interrupted' });
    } finally {
      await model.stop();
    }
  });

  test('a reload mid-session loses nothing: the session is listed as cut, reads back whole, and continues', async ({ page, tmpPath }) => {
    const model = await startModel([
      run('x = 41\nprint(x)'),
      { delayMs: 120000, content: 'never sent: the page reloads while this turn waits' },
      (request: ChatRequest) => {
        expect(request.messages[request.messages.length - 1]).toMatchObject({ role: 'user', content: 'Go on.' });
        return run('print(x + 1)');
      },
      (request: ChatRequest) => call('final_answer', { answer: `x + 1 is ${/output:\n(\d+)/.exec(lastToolResult(request))![1]}.` })
    ]);
    try {
      const path = await openNewNotebook(page, tmpPath, 'reload.ipynb');
      const sidebar = new Sidebar(page);
      await sidebar.open();
      await sidebar.ask('Set x to 41.');
      await expect(sidebar.cards.first()).toHaveAttribute('data-state', 'ok', { timeout: 60000 });
      await expect.poll(() => model.requests.length).toBe(2);
      const [id] = sessionIdsOf(path);
      expect(logLines(id).map(line => line.kind)).toEqual(expect.arrayContaining(['header', 'user', 'assistant', 'execution']));

      // (Galata's readiness check waits for the Launcher tab, which the restored workspace does not show.)
      await page.reload({ waitForIsReady: false });
      await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
      // The workspace brings the notebook back; open it (again) through the document manager to be sure.
      await page.evaluate(p => (window as any).jupyterapp.commands.execute('docmanager:open', { path: p }), path);
      await expect(page.locator('.jp-NotebookPanel:visible')).toHaveCount(1);
      await sidebar.open();
      const listed = sidebar.root.locator('.jp-aiev-History-item');
      await expect(listed).toHaveCount(1);
      await expect(listed).toContainText('Set x to 41.');
      await expect(listed).toContainText('cut by a reload');

      // Read-only, it shows what was done before the reload.
      await listed.getByRole('button', { name: 'Open' }).click();
      await expect(sidebar.root.getByRole('status').filter({ hasText: 'cut by a reload' })).toBeVisible();
      await expect(sidebar.cards.first()).toHaveAttribute('data-state', 'ok');
      await expect(sidebar.cards.first().locator('.jp-aiev-Card-result pre')).toContainText('41');
      await expect(sidebar.prompt).toBeDisabled();

      await sidebar.root.locator('.jp-aiev-ReadOnly').getByRole('button', { name: 'Continue' }).click();
      await expect(sidebar.prompt).toBeEnabled();
      await sidebar.ask('Go on.');
      await expect(sidebar.answers.first()).toContainText('x + 1 is 42.', { timeout: 60000 });
      const record = await recordOf(path, 2);
      expect(record.id).toBe(id);
      expect(sessionIdsOf(path)).toEqual([id]);
      const kinds = logLines(record.id).map(line => line.kind);
      expect(kinds.filter(kind => kind === 'user')).toHaveLength(2);
      expect(kinds.filter(kind => kind === 'execution')).toHaveLength(2);
    } finally {
      await model.stop();
    }
  });

  test('closing the notebook mid-run ends the run with a message, nothing left running', async ({ page, tmpPath }) => {
    const model = await startModel([run('import time\ntime.sleep(30)')]);
    try {
      const sidebar = await askInNewNotebook(page, 'closing.ipynb', 'Sleep for a while.');
      await expect(sidebar.cards.first()).toHaveAttribute('data-state', 'running', { timeout: 60000 });
      await page.notebook.close(false);
      await expect(sidebar.root.getByRole('alert').filter({ hasText: /closed/ })).toBeVisible({ timeout: 30000 });
      await expect(sidebar.cards.first()).not.toHaveAttribute('data-state', 'running');
      await expect(sidebar.stop).toBeDisabled();
      const record = await recordOf(`${tmpPath}/closing.ipynb`);
      expect(record.outcome?.reason).not.toBe('final_answer');
    } finally {
      await model.stop();
    }
  });

  test('a model that rejects the key, and one that cannot be reached, are said clearly', async ({ page }) => {
    const model = await startModel([], 'not-the-servers-key');
    try {
      const sidebar = await askInNewNotebook(page, 'errors.ipynb', 'Hello?');
      await expect(sidebar.root.getByRole('alert').filter({ hasText: 'rejected the API key (HTTP 401)' })).toBeVisible({ timeout: 60000 });
      await expect(sidebar.stop).toBeDisabled();
    } finally {
      await model.stop();
    }
    // Nothing listens on the model's port now.
    const sidebar = new Sidebar(page);
    await sidebar.ask('Anyone there?');
    await expect(sidebar.root.getByRole('alert').filter({ hasText: /could not be reached/ })).toBeVisible({ timeout: 120000 });
    await expect(sidebar.root.locator('.jp-aiev-Error, .jp-aiev-Notice').filter({ hasText: /Traceback|at \S+ \(/ })).toHaveCount(0);
  });
});

/** Pure-Python PNG bar chart (no matplotlib in the venv), as a cell the scripted model writes. */
const CHART_CELL = `import struct, zlib
from IPython.display import Image, display

def bar_chart(values, width=360, height=180, color=(31, 119, 180)):
    """A PNG bar chart of values, bars scaled to the largest."""
    rows = [[(255, 255, 255)] * width for _ in range(height)]
    slot = width // len(values)
    for i, value in enumerate(values):
        top = height - int((height - 12) * value / max(values))
        for y in range(top, height):
            for x in range(i * slot + 8, (i + 1) * slot - 8):
                rows[y][x] = color
    raw = b''.join(b'\\x00' + bytes(c for pixel in row for c in pixel) for row in rows)
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))

display(bar_chart(list(counts.values())))`;

const COUNT_CELL = `text = "the quick brown fox jumps over the lazy dog and the fox naps"
counts = {}
for word in text.split():
    counts[word] = counts.get(word, 0) + 1
print(sorted(counts.items(), key=lambda kv: -kv[1])[:3])`;

test.describe('plots', () => {
  test('an image the kernel makes shows in the sidebar card (screenshots for the README, light and dark)', async ({ page }) => {
    const script: ScriptEntry[] = [
      { content: 'I will count the words first.', toolCalls: [{ name: 'execute_cell', arguments: { code: COUNT_CELL } }] },
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toContain("[('the', 3), ('fox', 2)");
        return { content: 'Now the chart.', toolCalls: [{ name: 'execute_cell', arguments: { code: CHART_CELL } }] };
      },
      () => call('final_answer', { answer: '**the** comes 3 times, **fox** twice, every other word once; the chart shows the counts per word.' })
    ];
    const model = await startModel(script);
    try {
      const sidebar = await askInNewNotebook(page, 'words.ipynb', 'Count the words in this sentence and draw a bar chart of the counts.');
      await expect(sidebar.answers.first()).toBeVisible({ timeout: 60000 });
      const image = sidebar.cards.nth(1).locator('.jp-aiev-Card-image img');
      await expect(image).toBeVisible();
      expect(await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([360, 180]);
      await expect(sidebar.root.locator('[data-state="running"]')).toHaveCount(0);
      // The turn has ended (record saved): nothing in the screenshots is still working.
      await expect(sidebar.stop).toBeDisabled();
      await expect(sidebar.root.locator('.jp-aiev-Status-save')).toHaveText('saved');
      model.verify();

      await sidebar.widen();
      const shots = join(__dirname, '..', '..', 'docs', 'screenshots');
      await page.screenshot({ path: join(shots, 'sidebar-light.png') });
      await page.theme.setDarkTheme();
      await page.screenshot({ path: join(shots, 'sidebar-dark.png') });
    } finally {
      await model.stop();
    }
  });
});
