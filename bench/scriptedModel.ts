/** The scripted model as its own process (test/scripted-model/run-script.js), as a real endpoint would be. */
import { ChildProcess, spawn } from 'child_process';
import { writeFileSync } from 'fs';
import { join } from 'path';

import { ROOT } from './common';

export interface IModelProcess {
  baseUrl: string;
  /** SIGTERM, then its report on stderr ("N chat requests, M turns left"). */
  stop(): Promise<string>;
}

/** A script of `steps` turns of `execute_cell(code)`, then `final_answer`. */
export function executeScript(steps: number, code = 'print(1)'): object[] {
  const turns: object[] = [];
  for (let i = 0; i < steps; i++) {
    turns.push({ toolCalls: [{ name: 'execute_cell', arguments: { code } }] });
  }
  turns.push({ toolCalls: [{ name: 'final_answer', arguments: { answer: 'done' } }] });
  return turns;
}

/** Write `script` to `dir` and serve it; resolves with the base URL once the server listens. */
export async function startModelProcess(script: object[], dir: string, name: string): Promise<IModelProcess> {
  const path = join(dir, `${name}.script.json`);
  writeFileSync(path, JSON.stringify(script));
  const child = spawn(process.execPath, [join(ROOT, 'test', 'scripted-model', 'run-script.js'), path], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let stderr = '';
  child.stderr!.on('data', chunk => (stderr += chunk));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', chunk => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) {
        resolve(line.trim());
      }
    });
    child.once('error', reject);
    child.once('exit', code => reject(new Error(`scripted model exited ${code}: ${stderr.trim()}`)));
  });
  return { baseUrl, stop: () => stopChild(child).then(() => stderr.trim()) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
