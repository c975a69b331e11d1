#!/usr/bin/env bash
# The browser benchmarks (see the header of lab.bench.ts): a real `jupyter lab` in Debian's Chromium, the scripted
# model behind the bridge's proxy. From the repository root after `bash scripts/setup` and the ui-tests install
# (`bash scripts/test` does both): prints a table, writes .tmp/bench/ui-results.json. About 3 minutes on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH" TMPDIR="$ROOT/.tmp" JUPYTER_RUNTIME_DIR="$ROOT/.tmp/runtime" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 CI=1
mkdir -p .tmp/bench
# The bench files import @jupyterlab/galata from the ui-tests project.
export NODE_PATH="$ROOT/ui-tests/node_modules"
cd ui-tests
exec jlpm playwright test -c ../bench/ui/playwright.config.js "$@"
