/** The machine and software the numbers were taken on, stored beside them in results.json. */
import { readFileSync } from 'fs';
import { cpus, loadavg, release, totalmem } from 'os';

import { PYTHON, runProcess } from './common';

export interface IMachine {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  python: string | null;
  packages: Record<string, string | null>;
  /** 1-minute load average when the run started (other work on the machine skews every figure). */
  load_average_at_start: number;
}

const PACKAGES = ['jupyter_server', 'ipykernel', 'jupyter_client', 'tornado', 'pyzmq', 'nbclient', 'nbformat'];

export async function describeMachine(): Promise<IMachine> {
  const script = [
    'import json, platform',
    'from importlib.metadata import version, PackageNotFoundError',
    'def v(name):',
    '    try:',
    '        return version(name)',
    '    except PackageNotFoundError:',
    '        return None',
    `print(json.dumps({"python": platform.python_version(), "packages": {n: v(n) for n in ${JSON.stringify(PACKAGES)}}}))`
  ].join('\n');
  let python: string | null = null;
  let packages: Record<string, string | null> = {};
  const result = await runProcess(PYTHON, ['-c', script]).catch(() => null);
  if (result?.code === 0) {
    ({ python, packages } = JSON.parse(result.stdout));
  }
  return {
    cpu_model: cpuModel(),
    cores: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    python,
    packages: { ...packages, '@jupyterlab/services': servicesVersion() },
    load_average_at_start: Math.round(loadavg()[0] * 100) / 100
  };
}

function cpuModel(): string {
  const fromNode = cpus()[0]?.model?.trim();
  if (fromNode && fromNode !== 'unknown') {
    return fromNode;
  }
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function servicesVersion(): string | null {
  try {
    return JSON.parse(readFileSync(require.resolve('@jupyterlab/services/package.json', { paths: [process.cwd()] }), 'utf8')).version;
  } catch {
    return null;
  }
}

/**
 * CPU time the whole machine has spent busy so far (every core, every process: user, nice, system, irq), in ms;
 * 10 ms resolution on Linux. The difference over a stretch of work is what it cost the machine, whichever
 * processes did it (browser, server, kernel).
 */
export function machineBusyMs(): number {
  return cpus().reduce((sum, core) => sum + core.times.user + core.times.nice + core.times.sys + core.times.irq, 0);
}
