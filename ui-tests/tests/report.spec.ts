/**
 * The classroom report (`aiev report --out`) as a teacher opens it: a self-contained page in Debian's Chromium,
 * read by role — the table per student and notebook, the three charts. Its screenshot is the README's.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { ISample, Verdict } from '../../src/trace/types';
import { fencedSample, multiTurnSample, nativeSample } from '../../test/helpers/projectionSamples';

const ROOT = join(__dirname, '..', '..');

/** `sample` as a student's session on `notebook`, with `verdict`. */
function session(sample: ISample, notebook: string, verdict: Verdict): ISample {
  return { ...sample, source: { ...sample.source, notebook_path: notebook }, verification: { ...sample.verification, verdict } };
}

test('a teacher opens the classroom report: the table per student and notebook, and its charts', async ({ context }) => {
  const folder = mkdtempSync(join(tmpdir(), 'aiev-report-ui-'));
  try {
    const students: Record<string, ISample[]> = {
      alice: [session(nativeSample('a1'), 'week1/tips.ipynb', 'verified'), session(multiTurnSample('a2'), 'week2/means.ipynb', 'diverged')],
      bob: [session(fencedSample('b1'), 'week1/tips.ipynb', 'verified')],
      chen: [session(nativeSample('c1'), 'week1/tips.ipynb', 'failed'), session(multiTurnSample('c2'), 'week2/means.ipynb', 'verified')]
    };
    for (const [student, samples] of Object.entries(students)) {
      mkdirSync(join(folder, 'class', student), { recursive: true });
      samples.forEach(s => writeFileSync(join(folder, 'class', student, `${s.id}.aiev.json`), JSON.stringify(s)));
    }
    const html = join(folder, 'report.html');
    execFileSync(process.execPath, [join(ROOT, 'dist', 'aiev.cjs'), 'report', join(folder, 'class'), '--out', html], { encoding: 'utf8' });

    const page = await context.newPage();
    await page.setViewportSize({ width: 1200, height: 760 });
    await page.goto(`file://${html}`);
    await expect(page.getByRole('heading', { name: 'AIEV classroom report' })).toBeVisible();
    await expect(page.getByText('3 students, 2 notebooks, 5 sessions.')).toBeVisible();
    const table = page.getByRole('table');
    await expect(table.getByRole('columnheader')).toHaveText(['Student', 'Notebook', 'Sessions', 'Questions', 'Agent turns', 'Errors', 'Fixed', 'Verified', 'Diverged', 'Failed', 'Unverified', 'Packages installed', 'Time']);
    const chen = table.getByRole('row').filter({ hasText: 'chen' }).filter({ hasText: 'week1/tips.ipynb' });
    await expect(chen.getByRole('cell')).toHaveText(['chen', 'week1/tips.ipynb', '1', '1', /\d+/, '1', '1', '0', '0', '1', '0', /seaborn==/, /\d+:\d\d/]);
    for (const chart of ['Verdicts per student', 'Errors by type', 'Agent turns per session']) {
      await expect(page.getByRole('img', { name: chart })).toBeVisible();
    }
    // Every student has a bar in the verdicts chart, its parts titled with what they count.
    await expect(page.getByRole('img', { name: 'Verdicts per student' }).locator('title')).toHaveText([
      'alice: 1 verified', 'alice: 1 diverged', 'bob: 1 verified', 'chen: 1 verified', 'chen: 1 failed'
    ]);
    await page.screenshot({ path: join(ROOT, 'docs', 'screenshots', 'classroom-report.png'), fullPage: true });
    await page.close();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
