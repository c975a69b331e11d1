/**
 * "Undo agent run" on a real notebook and kernel: the cells the run added are gone and the cell it edited has its
 * source back, ids kept, in one change; the kernel keeps its state; the record says so; one undo per run.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { AgentSession } from '../../src/agent/session';
import { runSource } from '../../src/agent/source';
import { ChatClient } from '../../src/llm/client';
import { HeadlessNotebookDriver } from '../../src/notebook/headless';
import { fileLogSink } from '../../src/trace/logFile';
import type { IEventStep } from '../../src/trace/types';
import { withTestServer } from '../helpers/jupyter';
import { startScriptedModel } from '../scripted-model/server';

const call = (name: string, args: object) => ({ toolCalls: [{ name, arguments: args }] });

describe('undo of an agent run', () => {
  const server = withTestServer();

  it('puts the cells back to before the run, keeps the kernel, and records it', async () => {
    let firstCell = '';
    const model = await startScriptedModel([
      call('execute_cell', { code: 'x = 1' }),
      call('final_answer', { answer: 'x is 1' }),
      call('execute_cell', { code: 'y = x + 1' }),
      () => call('edit_cell', { cell_id: firstCell, code: 'x = 100' }),
      call('execute_cell', { code: 'print(y)' }),
      call('final_answer', { answer: 'done' })
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'aiev-undo-'));
    const driver = await HeadlessNotebookDriver.open({ settings: server().settings, path: `undo-${process.pid}.ipynb`, interruptGraceMs: 5000 });
    const session = await AgentSession.start({
      driver,
      client: new ChatClient({ baseURL: model.baseUrl, apiKey: 'k', model: 'scripted', maxRetries: 0 }),
      sink: fileLogSink(join(dir, 'events.jsonl')),
      source: runSource({ app: 'jupyterlab-aiev/test', appVersion: '0', model: 'scripted', baseUrl: model.baseUrl, toolMode: 'native', stream: true }),
      toolMode: 'native',
      prompt: 'p'
    });
    try {
      expect(session.canUndo).toBe(false);
      await session.send('Set x.');
      const afterFirst = driver.cellsJSON();
      expect(afterFirst.map(c => c.source)).toEqual(['x = 1']);
      firstCell = driver.cells()[0].id;
      await session.send('Now y, and change x.');
      expect(driver.cells().map(c => c.source)).toEqual(['x = 100', 'y = x + 1', 'print(y)']);
      expect(session.canUndo).toBe(true);

      expect(await session.undoLastRun()).toBe(true);
      expect(driver.cellsJSON()).toEqual(afterFirst);
      expect(session.canUndo).toBe(false);
      expect(await session.undoLastRun()).toBe(false);
      // The kernel is not undone: y still exists there.
      const silent = await driver.executeSilent('print(y)');
      expect(silent.stdout.trim()).toBe('2');
      const undo = session.record().steps.filter((s): s is IEventStep => s.type === 'event' && s.event === 'undo_run');
      expect(undo.map(s => s.detail)).toEqual([{ run: 2, cells_before: 3, cells_after: 1 }]);
    } finally {
      await session.close();
      await driver.dispose();
      await model.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
