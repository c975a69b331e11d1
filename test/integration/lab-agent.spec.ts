import { execFileSync } from 'child_process';
import { join } from 'path';

import type { NotebookPanel } from '@jupyterlab/notebook';

import { LabNotebookDriver } from '../../src/notebook/lab';
import { executions, runScripted, streamText } from '../helpers/agentHarness';
import { asJupyterLabStores, dismissDialogs, ILabParts, startLab } from '../helpers/lab';
import { ChatRequest, lastToolResult } from '../scripted-model/server';

const PIP = join(__dirname, '..', '..', '.venv', 'bin', 'pip');
// Not agent.spec.ts's package: the two files may run at the same time against one venv.
const PACKAGE = 'termcolor';

function uninstall(): void {
  execFileSync(PIP, ['uninstall', '-y', '-q', PACKAGE], { stdio: 'ignore' });
}

const execute = (code: string) => ({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });

describe('the agent on a JupyterLab notebook panel', () => {
  let lab: ILabParts;
  beforeAll(async () => {
    uninstall();
    lab = await startLab();
  });
  afterAll(async () => {
    await lab?.stop();
    uninstall();
  });

  it('ModuleNotFoundError, %pip install, fixed: the cells run in the panel and hold what the record holds', async () => {
    let panel: NotebookPanel | undefined;
    const script = [
      execute(`import ${PACKAGE}`),
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toContain(`ModuleNotFoundError: No module named '${PACKAGE}'`);
        return execute(`%pip install -q ${PACKAGE}`);
      },
      (request: ChatRequest) => {
        expect(lastToolResult(request)).toMatch(new RegExp(`^installed: .*${PACKAGE}==`, 'mi'));
        return execute(`import importlib.metadata, ${PACKAGE}\nprint(repr(${PACKAGE}.colored('hi', 'red')))\nprint(importlib.metadata.version('${PACKAGE}'))`);
      },
      (request: ChatRequest) => ({
        toolCalls: [{ name: 'final_answer', arguments: { answer: lastToolResult(request).split('output:\n')[1] } }]
      })
    ];
    try {
      const run = await runScripted(lab.server, script, {
        fetch,
        openDriver: async path => {
          panel = await lab.openNotebook(path);
          return LabNotebookDriver.open(panel, { interruptGraceMs: 5000 });
        }
      });
      expect(run.outcome.reason).toBe('final_answer');
      const steps = executions(run.sample);
      expect(steps.map(s => s.status)).toEqual(['error', 'ok', 'ok']);
      const version = steps[1].install!.resolved.find(p => p.name.toLowerCase() === PACKAGE)!.version;
      expect(streamText(steps[2])).toBe(`'\\x1b[31mhi\\x1b[0m'\n${version}\n`);
      expect(run.outcome.answer?.trim()).toBe(`'\\x1b[31mhi\\x1b[0m'\n${version}`);

      // The panel's notebook holds the agent's cells, in order, each with the record's outputs (as JupyterLab
      // stores them) and execution count.
      const model = panel!.content.model!;
      const agentCells = [...model.cells].filter(cell => cell.getMetadata('aiev'));
      expect(agentCells.map(cell => cell.id)).toEqual(steps.map(s => s.cell_id));
      agentCells.forEach((cell, i) => {
        const json = cell.toJSON() as any;
        expect(json.source).toBe(steps[i].code);
        expect(json.outputs).toEqual(asJupyterLabStores(steps[i].outputs));
        expect(json.execution_count).toBe(steps[i].execution_count);
        expect(json.metadata.aiev.call_id).toBe(steps[i].call_id);
      });
      const widget = panel!.content.widgets.find(w => w.model.id === steps[2].cell_id)!;
      expect(widget.node.querySelector('.jp-InputPrompt')!.textContent).toBe(`[${steps[2].execution_count}]:`);
      expect(widget.node.querySelector('.jp-OutputArea-output')!.textContent).toContain(version);
      // Saved through the panel's context: the file on the server has the same cells, ids included.
      const saved = run.savedNotebook.cells.filter((c: any) => c.metadata.aiev);
      expect(saved.map((c: any) => c.id)).toEqual(steps.map(s => s.cell_id));
    } finally {
      dismissDialogs();
      await panel?.sessionContext.shutdown();
      panel?.dispose();
    }
  });
});
