/**
 * Classroom collection end to end: two students' real Jupyter servers (two identities) share one collection
 * folder; each runs sidebar sessions (the sidebar's own pieces: `BridgeLogSink`, the bridge's model proxy, the
 * record put on the server) against the scripted model; each session lands in its student's folder as it
 * grows; neither server's routes reach the other's sessions; `aiev report` counts both students.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import type { IClassroomReport } from '../../src/report/classroom';
import { BridgeClient, BridgeResponseError } from '../../src/request';
import { ITestServer, startTestServer } from '../helpers/jupyter';
import { runSidebarSession } from '../helpers/sidebarSession';
import { IScriptedModel, ScriptEntry, startScriptedModel } from '../scripted-model/server';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'aiev.cjs');
const execute = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
const answer = (text: string) => ({ toolCalls: [{ name: 'final_answer', arguments: { answer: text } }] });

/** A sidebar session on `server`'s notebook `path`: one question, run to its final answer; its id. */
async function sidebarSession(server: ITestServer, path: string, question: string): Promise<string> {
  const { outcome, record } = await runSidebarSession(server, path, question);
  expect(outcome.reason).toBe('final_answer');
  return record.id;
}

describe('classroom collection: two students, one collection folder, aiev report', () => {
  let folder: string;
  let homes: string;
  let model: IScriptedModel;
  const servers: Record<string, ITestServer> = {};

  beforeAll(async () => {
    execFileSync(join(ROOT, '.venv', 'bin', 'jlpm'), ['build:cli'], { cwd: ROOT, stdio: 'ignore' });
    folder = mkdtempSync(join(tmpdir(), 'aiev-class-'));
    homes = mkdtempSync(join(tmpdir(), 'aiev-homes-'));
    // Alice: an error, then its fix, then the answer; a second session on another notebook. Bob: one answer.
    const script: ScriptEntry[] = [
      execute('import math\nprint(math.sqrt(-1))'),
      execute('import cmath\nprint(cmath.sqrt(-1))'),
      answer('1j'),
      execute("print(sum(int(x) for x in open('nums.txt').read().split()))"),
      answer('45'),
      execute('print(2 ** 10)'),
      answer('1024')
    ];
    model = await startScriptedModel(script);
    for (const student of ['alice', 'bob']) {
      const env = { JUPYTERHUB_USER: student, OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: 'class-key-0123456789' };
      mkdirSync(join(homes, student, 'week1'), { recursive: true });
      servers[student] = await startTestServer(env, [`--AievBridge.collection_dir=${folder}`], join(homes, student));
    }
    // The file Alice's second session reads, in her notebook's folder.
    writeFileSync(join(homes, 'alice', 'week1', 'nums.txt'), '0 1 2 3 4 5 6 7 8 9\n');
  }, 120000);
  afterAll(async () => {
    await Promise.all(Object.values(servers).map(server => server.stop()));
    await model?.stop();
    rmSync(folder, { recursive: true, force: true });
    rmSync(homes, { recursive: true, force: true });
  });

  it('saves each student\'s sessions under their name, keeps them apart, and the report counts both', async () => {
    const alice = new BridgeClient(servers.alice.settings);
    const bob = new BridgeClient(servers.bob.settings);
    expect((await alice.config()).collection).toEqual({ user: 'alice', required: false, active: true, message: null });

    const a1 = await sidebarSession(servers.alice, 'week1/roots.ipynb', 'What is the square root of -1?');
    const a2 = await sidebarSession(servers.alice, 'week1/sums.ipynb', 'Sum 0..9');
    const b1 = await sidebarSession(servers.bob, 'week1/roots.ipynb', 'What is 2 to the 10th?');

    const files = (student: string) => readdirSync(join(folder, student)).filter(name => !name.startsWith('.')).sort();
    expect(files('alice')).toEqual([a1, a2].flatMap(id => [`${id}.aiev.events.jsonl`, `${id}.aiev.json`]).sort());
    expect(files('bob')).toEqual([`${b1}.aiev.events.jsonl`, `${b1}.aiev.json`]);

    // Each server lists only its student's sessions and cannot read the other's by id.
    expect((await alice.sessions('week1/roots.ipynb')).map(s => s.id)).toEqual([a1]);
    expect((await bob.sessions('week1/roots.ipynb')).map(s => s.id)).toEqual([b1]);
    await expect(alice.events(b1)).rejects.toBeInstanceOf(BridgeResponseError);
    await expect(bob.events(a1)).rejects.toMatchObject({ response: { status: 404 } });
    await expect(bob.deleteSession(a1)).rejects.toMatchObject({ response: { status: 404 } });
    expect(files('alice')).toHaveLength(4);

    // The teacher's report over the folder as it is.
    const out = join(folder, '..', `${process.pid}-report`);
    const table = execFileSync(process.execPath, [CLI, 'report', folder, '--out', `${out}.html`, '--json', `${out}.json`], { encoding: 'utf8' });
    const report: IClassroomReport = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(report.students).toEqual(['alice', 'bob']);
    expect(report.notebooks).toEqual(['week1/roots.ipynb', 'week1/sums.ipynb']);
    const row = (student: string, notebook: string) => report.rows.find(r => r.student === student && r.notebook === notebook)!;
    expect(row('alice', 'week1/roots.ipynb')).toMatchObject({ sessions: 1, questions: 1, turns: 3, errors: 1, fixes: 1 });
    expect(row('alice', 'week1/sums.ipynb')).toMatchObject({ sessions: 1, questions: 1, turns: 2, errors: 0, fixes: 0 });
    expect(row('bob', 'week1/roots.ipynb')).toMatchObject({ sessions: 1, questions: 1, turns: 2, errors: 0 });
    expect(report.per_student.map(r => [r.student, r.sessions])).toEqual([['alice', 2], ['bob', 1]]);
    expect(report.errors_by_type).toEqual({ ValueError: 1 });
    expect(report.turns_histogram).toMatchObject({ '2': 2, '3-5': 1 });
    expect(row('alice', 'week1/roots.ipynb').seconds).toBeGreaterThan(0);
    expect(table).toMatch(/^alice +week1\/roots\.ipynb +1 +1 +3 +1 +1 /m);
    expect(table).toContain('2 students, 2 notebooks, 3 sessions');
    const html = readFileSync(`${out}.html`, 'utf8');
    expect(html).toContain('aria-label="Verdicts per student"');
    expect(html).toContain('<td>bob</td>');
    // Sessions not replayed count as unverified; --verify replays them (the collection is only read), with the
    // files they read from each student's notebook folder (--homes); without those files a session fails.
    expect(report.per_student.map(r => [r.student, r.verdicts.verified, r.verdicts.unverified])).toEqual([['alice', 0, 2], ['bob', 0, 1]]);
    const before = files('alice').map(name => readFileSync(join(folder, 'alice', name), 'utf8'));
    const verdicts = (...args: string[]) => {
      execFileSync(process.execPath, [CLI, 'report', folder, '--verify', '--json', `${out}.json`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const verified: IClassroomReport = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
      return verified.rows.map(r => [r.student, r.notebook, r.verdicts.verified, r.verdicts.failed]);
    };
    expect(verdicts('--homes', join(homes, '{student}'))).toEqual([
      ['alice', 'week1/roots.ipynb', 1, 0],
      ['alice', 'week1/sums.ipynb', 1, 0],
      ['bob', 'week1/roots.ipynb', 1, 0]
    ]);
    expect(verdicts()).toEqual([
      ['alice', 'week1/roots.ipynb', 1, 0],
      ['alice', 'week1/sums.ipynb', 0, 1],
      ['bob', 'week1/roots.ipynb', 1, 0]
    ]);
    expect(files('alice').map(name => readFileSync(join(folder, 'alice', name), 'utf8'))).toEqual(before);
    rmSync(`${out}.html`);
    rmSync(`${out}.json`);
  }, 300000);
});
