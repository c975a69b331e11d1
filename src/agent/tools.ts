import type { IToolDefinition } from '../trace/types';

/** Names of the tools the agent offers the model. */
export type ToolName =
  | 'execute_cell'
  | 'edit_cell'
  | 'run_cell'
  | 'read_notebook'
  | 'inspect_variables'
  | 'restart_kernel'
  | 'final_answer';

function tool(name: ToolName, description: string, properties: Record<string, unknown>): IToolDefinition {
  return {
    type: 'function',
    function: {
      name,
      description,
      parameters: { type: 'object', properties, required: Object.keys(properties), additionalProperties: false }
    }
  };
}

const CODE = { type: 'string', description: 'Python source of the cell. IPython magics such as %pip install work.' };
const CELL_ID = { type: 'string', description: 'Id of a cell, as returned by an earlier tool result.' };

/** The tool definitions, in the order the model is given them. */
export const TOOL_DEFINITIONS: IToolDefinition[] = [
  tool(
    'execute_cell',
    'Append a new code cell to the notebook and run it on the kernel. Returns the cell id, the status, the ' +
      'execution count and the output (errors with their traceback). Install packages with `%pip install NAME`.',
    { code: CODE }
  ),
  tool('edit_cell', 'Replace the source of an existing cell (keeps its id; does not run it). Returns the cell id.', {
    cell_id: CELL_ID,
    code: CODE
  }),
  tool('run_cell', 'Run an existing cell again on the kernel. Returns the same result as execute_cell.', {
    cell_id: CELL_ID
  }),
  tool('read_notebook', 'List every cell: id, source and a short view of its last output.', {}),
  tool(
    'inspect_variables',
    "List the kernel's variables without running a cell: names, types, shapes or lengths, and for a DataFrame its " +
      'columns, dtypes and first rows.',
    {}
  ),
  tool('restart_kernel', 'Restart the kernel: all variables and imports are lost. Needed after upgrading an imported package.', {}),
  tool('final_answer', 'Finish the task: give the answer, based on outputs you have seen. Call it exactly once, last.', {
    answer: { type: 'string', description: 'The final answer for the user.' }
  })
];

/** Whether `name` is one of our tools. */
export function isToolName(name: string): name is ToolName {
  return TOOL_DEFINITIONS.some(t => t.function.name === name);
}

export { actionKindOf } from '../trace/actionKind';
