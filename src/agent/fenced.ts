/** A code block the model asked to run in fenced mode. */
export interface IFencedBlock {
  language: 'python' | 'sh';
  /** The block as a notebook cell: shell blocks become `%pip install` / `!cmd` lines. */
  code: string;
}

const FENCE = /```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n([\s\S]*?)```/g;
const PYTHON = new Set(['python', 'py', 'python3', 'ipython', '']);
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * The execution requests in a reply: ```python blocks (and unlabelled ones) as they are, ```sh blocks turned
 * into IPython lines so they run in the kernel's environment (`pip install` → `%pip install`, others → `!cmd`).
 * Blocks in other languages (json, text, …) are not executed.
 */
export function parseFencedBlocks(text: string): IFencedBlock[] {
  const blocks: IFencedBlock[] = [];
  for (const match of text.matchAll(FENCE)) {
    const language = match[1].toLowerCase();
    const body = match[2].replace(/\s+$/, '');
    if (!body.trim()) {
      continue;
    }
    if (PYTHON.has(language)) {
      blocks.push({ language: 'python', code: body });
    } else if (SHELL.has(language)) {
      blocks.push({ language: 'sh', code: shellToIPython(body) });
    }
  }
  return blocks;
}

function shellToIPython(body: string): string {
  return body
    .split('\n')
    .filter(line => line.trim())
    .map(line => line.replace(/^\s*\$\s*/, ''))
    .map(line => (/^\s*(pip3?|python3? -m pip)\s+/.test(line) ? `%pip ${line.replace(/^\s*(pip3?|python3? -m pip)\s+/, '')}` : `!${line.trim()}`))
    .join('\n');
}
