/**
 * A sidebar session that reads a CSV beside its notebook, verified on the server (the sidebar's "Verify before
 * done" gate, through `/aiev/verify`): the server lists the CSV as an attachment and copies it into the replay's
 * folder, so the session comes out `verified`, not `failed` on a missing file. Real server, kernels and files.
 */
import { createHash } from 'crypto';
import { ContentsManager } from '@jupyterlab/services';

import type { IEventStep } from '../../src/trace/types';
import { ITestServer, startTestServer } from '../helpers/jupyter';
import { runSidebarSession } from '../helpers/sidebarSession';
import { IScriptedModel, startScriptedModel } from '../scripted-model/server';

const CSV = 'a,b\n1,2\n3,4\n';
const READ = "import csv\nrows = list(csv.reader(open('data.csv')))\nprint(len(rows), rows[-1])";
const OUTPUT = "import csv\nwith open('out.csv', 'w') as f:\n    f.write('x\\n')\nprint(open('out.csv').read())";

describe('a sidebar session that reads a file beside its notebook, verified on the server', () => {
  let server: ITestServer;
  let model: IScriptedModel;
  beforeAll(async () => {
    model = await startScriptedModel([
      { toolCalls: [{ name: 'execute_cell', arguments: { code: READ } }] },
      { toolCalls: [{ name: 'execute_cell', arguments: { code: OUTPUT } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { answer: '3 rows' } }] }
    ]);
    server = await startTestServer({ OPENAI_BASE_URL: model.baseUrl, AIEV_MODEL: 'scripted', OPENAI_API_KEY: 'verify-key-0123456789' });
    const contents = new ContentsManager({ serverSettings: server.settings });
    await contents.save('week1', { type: 'directory' });
    await contents.save('week1/data.csv', { type: 'file', format: 'text', content: CSV });
  }, 120000);
  afterAll(async () => {
    await server?.stop();
    await model?.stop();
  });

  it('lists the CSV (not the file it wrote) as an attachment, and the gate replays it verified', async () => {
    const { outcome, record } = await runSidebarSession(server, 'week1/a.ipynb', 'How many rows has data.csv?', { verifyGate: true });
    expect(outcome).toEqual({ reason: 'final_answer', answer: '3 rows' });
    expect(record.task.attachments).toEqual([{ path: 'data.csv', sha256: createHash('sha256').update(CSV).digest('hex') }]);
    const gates = record.steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'verify_gate');
    expect(gates.map(g => [g.detail.verdict, g.detail.passed])).toEqual([['verified', true]]);
    expect(record.verification.verdict).toBe('verified');
    expect(record.verification.replay?.attachments).toEqual([{ path: 'data.csv', status: 'copied' }]);
  }, 180000);
});
