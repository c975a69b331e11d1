/**
 * The user in control, as a user works the sidebar: approvals (the mode switched for the session, the exact code
 * shown before it runs, Allow once, Reject with a reason the model then answers, Always allow remembered for the
 * session; every decision in the saved record) and Undo agent run. Real `jupyter lab`, real kernel, Debian's
 * Chromium; the scripted model.
 */
import { expect, test } from '@jupyterlab/galata';

import type { IEventStep } from '../../src/trace/types';
import { readFileSync } from 'fs';
import { join } from 'path';

import { call, cellSource, ChatRequest, deleteSessions, lastToolResult, openNewNotebook, recordOf, ROOT, run, Sidebar, startModel } from './aiev';

test.use({ kernels: null, sessions: null });
test.afterEach(({ request }) => deleteSessions(request));

test('ask before every execution: allowed once, rejected with a reason the model answers, always allowed', async ({ page, tmpPath }) => {
  const model = await startModel([
    run('print(1)'),
    run('%time x = 2'),
    (request: ChatRequest) => {
      expect(lastToolResult(request)).toContain('the user rejected this execute_cell call, saying: no magics, please');
      return run('x = 2\nprint(x)');
    },
    run('print(3)'),
    call('final_answer', { answer: 'Counted to three without magics.' })
  ]);
  try {
    await page.notebook.createNew('approvals.ipynb');
    const sidebar = new Sidebar(page);
    await sidebar.open();
    await sidebar.root.getByLabel('Approvals').selectOption({ label: 'Ask before every execution' });
    await sidebar.ask('Count to three.');

    const approval = sidebar.root.getByRole('region', { name: 'Approval', exact: true });
    const code = approval.getByLabel('Code to run');
    await expect(code).toHaveText('print(1)');
    await expect(approval).toContainText('execute_cell (Python code)');
    // Its card says it waits for the user, not that it runs; the approval's buttons all show in the sidebar.
    await expect(sidebar.cards.last().locator('.jp-aiev-Card-status')).toHaveText('awaiting approval');
    for (const name of ['Allow once', 'Always allow', 'Reject']) {
      const box = (await approval.getByRole('button', { name }).boundingBox())!;
      const side = (await sidebar.root.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(side.x);
    }
    await approval.getByRole('button', { name: 'Allow once' }).click();

    await expect(code).toHaveText('%time x = 2');
    await expect(approval).toContainText('IPython magic');
    await approval.getByLabel('Reason').fill('no magics, please');
    await approval.getByRole('button', { name: 'Reject' }).click();

    await expect(code).toHaveText('x = 2\nprint(x)');
    await approval.getByRole('button', { name: 'Always allow' }).click();

    // print(3) is Python too: it runs without asking.
    await expect(sidebar.answers.first()).toContainText('Counted to three without magics.', { timeout: 60000 });
    await expect(approval).toHaveCount(0);
    const record = await recordOf(`${tmpPath}/approvals.ipynb`);
    const decisions = record.steps
      .filter((s): s is IEventStep => s.type === 'event' && s.event === 'approval')
      .map(s => [s.detail.kind, s.detail.decision, s.detail.reason, s.detail.decided_by]);
    expect(decisions).toEqual([
      ['python', 'allow_once', null, 'user'],
      ['magic', 'reject', 'no magics, please', 'user'],
      ['python', 'always_allow', null, 'user']
    ]);
    expect(record.steps.filter(s => s.type === 'execution').map(s => (s.type === 'execution' ? s.code : ''))).toEqual(['print(1)', 'x = 2\nprint(x)', 'print(3)']);
    // The rejected magic never reached the notebook.
    await expect(page.locator('.jp-Notebook .jp-Cell')).not.toContainText(['%time']);
    model.verify();
  } finally {
    await model.stop();
  }
});

test('Undo agent run puts the notebook back to before the run; the kernel keeps its state, the sidebar says so and offers a restart', async ({ page, tmpPath }) => {
  const path = `${tmpPath}/undo.ipynb`;
  const model = await startModel([run('a = 1'), run('b = a + 1\nprint(b)'), call('final_answer', { answer: 'b is 2.' })]);
  try {
    await page.notebook.createNew('undo.ipynb');
    await page.notebook.setCell(0, 'code', 'mine = "kept"');
    const sidebar = new Sidebar(page);
    await sidebar.open();
    await sidebar.ask('Make b.');
    await expect(sidebar.answers.first()).toContainText('b is 2.', { timeout: 60000 });
    await expect(page.locator('.jp-Notebook .jp-Cell')).toHaveCount(3);

    await sidebar.root.getByRole('button', { name: 'Undo agent run' }).click();
    await expect(page.locator('.jp-Notebook .jp-Cell')).toHaveCount(1);
    expect(await cellSource(page, 0)).toBe('mine = "kept"');
    await expect(sidebar.notices().last()).toContainText('The kernel’s variables are not undone');
    await expect(sidebar.root.getByRole('button', { name: 'Undo agent run' })).toHaveCount(0);
    // Offered after the undo: a restart, then the cells run, so the kernel matches them (count 1: a fresh kernel).
    await sidebar.root.getByRole('button', { name: 'Restart kernel and run all' }).click();
    await expect(page.locator('.jp-Notebook .jp-Cell').first().locator('.jp-InputPrompt')).toHaveText('[1]:', { timeout: 60000 });
    await expect(sidebar.root.getByRole('button', { name: 'Restart kernel and run all' })).toHaveCount(0);
    await expect(sidebar.prompt).toBeEnabled(); // the session goes on after a restart it made itself
    await expect
      .poll(async () => (await recordOf(path)).steps.some(s => s.type === 'event' && s.event === 'kernel_restart' && s.detail.requested_by === 'user'), { timeout: 30000 })
      .toBe(true);
    model.verify();
  } finally {
    await model.stop();
  }
});

test('Export: Verify replays on the server with the CSV beside the notebook, the redactions are shown, files saved next to it', async ({ page, tmpPath }) => {
  const read = "import csv\nrows = list(csv.reader(open('data.csv')))\nprint(len(rows), 'rows')";
  const model = await startModel([run(read), call('final_answer', { answer: 'data.csv has 3 rows.' })]);
  try {
    await page.contents.uploadContent('a,b\n1,2\n3,4\n', 'text', `${tmpPath}/data.csv`);
    const path = await openNewNotebook(page, tmpPath, 'export.ipynb');
    const sidebar = new Sidebar(page);
    await sidebar.open();
    await sidebar.ask('How many rows has data.csv? My token is ghp_abcdefghijklmnopqrstuvwxyz0123456789.');
    await expect(sidebar.answers.first()).toContainText('data.csv has 3 rows.', { timeout: 60000 });

    await sidebar.root.getByRole('button', { name: 'Export', exact: true }).click();
    const view = sidebar.root.getByRole('region', { name: 'Export session' });
    await view.getByRole('button', { name: 'Verify' }).click();
    await expect(view.getByRole('status')).toHaveText('Verdict: verified', { timeout: 90000 });
    await expect(view.getByLabel('Redactions')).toContainText('github');
    await view.getByRole('checkbox', { name: 'trl' }).check();
    await view.getByRole('checkbox', { name: 'preference' }).check();
    await view.getByRole('button', { name: 'Save next to notebook' }).click();
    await expect(view).toContainText('Saved:');
    // Nothing was rejected in this session: its preference file is empty, and the view says why.
    await expect(view).toContainText('preference.jsonl (empty: no preference pair in this session)');

    const id = (await recordOf(path)).id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
    for (const format of ['openai', 'trl']) {
      const file = join(ROOT, tmpPath, `export.aiev-${id}.${format}.jsonl`);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
      const row = JSON.parse(text.trim());
      expect(JSON.stringify(row.messages)).toContain('3 rows');
    }
    model.verify();
  } finally {
    await model.stop();
  }
});
