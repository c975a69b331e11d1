/**
 * Cell review on a real notebook and kernel: the cells the agent added or changed wait for Accept / Reject (per
 * cell and per run); Reject removes an added cell or puts the previous source back, and keeps the user's own
 * version of a cell they had edited (recorded as its replacement); in `ask` mode an edit waits with the source it
 * would replace and is applied only once allowed. Every decision is a `review` event in the record; a session
 * continued from its log (a reload) has the same cells waiting for review.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { AgentSession } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { fileLogSink, readLogFile, recordFromLogFile } from '../../src/trace/logFile';
import type { IEventStep, IReviewDetail } from '../../src/trace/types';
import { validateSample } from '../../src/trace/validate';
import { withTestServer } from '../helpers/jupyter';
import { until } from '../helpers/until';
import { ChatRequest, lastToolResult, startScriptedModel } from '../scripted-model/server';

const call = (name: string, args: object) => ({ toolCalls: [{ name, arguments: args }] });

describe('cell review on a real kernel', () => {
  const server = withTestServer();

  it('accepts and rejects per cell and per run, keeps user replacements, asks before edits in ask mode', async () => {
    let x = '';
    const model = await startScriptedModel([
      call('execute_cell', { code: 'x = 1' }),
      call('final_answer', { answer: 'x is 1' }),
      call('execute_cell', { code: 'y = 2' }),
      () => call('edit_cell', { cell_id: x, code: 'x = 10' }),
      call('execute_cell', { code: 'z = 3' }),
      call('final_answer', { answer: 'done' }),
      () => call('edit_cell', { cell_id: x, code: 'x = 5' }),
      (request: ChatRequest) => {
        // The rejection put x back: to the agent that is the user's change, shown to it, not overwritten.
        expect(lastToolResult(request)).toContain(`the user changed cell ${x} since you last saw it, so it was not overwritten. Its current source:\nx = 1`);
        return call('edit_cell', { cell_id: x, code: 'x = 5' });
      },
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toContain('not applied: the user rejected this edit_cell call, saying: keep x small');
        return call('edit_cell', { cell_id: x, code: 'x = 2' });
      },
      call('final_answer', { answer: 'x is 2' })
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'aiev-review-'));
    const log = join(dir, 'events.jsonl');
    const driver = await HeadlessNotebookDriver.open({ settings: server().settings, path: `review-${process.pid}.ipynb`, interruptGraceMs: 5000 });
    const options = {
      driver,
      client: new ChatClient({ baseURL: model.baseUrl, apiKey: 'k', model: 'scripted', maxRetries: 0 }),
      sink: fileLogSink(log),
      source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
      toolMode: 'native' as const
    };
    let session = await AgentSession.start({ ...options, prompt: 'p' });
    const sources = () => driver.cells().map(c => c.source);
    const items = () => session.reviewItems.map(i => [i.position, i.change, i.turn, i.before, i.after]);
    try {
      await session.send('Set x.');
      x = driver.cells()[0].id;
      expect(items()).toEqual([[1, 'added', 1, null, 'x = 1']]);
      await session.review({ turn: 1 }, 'accepted');
      expect(items()).toEqual([]);
      expect(sources()).toEqual(['x = 1']);

      await session.send('y and z, and a bigger x.');
      expect(sources()).toEqual(['x = 10', 'y = 2', 'z = 3']);
      expect(items()).toEqual([
        [2, 'added', 2, null, 'y = 2'],
        [1, 'changed', 2, 'x = 1', 'x = 10'],
        [3, 'added', 2, null, 'z = 3']
      ]);
      // A reload: the session continued from its log takes its review up again (the agent_cell events).
      const pending = items();
      await session.close();
      session = await AgentSession.resume(options, readLogFile(log));
      expect(items()).toEqual(pending);
      const [y, , z] = session.reviewItems.map(i => i.cellId);
      // The user writes their own z, then rejects the agent's: the cell keeps the user's version.
      driver.setCellSource(z, 'z = 30');
      await session.review({ cellId: z }, 'rejected');
      await session.review({ cellId: y }, 'rejected');
      await session.review({ cellId: x }, 'rejected');
      expect(sources()).toEqual(['x = 1', 'z = 30']);
      expect(items()).toEqual([]);

      session.approvalMode = 'ask';
      const third = session.send('Make x 5.');
      await until(() => session.pendingApproval !== null, 'the edit waiting for approval');
      expect(session.pendingApproval).toMatchObject({ tool: 'edit_cell', kind: 'notebook', before: 'x = 1', code: 'x = 5' });
      expect(sources()).toEqual(['x = 1', 'z = 30']); // nothing applied before the user allows it
      session.decide({ choice: 'reject', reason: 'keep x small' });
      await until(() => session.pendingApproval?.code === 'x = 2', 'the second attempt');
      expect(sources()).toEqual(['x = 1', 'z = 30']);
      session.decide({ choice: 'allow_once' });
      expect(await third).toMatchObject({ reason: 'final_answer' });
      expect(sources()).toEqual(['x = 2', 'z = 30']);
      expect(items()).toEqual([[1, 'changed', 3, 'x = 1', 'x = 2']]);
      await session.review({ turn: 3 }, 'rejected');
      expect(sources()).toEqual(['x = 1', 'z = 30']);

      const record = await recordFromLogFile(log);
      expect(validateSample(record).errors).toEqual([]);
      const reviews = record.steps
        .filter((s): s is IEventStep => s.type === 'event' && s.event === 'review')
        .map(s => s.detail as unknown as IReviewDetail)
        .map(d => [d.turn, d.change, d.decision, d.scope, d.before, d.after, d.replacement, d.decided_by]);
      expect(reviews).toEqual([
        [1, 'added', 'accepted', 'run', null, 'x = 1', null, 'user'],
        [2, 'added', 'rejected', 'cell', null, 'z = 3', 'z = 30', 'user'],
        [2, 'added', 'rejected', 'cell', null, 'y = 2', null, 'user'],
        [2, 'changed', 'rejected', 'cell', 'x = 1', 'x = 10', null, 'user'],
        [3, 'changed', 'rejected', 'run', 'x = 1', 'x = 2', null, 'user']
      ]);
      const approvals = record.steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'approval').map(s => [s.detail.tool, s.detail.decision]);
      expect(approvals).toEqual([
        ['edit_cell', 'reject'],
        ['edit_cell', 'allow_once']
      ]);
      model.verify();
    } finally {
      await session.close();
      await driver.dispose();
      await model.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
