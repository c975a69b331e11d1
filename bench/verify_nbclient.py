"""The replay verifier against plain nbclient on the same notebook (called by bench/verify.ts).

    python bench/verify_nbclient.py [--runs 20] [--kernel-only-every 2] [--cli-runs 4]

The notebook: 8 code cells of a small, deterministic data task (numpy + pandas: a DataFrame shown as HTML, a
groupby, a 20-line training log, ``describe()``, a function, printed counts). It is executed once with nbclient
to get its outputs, which become the recorded outputs of the sample (so the verdict is ``verified``).

Then ``--runs`` rounds, each timing, in an order that alternates from round to round:

- ``verify``: ``python_kernel_bridge.verify.verify_sample(sample, timeout=60)`` (fresh kernel in a new temporary
  folder, every cell run, outputs normalised and compared, kernel stopped);
- ``nbclient``: ``nbclient.NotebookClient(nb, kernel_name='python3').execute()`` on a copy of the same notebook
  without outputs (fresh kernel, every cell run, kernel stopped);

and every ``--kernel-only-every`` rounds ``kernel_only``: the same nbclient call on a notebook with no cell (kernel
start and stop, nothing else). ``--cli-runs`` times ``python -m python_kernel_bridge verify FILE.json`` as a process
(what ``aiev verify`` and ``aiev harvest --verify`` run per record), after the rounds. One warm-up of each first.

Prints one JSON line on stdout: the times in ms per variant, the verifier's own ``replay.duration_ms``, the
per-round ratios verify / nbclient and the verdicts. Progress goes to stderr as ``bench: ...`` lines.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time

import nbclient
import nbformat

from python_kernel_bridge.verify import verify_sample

CELLS = [
    """import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
n = 200
species = rng.choice(['setosa', 'versicolor', 'virginica'], size=n)
base = pd.Series(species).map({'setosa': 1.5, 'versicolor': 4.3, 'virginica': 5.6}).to_numpy()
df = pd.DataFrame({
    'species': species,
    'sepal_length': (base * 0.6 + 4.2 + rng.normal(0, 0.35, n)).round(1),
    'petal_length': (base + rng.normal(0, 0.3, n)).round(1),
    'petal_width': (base / 3 + rng.normal(0, 0.15, n)).round(1),
})
print(df.shape)""",
    "df.head(8)",
    "df.groupby('species')[['sepal_length', 'petal_length']].agg(['mean', 'std']).round(3)",
    """X = df[['sepal_length', 'petal_length', 'petal_width']].to_numpy()
y = (df['species'] == 'virginica').to_numpy().astype(float)
Xc = X - X.mean(0)
w = np.zeros(3)
for epoch in range(1, 41):
    p = 1 / (1 + np.exp(-Xc @ w))
    w -= 0.5 * Xc.T @ (p - y) / len(y)
    if epoch % 2 == 0:
        print(f'epoch {epoch:3d}  accuracy {((p > 0.5) == y).mean():.3f}')""",
    "df.describe().round(2)",
    """def zscore(col):
    return (col - col.mean()) / col.std()

z = df[['sepal_length', 'petal_length']].apply(zscore)""",
    "print(df['species'].value_counts().to_string())",
    "round(float(z.abs().max().max()), 3)",
]


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    return nb


def plain_nbclient(nb: nbformat.NotebookNode) -> float:
    """The baseline, as plain as it gets; ms."""
    run = copy.deepcopy(nb)
    t0 = time.perf_counter()
    nbclient.NotebookClient(run, kernel_name="python3").execute()
    return (time.perf_counter() - t0) * 1000


def verifier(sample: dict) -> tuple[float, float, str]:
    """ms, the verifier's replay.duration_ms, the verdict."""
    t0 = time.perf_counter()
    block = verify_sample(sample, timeout=60)
    ms = (time.perf_counter() - t0) * 1000
    return ms, float((block.get("replay") or {}).get("duration_ms") or 0), block["verdict"]


def cli(path: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "python_kernel_bridge", "verify", path, "--timeout", "60"],
        capture_output=True,
        text=True,
    )
    return (time.perf_counter() - t0) * 1000, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kernel-only-every", type=int, default=2)
    parser.add_argument("--cli-runs", type=int, default=4)
    args = parser.parse_args()

    blank = notebook()
    recorded = copy.deepcopy(blank)
    nbclient.NotebookClient(recorded, kernel_name="python3").execute()
    sample = {
        "schema": {"name": "jupyterlab-aiev/sample", "version": "0.1.0"},
        "id": "bench-verify",
        "task": {"prompt": "bench", "attachments": [], "tags": []},
        "steps": [],
        "notebook": json.loads(json.dumps(recorded)),
        "verification": None,
    }
    empty = nbformat.v4.new_notebook()
    empty.metadata["kernelspec"] = blank.metadata["kernelspec"]

    # Warm-ups (page cache, imports), not counted.
    verifier(sample)
    plain_nbclient(blank)

    out: dict = {"verify_ms": [], "nbclient_ms": [], "kernel_only_ms": [], "replay_ms": [], "ratios": [], "verdicts": {}}
    for i in range(args.runs):
        if i % 2 == 0:
            v_ms, replay_ms, verdict = verifier(sample)
            n_ms = plain_nbclient(blank)
        else:
            n_ms = plain_nbclient(blank)
            v_ms, replay_ms, verdict = verifier(sample)
        if args.kernel_only_every and i % args.kernel_only_every == 0:
            out["kernel_only_ms"].append(plain_nbclient(empty))
        out["verify_ms"].append(v_ms)
        out["nbclient_ms"].append(n_ms)
        out["replay_ms"].append(replay_ms)
        out["ratios"].append(v_ms / n_ms)
        out["verdicts"][verdict] = out["verdicts"].get(verdict, 0) + 1
        print(f"bench: round {i + 1}/{args.runs}: verify {v_ms:.0f} ms, nbclient {n_ms:.0f} ms", file=sys.stderr, flush=True)

    out["cli_ms"] = []
    out["cli_exit_codes"] = []
    if args.cli_runs:
        with tempfile.TemporaryDirectory(prefix="aiev-bench-verify-") as tmp:
            path = os.path.join(tmp, "sample.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(sample, f)
            for _ in range(args.cli_runs):
                ms, code = cli(path)
                out["cli_ms"].append(ms)
                out["cli_exit_codes"].append(code)
    out["cells"] = len(CELLS)
    out["nbclient_version"] = nbclient.__version__
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
