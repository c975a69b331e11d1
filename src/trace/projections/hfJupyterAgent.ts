/**
 * The schema of Hugging Face's jupyter-agent dataset
 * (https://huggingface.co/datasets/jupyter-agent/jupyter-agent-dataset, see its dataset card's features):
 * `{"id", "messages", "question", "answer", "files_used", "packages_used", "executor_type", "tools"}`.
 *
 * - `messages`: the training dialogue with tool-call arguments as objects, as in that dataset (same messages as
 *   the trl projection; they also keep call ids and `tool_call_id`, which the dataset lacks, so results pair up).
 * - `question`: the task prompt; `answer`: the run's final answer (`""` when it gave none).
 * - `files_used`: the task's attachment paths.
 * - `packages_used`: a list of strings as in the dataset, here `name==version` of every distribution the session
 *   installed or upgraded (the install steps' resolved versions, overridden by `environment.installed_during_session`
 *   when present), sorted by name. The dataset lists imported package names without versions; ours are what had to
 *   be installed, pinned.
 * - `executor_type`: the dataset says which sandbox ran its code (`"e2b"`); ours ran on a real IPython kernel
 *   behind a Jupyter server, hence `"ipykernel"`, the record's own `executor` value.
 * - `tools`: the tool definitions the model was given (`[]` in fenced mode).
 */
import type { ISample } from '../types';
import { trainingDialogue } from './dialogue';
import { objectArgumentsMessage } from './trl';

/** `executor_type` of every row. */
export const EXECUTOR_TYPE = 'ipykernel';

/** `name==version` of what the session installed, sorted by name. */
export function packagesUsed(sample: ISample): string[] {
  const versions = new Map<string, { name: string; version: string }>();
  for (const step of sample.steps) {
    if (step.type === 'execution') {
      for (const p of step.install?.resolved ?? []) {
        versions.set(p.name.toLowerCase(), p);
      }
    }
  }
  for (const p of sample.environment?.installed_during_session ?? []) {
    versions.set(p.name.toLowerCase(), p);
  }
  return [...versions.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, p]) => `${p.name}==${p.version}`);
}

/** The jupyter-agent row of a sample, as an object. */
export function hfJupyterAgentRow(sample: ISample): Record<string, unknown> {
  const dialogue = trainingDialogue(sample);
  return {
    id: sample.id,
    messages: dialogue.messages.map(message => objectArgumentsMessage(message, dialogue)),
    question: sample.task.prompt,
    answer: sample.outcome?.answer ?? '',
    files_used: sample.task.attachments.map(a => a.path),
    packages_used: packagesUsed(sample),
    executor_type: EXECUTOR_TYPE,
    tools: sample.tools
  };
}
