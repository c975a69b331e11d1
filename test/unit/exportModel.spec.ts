/** The export view's pure parts: where files go, which replay cells are shown, the redaction summary. */
import { exportPath, redactionSummary, replayProblems } from '../../src/ui/exportModel';
import type { ISample, IVerification } from '../../src/trace/types';

describe('the export view', () => {
  it('puts files next to the notebook, named by notebook, session and format', () => {
    expect(exportPath('week1/tips.ipynb', 'ab-12_cd34ef56', 'openai')).toBe('week1/tips.aiev-ab12cd34.openai.jsonl');
    expect(exportPath('tips.ipynb', 'x1', 'ipynb')).toBe('tips.aiev-x1.ipynb');
  });

  it('shows the cells that failed, were skipped or did not match, with what differed', () => {
    const verification = {
      verdict: 'diverged',
      replay: {
        cells: [
          { cell_id: 'a', status: 'ok', compared: 'exact', match: true },
          { cell_id: 'b', status: 'ok', compared: 'exact', match: false, diff: '-1\n+2' },
          { cell_id: 'c', status: 'error', error: { ename: 'NameError', evalue: "name 'x' is not defined" } },
          { cell_id: 'd', status: 'skipped' }
        ]
      }
    } as unknown as IVerification;
    expect(replayProblems(verification)).toEqual([
      { cellId: 'b', status: 'ok', detail: '-1\n+2' },
      { cellId: 'c', status: 'error', detail: "NameError: name 'x' is not defined" },
      { cellId: 'd', status: 'skipped', detail: 'skipped' }
    ]);
  });

  it('groups redactions by kind, most first, with the first places and never a value', () => {
    const sample = { redactions: [1, 2, 3, 4, 5, 6].map(i => ({ kind: 'github_token', location: `steps[${i}].text` })).concat([{ kind: 'home_dir', location: 'task.prompt' }]) } as unknown as ISample;
    expect(redactionSummary(sample)).toEqual([
      { kind: 'github_token', count: 6, locations: ['steps[1].text', 'steps[2].text', 'steps[3].text', 'steps[4].text', 'steps[5].text'] },
      { kind: 'home_dir', count: 1, locations: ['task.prompt'] }
    ]);
  });
});
