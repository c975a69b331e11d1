/**
 * Cell review, as a user works it: the cells the agent added or changed are marked in the notebook (who wrote them
 * on hover) and listed in the sidebar with their diffs; Reject puts a changed cell's source back, Accept keeps a
 * cell, a cell the user rewrote keeps the user's version when they reject the agent's; in "ask" mode the agent's
 * edit is shown as a diff before it is applied, and Reject all takes a run's changes back. Real `jupyter lab`, real
 * kernel, Debian's Chromium; the scripted model.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import { join } from 'path';

import type { IEventStep, IReviewDetail } from '../../src/trace/types';
import { call, cellSource, ChatRequest, lastToolResult, deleteSessions, openNewNotebook, recordOf, recordsOf, REPO, ROOT, run, Sidebar, startModel } from './aiev';

test.use({ kernels: null, sessions: null });
test.afterEach(({ request }) => deleteSessions(request));

const READ = "import csv\ndata = [int(row[0]) for row in csv.reader(open('nums.csv'))]";
const EDITED = `${READ} + [4]`;

test('review: marks in the notebook, diffs, Reject restores, Accept keeps, the user’s rewrite kept; ask mode diffs before applying; verified, and its preference pair passes TRL’s DPO checks', async ({ page, tmpPath }) => {
  const model = await startModel([
    call('edit_cell', { cell_id: 'first', code: EDITED }),
    call('run_cell', { cell_id: 'first' }),
    run('total = sum(data)'),
    run('print(total * 2)'),
    call('final_answer', { answer: 'The total is 10.' }),
    call('edit_cell', { cell_id: 'first', code: `${READ}\ndata.sort()` }),
    (request: ChatRequest) => {
      // The rejection put the cell back: the agent is told the user changed it, and shown its source.
      expect(lastToolResult(request)).toContain(`Its current source:\n${READ}`);
      return call('edit_cell', { cell_id: 'first', code: `${READ}\ndata.sort()` });
    },
    call('final_answer', { answer: 'data is sorted.' })
  ]);
  try {
    await page.contents.uploadContent('3\n1\n2\n', 'text', `${tmpPath}/nums.csv`);
    const path = await openNewNotebook(page, tmpPath, 'review.ipynb', READ);
    const sidebar = new Sidebar(page);
    await sidebar.open();
    await sidebar.ask('Add a 4 to data and print twice its total.');
    await expect(sidebar.answers.first()).toContainText('The total is 10.', { timeout: 60000 });

    const review = sidebar.root.getByRole('region', { name: 'Review', exact: true });
    await expect(review.getByRole('group', { name: 'Run 1', exact: true })).toContainText('Run 1: 3 cells to review');
    const cells = page.locator('.jp-Notebook .jp-Cell');
    await expect(cells).toHaveCount(3);
    // Every agent cell is marked; the hover text says which session, turn and model wrote it.
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-aiev-agentCell')).toHaveCount(3);
    const badge = cells.nth(0).locator('.jp-aiev-agentBadge');
    await expect(badge).toHaveText('agent edit');
    await expect(badge).toHaveAttribute('title', /^Changed by the agent — session \w{8}, turn 1, model scripted/);
    await expect(cells.nth(1).locator('.jp-aiev-agentBadge')).toHaveAttribute('title', /^Added by the agent/);

    const changed = review.getByRole('group', { name: 'Cell 1, changed', exact: true });
    const diff = changed.getByRole('figure', { name: 'Changes to cell 1' });
    await expect(diff.locator('.cm-deletedChunk')).toContainText("csv.reader(open('nums.csv'))]");
    await expect(diff.locator('.cm-changedLine')).toContainText("csv.reader(open('nums.csv'))] + [4]");
    await sidebar.widen(160);
    await page.screenshot({ path: join(REPO, 'docs', 'screenshots', 'review.png') });
    await page.theme.setDarkTheme();
    await page.screenshot({ path: join(REPO, 'docs', 'screenshots', 'review-dark.png') });
    await page.theme.setLightTheme();

    await changed.getByRole('button', { name: 'Reject', exact: true }).click();
    expect(await cellSource(page, 0)).toBe(READ);
    await expect(cells.nth(0)).not.toHaveClass(/jp-aiev-agentCell/);
    await review.getByRole('group', { name: 'Cell 2, added', exact: true }).getByRole('button', { name: 'Accept', exact: true }).click();
    await expect(cells.nth(1)).not.toHaveClass(/jp-aiev-agentCell/);
    expect(await cellSource(page, 1)).toBe('total = sum(data)');
    // The user rewrites the agent's third cell, then rejects the agent's version: theirs stays.
    await page.notebook.setCell(2, 'code', 'print(total)');
    await review.getByRole('group', { name: 'Cell 3, added', exact: true }).getByRole('button', { name: 'Reject', exact: true }).click();
    await expect(review).toHaveCount(0);
    await expect(cells).toHaveCount(3);
    expect(await cellSource(page, 2)).toBe('print(total)');
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-aiev-agentCell')).toHaveCount(0);

    // Ask mode: the edit waits as a diff, and the notebook is unchanged until the user allows it.
    await sidebar.root.getByLabel('Approvals').selectOption({ label: 'Ask before every execution' });
    await sidebar.ask('Sort data.');
    const approval = sidebar.root.getByRole('region', { name: 'Approval', exact: true });
    const change = approval.getByRole('figure', { name: 'Change to apply' });
    await expect(change.locator('.cm-changedLine').last()).toContainText('data.sort()', { timeout: 60000 });
    await expect(approval).toContainText('nothing is applied until you allow it');
    expect(await cellSource(page, 0)).toBe(READ);
    await approval.getByRole('button', { name: 'Allow once', exact: true }).click();
    await expect(sidebar.answers.last()).toContainText('data is sorted.', { timeout: 60000 });
    expect(await cellSource(page, 0)).toBe(`${READ}\ndata.sort()`);
    const run2 = review.getByRole('group', { name: 'Run 2', exact: true });
    await run2.getByRole('button', { name: 'Reject all', exact: true }).click();
    expect(await cellSource(page, 0)).toBe(READ);
    await expect(review).toHaveCount(0);

    // The decisions are in the saved record (saved after each one).
    await recordOf(path, 2);
    const decisions = () =>
      recordsOf(path)[0]
        .steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'review')
        .map(s => s.detail as unknown as IReviewDetail)
        .map(d => [d.turn, d.change, d.decision, d.scope, d.replacement]);
    await expect
      .poll(decisions, { timeout: 30000 })
      .toEqual([
        [1, 'changed', 'rejected', 'cell', null],
        [1, 'added', 'accepted', 'cell', null],
        [1, 'added', 'rejected', 'cell', 'print(total)'],
        [2, 'changed', 'rejected', 'run', null]
      ]);

    // Export: the session verifies (the CSV beside the notebook goes with it), and its preference file — the
    // rewritten cell as chosen, the agent's as rejected — loads with datasets and passes TRL's DPO dataset steps.
    await sidebar.root.getByRole('button', { name: 'Export', exact: true }).click();
    const view = sidebar.root.getByRole('region', { name: 'Export session' });
    await view.getByRole('button', { name: 'Verify' }).click();
    await expect(view.getByRole('status')).toHaveText('Verdict: verified', { timeout: 90000 });
    await view.getByRole('checkbox', { name: 'preference' }).check();
    await view.getByRole('button', { name: 'Save next to notebook' }).click();
    await expect(view).toContainText('Saved:');
    const id = recordsOf(path)[0].id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
    const file = join(ROOT, tmpPath, `review.aiev-${id}.preference.jsonl`);
    const checks = JSON.parse(execFileSync(join(REPO, '.venv', 'bin', 'python'), [join(REPO, 'test', 'helpers', 'dpo_checks.py'), file], { encoding: 'utf8', env: { ...process.env, HF_DATASETS_CACHE: join(REPO, '.tmp', 'hf-cache'), HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', PYTHONWARNINGS: 'ignore', TRANSFORMERS_VERBOSITY: 'error' } }));
    expect(checks).toMatchObject({ missing_trainer_checks: [], num_rows: 1, has_prompt: true, conversational: [true], extract_prompt_unchanged: [true] });
    expect(checks.tokenized[0].chosen).toContain('print(total)');
    expect(checks.tokenized[0].rejected).toContain('print(total * 2)');
    model.verify();
  } finally {
    await model.stop();
  }
});

test('after a reload, Continue brings the cells to review back: marked, listed, and Reject still restores', async ({ page, tmpPath }) => {
  const model = await startModel([call('edit_cell', { cell_id: 'first', code: 'x = 2' }), run('print(x)'), call('final_answer', { answer: 'x is 2.' })]);
  try {
    const path = await openNewNotebook(page, tmpPath, 'reloaded.ipynb', 'x = 1');
    const sidebar = new Sidebar(page);
    await sidebar.open();
    await sidebar.ask('Make x 2.');
    await expect(sidebar.answers.first()).toContainText('x is 2.', { timeout: 60000 });
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-aiev-agentCell')).toHaveCount(2);
    await recordOf(path);

    await page.reload({ waitForIsReady: false });
    await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
    await page.evaluate(p => (window as any).jupyterapp.commands.execute('docmanager:open', { path: p }), path);
    await expect(page.locator('.jp-NotebookPanel:visible')).toHaveCount(1);
    await sidebar.open();
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-aiev-agentCell')).toHaveCount(0);
    await sidebar.root.locator('.jp-aiev-History-item').getByRole('button', { name: 'Continue' }).click();

    const review = sidebar.root.getByRole('region', { name: 'Review', exact: true });
    await expect(review.getByRole('group', { name: 'Run 1', exact: true })).toContainText('Run 1: 2 cells to review', { timeout: 60000 });
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-aiev-agentCell')).toHaveCount(2);
    await review.getByRole('group', { name: 'Cell 1, changed', exact: true }).getByRole('button', { name: 'Reject', exact: true }).click();
    expect(await cellSource(page, 0)).toBe('x = 1');
    // The rejection is one step of the notebook's own undo history: Undo brings the agent's source back, Redo not.
    const notebookCommand = (id: string) => page.evaluate(command => (window as any).jupyterapp.commands.execute(command), id);
    await notebookCommand('notebook:undo');
    await expect.poll(() => cellSource(page, 0)).toBe('x = 2');
    await notebookCommand('notebook:redo');
    await expect.poll(() => cellSource(page, 0)).toBe('x = 1');
    await review.getByRole('button', { name: 'Accept all', exact: true }).click();
    await expect(review).toHaveCount(0);
    await expect(page.locator('.jp-Notebook .jp-Cell.jp-aiev-agentCell')).toHaveCount(0);
    model.verify();
  } finally {
    await model.stop();
  }
});
