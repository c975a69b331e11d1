/** The environment block of a record: captured by silent, logged executions in the session's kernel. */
import type { INotebookDriver } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import type { IEnvironment } from '../trace/types';
import { secretEnvEntries, SECRET_NAME_WORDS } from '../trace/envSecrets';
import { ENVIRONMENT_SNIPPET, parseEnvironment, secretEnvSnippet } from './kernelSnippets';

/**
 * Interpreter, kernel and installed packages at the start, by a logged silent execution; null when it failed.
 * `secretEnvNames`: the names of the kernel's secret-named variables whose values the session scrubs.
 */
export async function captureEnvironment(
  driver: INotebookDriver,
  recorder: SessionRecorder,
  secretEnvNames?: string[]
): Promise<IEnvironment | null> {
  const result = await driver.executeSilent(ENVIRONMENT_SNIPPET);
  recorder.event('silent_execution', { purpose: 'environment', status: result.status, error: result.error ?? null });
  if (result.status !== 'ok') {
    return null;
  }
  const facts = await driver.kernelFacts();
  const { ipykernel, ...env } = parseEnvironment(result.stdout);
  const environment: IEnvironment = {
    ...env,
    kernel: { name: facts.name, language: facts.language, protocol_version: facts.protocolVersion, ipykernel },
    packages_after: env.packages_before,
    installed_during_session: [],
    ...(secretEnvNames ? { secret_env_names: secretEnvNames } : {})
  };
  recorder.setEnvironment(environment);
  return environment;
}

/**
 * The packages at the end, and what the session installed, into the environment block. (The same snippet as at
 * the start: an install's snapshot also maps modules to distributions, which reads every distribution's file
 * list and is not needed here: ~2x the time, bench/README.md, "aiev batch".)
 */
export async function finishEnvironment(driver: INotebookDriver, recorder: SessionRecorder, environment: IEnvironment): Promise<void> {
  const result = await driver.executeSilent(ENVIRONMENT_SNIPPET);
  recorder.event('silent_execution', { purpose: 'environment after', status: result.status, error: result.error ?? null });
  if (result.status !== 'ok') {
    return;
  }
  const after = parseEnvironment(result.stdout).packages_before;
  const before = new Map(environment.packages_before.map(p => [p.name.toLowerCase(), p.version]));
  recorder.setEnvironment({
    ...environment,
    packages_after: after,
    installed_during_session: after.filter(p => before.get(p.name.toLowerCase()) !== p.version)
  });
}

/** Words without which executed code is taken not to have installed anything (`mayHaveInstalled`). */
const INSTALLISH = /\b(?:pip3?|conda|mamba|micromamba|uv|install|setup\.py|easy_install)\b/;

/**
 * Whether any executed code could have changed the installed packages (names an installer, or is a shell
 * command): otherwise the packages after the session are those before, and `finishEnvironment` can be skipped
 * (a silent scan of every distribution, a fifth of a short session's kernel time: bench/README.md, "aiev batch").
 */
export function mayHaveInstalled(executedCode: readonly string[]): boolean {
  return executedCode.some(code => INSTALLISH.test(code) || /^\s*(?:!|%)/m.test(code));
}

/** The values and names of the kernel's secret-named environment variables (values are never recorded). */
export async function kernelSecrets(driver: INotebookDriver): Promise<{ status: string; names: string[]; values: string[] }> {
  const result = await driver.executeSilent(secretEnvSnippet(SECRET_NAME_WORDS));
  if (result.status !== 'ok') {
    return { status: result.status, names: [], values: [] };
  }
  try {
    const entries = secretEnvEntries(JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}'));
    return { status: 'ok', names: entries.map(([name]) => name).sort(), values: entries.map(([, value]) => value) };
  } catch {
    return { status: 'error', names: [], values: [] };
  }
}
