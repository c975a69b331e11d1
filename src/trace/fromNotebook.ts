/**
 * A notebook a person executed, as a sample: how classroom and analysis notebooks become training data. The
 * markdown before the first code cell is the task; every executed code cell is an assistant turn (the markdown just
 * before it as its text) with one `execute_cell` action and the execution as recorded in the file; markdown after
 * the last code cell is the answer. Code cells never run in the file (`execution_count: null`, e.g. the imports
 * run in an earlier sitting) are no turn, but stay in the final notebook in their place as setup
 * (`metadata.aiev.setup`: the replay runs them and compares nothing). The task's attachments are the files in the
 * notebook's folder that its code names (literals, and paths built from them: `notebookFiles.ts`) and the local
 * modules and packages it imports. The versions it states are its `environment` (`notebookEnvironment.ts`).
 * Nothing is re-run here: the replay verifier decides whether it holds.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import { createHash } from 'crypto';
import { dirname } from 'path';

import { actionKindOf } from './actionKind';
import { findAttachments } from './attachments';
import { notebookEnvironment } from './notebookEnvironment';
import { builtPaths, localModules } from './notebookFiles';
import { buildFinalNotebook } from './finalNotebook';
import { interactiveCounts } from './counts';
import { CRITERIA_VERSION } from './recorder';
import { IAssistantStep, IExecutionStep, ISample, IStep, IToolDefinition, SAMPLE_SCHEMA } from './types';

/** Options of `sampleFromNotebook`. */
export interface IFromNotebookOptions {
  /**
   * The notebook file on disk: the files its code reads are looked for in its folder (the working folder it ran
   * in); its name is in the default task text.
   */
  path: string;
  /** The notebook file's bytes, for the sha256 in the sample's id (`nb-<sha256>`). */
  bytes: string;
  /** What a model would have seen of a cell's outputs (the agent's output shaping). */
  modelText: (outputs: nbformat.IOutput[]) => string;
  /** The tool definitions the projections present (execute_cell, final_answer). */
  tools: IToolDefinition[];
  appVersion: string;
}

const sourceOf = (cell: nbformat.ICell): string => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);

function errorOf(outputs: nbformat.IOutput[]): { ename: string; evalue: string } | undefined {
  const error = outputs.find(o => o.output_type === 'error') as nbformat.IError | undefined;
  return error ? { ename: error.ename, evalue: error.evalue } : undefined;
}

/** The sample of an executed notebook; throws when it is not an nbformat 4 notebook or has no executed code cell. */
export function sampleFromNotebook(notebook: nbformat.INotebookContent, options: IFromNotebookOptions): ISample {
  if (notebook?.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new Error('not an nbformat 4 notebook');
  }
  const sha256 = createHash('sha256').update(options.bytes).digest('hex');
  const time = new Date(0).toISOString();
  const steps: IStep[] = [];
  const cells = notebook.cells.map((cell, index) => ({ ...cell, id: (cell.id as string) || `cell-${index}` }));
  const firstCode = cells.findIndex(c => c.cell_type === 'code');
  const intro = cells.slice(0, firstCode < 0 ? cells.length : firstCode).filter(c => c.cell_type === 'markdown');
  const prompt = intro.map(sourceOf).join('\n\n').trim() || `Reproduce the notebook ${options.path.split('/').pop()}.`;
  steps.push({ type: 'user', text: prompt, time });

  let pendingText: string[] = [];
  const codes: string[] = [];
  const setup = new Map<string, nbformat.ICodeCell>();
  for (const cell of cells.slice(Math.max(firstCode, 0))) {
    if (cell.cell_type === 'markdown') {
      pendingText.push(sourceOf(cell));
      continue;
    }
    const code = sourceOf(cell);
    const count = (cell as nbformat.ICodeCell).execution_count ?? null;
    if (cell.cell_type !== 'code' || !code.trim()) {
      continue; // raw cells and empty cells
    }
    if (count === null) {
      setup.set(cell.id, setupCell(cell as nbformat.ICodeCell, code)); // never run here: no execution to learn from
      continue;
    }
    codes.push(code);
    const callId = `nb_${codes.length}`;
    const outputs = ((cell as nbformat.ICodeCell).outputs ?? []) as nbformat.IOutput[];
    const error = errorOf(outputs);
    const assistant: IAssistantStep = {
      type: 'assistant',
      text: pendingText.join('\n\n').trim(),
      actions: [{ call_id: callId, tool: 'execute_cell', kind: actionKindOf(code), cell_id: cell.id, arguments: { code }, code }],
      time
    };
    const execution: IExecutionStep = {
      type: 'execution',
      call_id: callId,
      cell_id: cell.id,
      code,
      executor: 'ipykernel',
      execution_count: count,
      status: error ? 'error' : 'ok',
      started_at: time,
      duration_ms: 0,
      ...(error ? { error } : {}),
      outputs,
      truncated: false,
      model_text: options.modelText(outputs)
    };
    steps.push(assistant, execution);
    pendingText = [];
  }
  if (!codes.length) {
    throw new Error('the notebook has no executed code cell');
  }
  const answer = pendingText.join('\n\n').trim();
  const folder = dirname(options.path);
  const allCodes = [...codes, ...[...setup.values()].map(sourceOf)];
  const modules = localModules(allCodes, folder);
  const scanned = [...allCodes, ...modules.map(m => m.code)];
  const attachments = findAttachments(scanned, folder, { paths: [...modules.map(m => m.path), ...builtPaths(scanned)] });
  const codeCells = cells.filter((c): c is nbformat.ICodeCell & { id: string } => c.cell_type === 'code');
  return {
    schema: { ...SAMPLE_SCHEMA },
    id: `nb-${sha256.slice(0, 32)}`,
    created_at: time,
    license: 'unspecified',
    redactions: [],
    source: {
      app: 'jupyterlab-aiev/harvest',
      app_version: options.appVersion,
      model: 'human',
      provider_host: '',
      tool_mode: 'native',
      stream: false,
      sampling: {},
      system_prompt_id: 'native-v1'
    },
    task: { prompt, attachments, tags: ['notebook'] },
    tools: options.tools,
    steps,
    notebook: withSetupCells(buildFinalNotebook(steps, notebook), codeCells, setup),
    verification: {
      interactive: interactiveCounts(steps, { sameCodeOnly: true }),
      replay: null,
      tests: null,
      verdict: 'unverified',
      criteria_version: CRITERIA_VERSION
    },
    environment: notebookEnvironment(notebook, codeCells),
    outcome: answer ? { reason: 'final_answer', answer } : { reason: 'final_answer', answer: '' },
    outputs_cap_bytes: 0
  };
}

/** A cell the notebook never ran, for the final notebook: replayed as setup, nothing compared. */
function setupCell(cell: nbformat.ICodeCell, code: string): nbformat.ICodeCell {
  const aiev = { kind: actionKindOf(code), setup: true };
  return { cell_type: 'code', id: cell.id, source: code, metadata: { aiev } as unknown as nbformat.ICodeCellMetadata, outputs: [], execution_count: null };
}

/** `final` with the setup cells put back where they were in the notebook (its code cells `order`). */
function withSetupCells(
  final: nbformat.INotebookContent,
  order: { id: string }[],
  setup: Map<string, nbformat.ICodeCell>
): nbformat.INotebookContent {
  if (!setup.size) {
    return final;
  }
  const kept = new Map(final.cells.map(cell => [cell.id as string, cell]));
  const cells = order.flatMap(({ id }) => {
    const cell = setup.get(id) ?? kept.get(id);
    return cell ? [cell] : [];
  });
  return { ...final, cells };
}
