/**
 * The replay verifier (`python_kernel_bridge.verify.verify_sample`) against plain nbclient
 * (`NotebookClient(nb, kernel_name='python3').execute()`) on the same 8-cell notebook: bench/verify_nbclient.py,
 * in the project's Python, interleaved rounds (see its header). The baseline is taken in the same process and the
 * same run, so the figure is the script's own ratio:
 * - `verify_ratio_vs_nbclient`: median over the rounds of verify / nbclient (the two timed back to back);
 * - `verify_ms`, `verify_nbclient_ms`: medians; `verify_kernel_only_ms`: nbclient on a notebook with no cell (kernel
 *   start and stop only), i.e. what both pay before running anything;
 * - `verify_cli_ms`: `python -m python_kernel_bridge verify FILE.json` as a process (what `aiev verify FILE` pays:
 *   Python start and imports on top of the replay; `aiev harvest --verify` pays them once for all its records).
 */
import { spawn } from 'child_process';
import { join } from 'path';

import { fmt, IBenchContext, IBenchModule, IModuleResult, msWithP90, PYTHON, ratio, ROOT, stats } from './common';

const RUNS = 20;

interface IVerifyOutput {
  verify_ms: number[];
  nbclient_ms: number[];
  kernel_only_ms: number[];
  replay_ms: number[];
  ratios: number[];
  verdicts: Record<string, number>;
  cli_ms: number[];
  cli_exit_codes: number[];
  cells: number;
  nbclient_version: string;
}

/** Run the script; its progress lines (`bench: …`) go to the log, the kernels' warnings are kept for errors. */
function runScript(ctx: IBenchContext, args: string[]): Promise<IVerifyOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(ROOT, 'bench', 'verify_nbclient.py'), ...args], {
      cwd: ctx.tmp,
      env: { ...process.env, JUPYTER_RUNTIME_DIR: join(ctx.tmp, 'runtime-verify') },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout!.on('data', chunk => (stdout += chunk));
    child.stderr!.on('data', chunk => {
      stderr += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines.filter(l => l.startsWith('bench: '))) {
        ctx.log(`  ${line.slice(7)}`);
      }
    });
    child.once('error', reject);
    child.once('close', code => {
      if (code !== 0) {
        reject(new Error(`verify_nbclient.py exited ${code}: ${stderr.trim().split('\n').slice(-6).join('\n')}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

export const verifyBench: IBenchModule = {
  name: 'verify',
  title: 'replay verifier (verify_sample) vs plain nbclient on the same 8-cell notebook',
  async run(ctx: IBenchContext): Promise<IModuleResult> {
    const out = await runScript(ctx, ['--runs', String(RUNS), '--kernel-only-every', '2', '--cli-runs', '3']);
    const verify = stats(out.verify_ms);
    const nbclient = stats(out.nbclient_ms);
    const kernelOnly = stats(out.kernel_only_ms);
    const replay = stats(out.replay_ms);
    const pairRatio = stats(out.ratios);
    const cli = out.cli_ms.length ? stats(out.cli_ms) : null;
    const notVerified = Object.entries(out.verdicts).filter(([v]) => v !== 'verified');
    const notes: string[] = [];
    if (notVerified.length) {
      notes.push(`the verifier did not say verified every time: ${JSON.stringify(out.verdicts)}`);
    }
    if (out.cli_exit_codes.some(c => c !== 0)) {
      notes.push(`python -m python_kernel_bridge verify exit codes: ${out.cli_exit_codes.join(', ')}`);
    }
    return {
      keys: {
        verify_ratio_vs_nbclient: pairRatio.median,
        verify_ratio_vs_nbclient_p90: pairRatio.p90,
        verify_ms: verify.median,
        verify_ms_p90: verify.p90,
        verify_nbclient_ms: nbclient.median,
        verify_nbclient_ms_p90: nbclient.p90,
        verify_kernel_only_ms: kernelOnly.median,
        verify_cli_ms: cli ? cli.median : null
      },
      rows: [
        {
          item: `verify_sample, ${out.cells} cells (fresh kernel)`,
          value: msWithP90(verify),
          versus: `${pairRatio.median}x nbclient (median of ${pairRatio.n} back-to-back pairs; ratio of medians ${ratio(verify.median, nbclient.median)})`
        },
        {
          item: '  plain nbclient execute(), same notebook',
          value: msWithP90(nbclient),
          versus: 'baseline'
        },
        {
          item: '  nbclient, no cell (kernel start + stop)',
          value: msWithP90(kernelOnly),
          versus: `${Math.round((kernelOnly.median / nbclient.median) * 100)}% of the nbclient run`
        },
        ...(cli
          ? [
              {
                item: '  python -m python_kernel_bridge verify (process)',
                value: msWithP90(cli),
                versus: `+${fmt(cli.median - verify.median)} ms over verify_sample in process (Python start, imports)`
              }
            ]
          : [])
      ],
      details: {
        runs: RUNS,
        cells: out.cells,
        nbclient_version: out.nbclient_version,
        verify,
        nbclient,
        kernel_only: kernelOnly,
        verifier_replay_duration: replay,
        pair_ratios: pairRatio,
        cli,
        verdicts: out.verdicts
      },
      notes
    };
  }
};
