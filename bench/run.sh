#!/usr/bin/env bash
# The benchmark suite, from the repository root after `bash scripts/setup` (or scripts/lab / scripts/test):
#
#   bash bench/run.sh [--only kernel_rtt,agent_step,step_growth,shaping,export,harvest,verify,run_memory] [--runs 200]
#                     [--warmups 20] [--memory-steps 1000] [--out FILE]
#
# Builds the CLI bundle (jlpm build:cli), bundles bench/*.ts with esbuild into .tmp/bench/, runs it: a table on
# stdout, progress on stderr, bench/results.json written. ~2.5 minutes on 2 cores. See bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ ! -x .venv/bin/python ] || [ ! -x node_modules/.bin/esbuild ]; then
  echo "bench: no .venv or node_modules here: run 'bash scripts/setup' first" >&2
  exit 2
fi
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p .tmp/bench
export TMPDIR="$ROOT/.tmp"

echo "==> CLI bundle (jlpm build:cli)" >&2
jlpm build:cli >&2
echo "==> bench bundle" >&2
node_modules/.bin/esbuild bench/main.ts --bundle --platform=node --target=node20 --format=cjs \
  --log-level=warning --outfile=.tmp/bench/main.js
exec node .tmp/bench/main.js "$@"
