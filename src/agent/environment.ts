/** The environment block of a record: captured by silent, logged executions in the session's kernel. */
import type { INotebookDriver } from '../notebook/tokens';
import type { SessionRecorder } from '../trace/recorder';
import { secretEnvEntries, SECRET_NAME_WORDS } from '../trace/envSecrets';
import type { IEnvironment, IPackageVersion } from '../trace/types';
import { environmentSnippet, parseEnvironmentScan, secretEnvSnippet } from './kernelSnippets';

/** Distributions and ipykernel version of the environments this process has scanned, by fingerprint. */
const scans = new Map<string, { packages: IPackageVersion[]; ipykernel: string | null }>();
/** How many environments `scans` keeps (a batch over several servers or kernels has a few). */
const KEPT_SCANS = 16;

/** What `scanEnvironment` learnt of a kernel's environment. */
interface IScannedEnvironment {
  python: string;
  implementation: string;
  platform: string;
  packages: IPackageVersion[];
  ipykernel: string | null;
}

/**
 * Interpreter, platform, installed packages and ipykernel version of the driver's kernel, by a silent execution
 * (`environmentSnippet`), or the execution's status and error when it failed. The scan of every distribution is
 * skipped when this process already scanned an environment with the same fingerprint (the next session on the same
 * kernelspec, unless something was installed since).
 */
async function scanEnvironment(driver: INotebookDriver): Promise<{ status: string; error: unknown; scanned?: IScannedEnvironment }> {
  for (const known of [[...scans.keys()], []]) {
    const result = await driver.executeSilent(environmentSnippet(known));
    if (result.status !== 'ok') {
      return { status: result.status, error: result.error ?? null };
    }
    const { fingerprint, packages, ipykernel, ...facts } = parseEnvironmentScan(result.stdout);
    if (packages) {
      scans.delete(fingerprint); // newest last: the oldest goes first
      scans.set(fingerprint, { packages, ipykernel: ipykernel ?? null });
      for (const old of [...scans.keys()].slice(0, Math.max(0, scans.size - KEPT_SCANS))) {
        scans.delete(old);
      }
    }
    const scan = scans.get(fingerprint);
    if (scan) {
      return { status: 'ok', error: null, scanned: { ...facts, ...scan } };
    }
    // known when the snippet was sent, pushed out since by other sessions' scans: scan it again
  }
  return { status: 'error', error: 'the environment scan listed no packages' };
}

/**
 * Interpreter, kernel and installed packages at the start, by a logged silent execution; null when it failed.
 * `secretEnvNames`: the names of the kernel's secret-named variables whose values the session scrubs.
 */
export async function captureEnvironment(
  driver: INotebookDriver,
  recorder: SessionRecorder,
  secretEnvNames?: string[]
): Promise<IEnvironment | null> {
  const { status, error, scanned } = await scanEnvironment(driver);
  recorder.event('silent_execution', { purpose: 'environment', status, error });
  if (!scanned) {
    return null;
  }
  const facts = await driver.kernelFacts();
  const { ipykernel, packages, python, implementation, platform } = scanned;
  const environment: IEnvironment = {
    python,
    implementation,
    platform,
    kernel: { name: facts.name, language: facts.language, protocol_version: facts.protocolVersion, ipykernel },
    packages_before: packages,
    packages_after: packages,
    installed_during_session: [],
    ...(secretEnvNames ? { secret_env_names: secretEnvNames } : {})
  };
  recorder.setEnvironment(environment);
  return environment;
}

/**
 * The packages at the end, and what the session installed, into the environment block. (The same scan as at the
 * start, skipped when nothing changed: an install's snapshot also maps modules to distributions, which reads every
 * distribution's file list and is not needed here: ~2x the time, bench/README.md, "aiev batch".)
 */
export async function finishEnvironment(driver: INotebookDriver, recorder: SessionRecorder, environment: IEnvironment): Promise<void> {
  const { status, error, scanned } = await scanEnvironment(driver);
  recorder.event('silent_execution', { purpose: 'environment after', status, error });
  if (!scanned) {
    return;
  }
  const after = scanned.packages;
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
