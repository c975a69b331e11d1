import type { ActionKind } from './types';

const INSTALL = /^\s*(?:%|!)\s*(?:pip3?|conda|mamba|uv\s+pip)\s+install\b/m;
const SHELL = /^\s*(?:!|%%(?:bash|sh|script)\b|%(?:sx|system)\b)/;
const MAGIC = /^\s*%/;

/** What a cell's code does: an install, a shell command, another magic, or plain Python. */
export function actionKindOf(code: string): Exclude<ActionKind, 'final_answer' | 'notebook'> {
  const firstLine = code.split('\n').find(line => line.trim() && !line.trim().startsWith('#')) ?? '';
  if (INSTALL.test(code) && (MAGIC.test(firstLine) || SHELL.test(firstLine))) {
    return 'pip';
  }
  if (SHELL.test(firstLine)) {
    return 'shell';
  }
  if (MAGIC.test(firstLine)) {
    return 'magic';
  }
  return 'python';
}
