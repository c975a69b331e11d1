/** The classroom report's counting and its HTML: figures from real record shapes, names escaped. */
import { classroomReport, countSession, formatDuration, reportTable } from '../../src/report/classroom';
import { reportHtml } from '../../src/report/html';
import { multiTurnSample, nativeSample } from '../helpers/projectionSamples';

describe('the classroom report', () => {
  it('counts questions, agent turns, errors, fixes and installs of each session, per student and notebook', () => {
    const native = countSession('alice', { ...nativeSample('n1'), source: { ...nativeSample('n1').source, notebook_path: 'w1.ipynb' } });
    expect(native).toMatchObject({ student: 'alice', notebook: 'w1.ipynb', questions: 1, errors: 1, fixes: 1, errorTypes: ['ValueError'], packages: ['seaborn==0.13.2'] });
    const multi = countSession('alice', multiTurnSample('m1'));
    expect(multi).toMatchObject({ notebook: '(no notebook)', questions: 3, turns: 5, errors: 0 });
    const report = classroomReport('/class', [native, multi, { ...multi, student: 'bob', id: 'm2' }], [{ path: '/class/x/bad.aiev.json', reason: 'not JSON' }]);
    expect(report.rows.map(r => [r.student, r.notebook, r.sessions])).toEqual([
      ['alice', '(no notebook)', 1],
      ['alice', 'w1.ipynb', 1],
      ['bob', '(no notebook)', 1]
    ]);
    expect(report.per_student.map(r => [r.student, r.sessions, r.questions])).toEqual([['alice', 2, 4], ['bob', 1, 3]]);
    expect(report.turns_histogram['3-5']).toBe(2);
    const table = reportTable(report);
    expect(table.split('\n')[0]).toMatch(/^student +notebook +sessions +questions +turns/);
    expect(table).toContain('skipped /class/x/bad.aiev.json: not JSON');
  });

  it('escapes every name in the page, which runs no script', () => {
    const hostile = countSession('<img src=x onerror=alert(1)>', multiTurnSample('m1'));
    const html = reportHtml(classroomReport('/class', [hostile], []));
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('says there were no errors instead of drawing an empty chart', () => {
    const clean = reportHtml(classroomReport('/class', [countSession('bob', multiTurnSample('m1'))], []));
    expect(clean).toContain('No errors: every cell the agent ran worked.');
    const withErrors = reportHtml(classroomReport('/class', [countSession('alice', nativeSample('n1'))], []));
    expect(withErrors).not.toContain('No errors');
    expect(withErrors).toContain('ValueError: 1 errors');
  });

  it('formats time spent', () => {
    expect([formatDuration(0), formatDuration(75.4), formatDuration(3725)]).toEqual(['0:00', '1:15', '1:02:05']);
  });
});
