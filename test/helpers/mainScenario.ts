/**
 * The agent's main scenario, for every home and every model dialect: `import tabulate` fails with
 * ModuleNotFoundError, `%pip install` fixes it, a cell prints a value only the real output gives (the installed
 * version), and the final answer carries it. The scripted turns check what the model was shown as they go.
 */
import { execFileSync } from 'child_process';
import { join } from 'path';

import type { IExecutionStep, IOutcome, ISample } from '../../src/trace/types';
import { ChatRequest, lastToolResult, ScriptEntry } from '../scripted-model/server';
import { executions, streamText } from './agentHarness';

/** A small pure-Python package the venv does not keep installed. */
export const PACKAGE = 'tabulate';

const PIP = join(__dirname, '..', '..', '.venv', 'bin', 'pip');

/** Uninstall `PACKAGE` from the project's venv (which the test kernels use). */
export function uninstallPackage(): void {
  execFileSync(PIP, ['uninstall', '-y', '-q', PACKAGE], { stdio: 'ignore' });
}

/** The value after `key: ` on its own line of a tool result. */
export function field(text: string, key: string): string {
  const match = new RegExp(`^${key}: (.*)$`, 'm').exec(text);
  if (!match) {
    throw new Error(`no '${key}:' line in tool result:\n${text}`);
  }
  return match[1];
}

/** What the model was shown during the scenario. */
export interface IScenarioSeen {
  installed: string;
  printed: string;
}

/** The four scripted turns of the scenario, and what they saw (filled as the model is asked). */
export function mainScenario(): { script: ScriptEntry[]; seen: IScenarioSeen } {
  const seen: IScenarioSeen = { installed: '', printed: '' };
  const script: ScriptEntry[] = [
    { content: 'Let me try tabulate.', toolCalls: [{ name: 'execute_cell', arguments: { code: `import ${PACKAGE}` } }] },
    (request: ChatRequest) => {
      const result = lastToolResult(request);
      expect(field(result, 'status')).toBe('error');
      expect(result).toContain(`ModuleNotFoundError: No module named '${PACKAGE}'`);
      return { toolCalls: [{ name: 'execute_cell', arguments: { code: `%pip install -q ${PACKAGE}` } }] };
    },
    (request: ChatRequest) => {
      const result = lastToolResult(request);
      expect(field(result, 'status')).toBe('ok');
      seen.installed = field(result, 'installed');
      const code = `import ${PACKAGE}\nprint(${PACKAGE}.tabulate([[6 * 7, 'x']], tablefmt='plain'))\nprint(${PACKAGE}.__version__)`;
      return { toolCalls: [{ name: 'execute_cell', arguments: { code } }] };
    },
    (request: ChatRequest) => {
      seen.printed = lastToolResult(request).split('output:\n')[1].trim();
      return { toolCalls: [{ name: 'final_answer', arguments: { answer: `version ${seen.printed.split('\n').pop()}` } }] };
    }
  ];
  return { script, seen };
}

/** Checks a record of the scenario: error, install resolved, the real output, and the answer that carries it. */
export function expectMainScenario(sample: ISample, outcome: IOutcome, seen: IScenarioSeen): { version: string; success: IExecutionStep } {
  expect(outcome.reason).toBe('final_answer');
  const [failed, install, success] = executions(sample);
  expect(failed.status).toBe('error');
  expect(failed.error).toEqual({ ename: 'ModuleNotFoundError', evalue: `No module named '${PACKAGE}'` });
  const resolved = install.install?.resolved.find(p => p.name.toLowerCase() === PACKAGE);
  expect(resolved).toBeDefined();
  const version = resolved!.version;
  expect(seen.installed).toContain(`${PACKAGE}==${version}`);
  // The answer carries the version the kernel printed, which must be the one the install resolved.
  expect(streamText(success)).toBe(`42  x\n${version}\n`);
  expect(outcome.answer).toBe(`version ${version}`);
  expect(seen.printed).toBe(`42  x\n${version}`);
  return { version, success };
}
