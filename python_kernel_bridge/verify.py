"""The replay verifier: a sample's final notebook, re-run in a fresh kernel, compared with what the session recorded.

Verdict (criteria ``0.4``, "Verified means" in the sample-format design note), first rule that applies:

- ``unverified``: no notebook, or no code cell with source (nothing to replay);
- ``failed``: a task setup source (``task.setup``, run first) or a cell raised, timed out or killed the kernel
  (later cells are then ``skipped``), or a task test did not pass;
- ``diverged``: every cell ran, but a compared cell's normalised outputs differ from the recorded ones;
- ``verified``: otherwise.

Comparison per cell (``compared``): ``exact`` = canonical outputs equal (``normalise.canonical_outputs``, floats
within a relative tolerance: ``normalise.texts_match``) and images alike (``images.py``), with ``content`` saying
which of ``text`` and ``image`` the recorded outputs had to compare; ``status`` = replay status equals recorded
status (installers: kind ``pip`` or source starting with ``%pip``/``!pip``/``%conda``/…; profiler and timing
magics ``%prun``/``%timeit``/``%memit``/``%lprun``/``%mprun``; cells with ``metadata.aiev.nondeterministic``; cells
whose execution step says ``truncated``); ``none`` = not compared (blank cells, which match; cells the notebook
never ran, ``metadata.aiev.setup``, which match when they run cleanly and say ``setup``; timed-out or skipped
cells, which do not). ``replay.compared`` counts the cells by what was compared (``compared_counts``): a sample
``verified`` with no cell compared by text or image is verified by status only, and says so.

Criteria ``0.4`` (was ``0.3``): matplotlib's Axes repr (``<Axes: …>``, ``<AxesSubplot:…>``, ``<…AxesSubplot at 0x…>``)
read as ``<Axes>``; a cell that failed while IPython formatted its result (the kernel's reply says ``NoneType``) is
named by its error output. Found harvesting jupytext's test notebooks with their outputs.

Criteria ``0.3`` (was ``0.2``): cells a notebook never ran are replayed as setup; profiler magics by status; a
warning's later message lines dropped with it; ``%%file``'s ``Overwriting`` read as ``Writing``; matplotlib's
``<Figure size WxH …>`` without its size; floats within ``Tolerances.float_rel_tol``; images compared by content.

Criteria ``0.2`` (was ``0.1``): Python warnings on stderr are not compared, and ``text/html`` is compared with its
element ids renamed (``normalise.drop_warnings``, ``normalise.rename_html_ids``): a warning shown once per
process and per-process or random ids (scikit-learn, pandas Styler, Plotly) made deterministic cells diverge.
And the task's attachments (``task.attachments``, the files its code reads) are copied into the replay's folder
from ``attachments_dir`` when their sha256 matches (``attachments.py``; each one's status in
``replay.attachments``, present only when the sample has attachments). One that is unsafe, missing or changed is
not copied: a cell reading it fails like any missing file, so the sample comes out ``failed``, never verified.

The kernel's secrets: a session scrubs the values of its kernel's secret-named environment variables from what it
records (``[REDACTED]``) and lists their names in ``environment.secret_env_names``. Before comparing, the replayed
outputs (and errors) get the same scrub with the values those names have in the replay kernel's environment
(``env``, by default this process's, which nbclient's kernels inherit; values under ``MIN_SECRET_CHARS`` are left
alone), so a cell printing such a variable verifies.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

import nbformat

from .attachments import stage_attachments
from .compare import (  # noqa: F401 - re-exported: the verifier's comparison API
    Tolerances,
    aiev_metadata,
    cell_kind,
    compare_cell,
    compared_content,
    compared_counts,
    comparison_mode,
    error_entry,
    is_installer,
    is_profiler,
    recorded_status,
    short_diff,
)
from .normalise import joined, redact_values
from .replay import OK, SKIPPED, CellRun, ReplayRun, replay_notebook

CRITERIA_VERSION = "0.4"
RUNNER = "nbclient"
DEFAULT_KERNEL = "python3"

#: Secret values shorter than this are not scrubbed from replayed outputs (too likely to be ordinary text).
MIN_SECRET_CHARS = 8


class InvalidSample(ValueError):
    """The input is not a sample the verifier can read."""


def check_sample(sample: Any) -> dict[str, Any]:
    """Return ``sample`` if it has the shape the verifier reads, else raise ``InvalidSample`` saying why."""
    if not isinstance(sample, dict):
        raise InvalidSample(f"a sample is a JSON object, not {type(sample).__name__}")
    if "notebook" not in sample:
        raise InvalidSample("not a sample: no 'notebook' field")
    nb = sample["notebook"]
    if nb is not None and not (isinstance(nb, dict) and isinstance(nb.get("cells"), list)):
        raise InvalidSample("'notebook' must be null or an nbformat notebook with a 'cells' list")
    for index, cell in enumerate(nb["cells"] if nb else []):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise InvalidSample(f"notebook cell {index} is not an nbformat cell")
    task = sample.get("task", {})
    sources = [task.get(key) for key in ("tests", "setup")] if isinstance(task, dict) else []
    sources_ok = all(v is None or (isinstance(v, list) and all(isinstance(t, str) for t in v)) for v in sources)
    if not isinstance(task, dict) or not sources_ok:
        raise InvalidSample("'task' must be an object whose optional 'tests' and 'setup' are lists of Python sources")
    files = task.get("attachments")
    if files is not None and not (
        isinstance(files, list) and all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in files)
    ):
        raise InvalidSample("'task.attachments' must be a list of objects with a 'path' string")
    verification = sample.get("verification")
    if verification is not None and not isinstance(verification, dict):
        raise InvalidSample("'verification' must be an object")
    environment = sample.get("environment")
    names = environment.get("secret_env_names") if isinstance(environment, dict) else None
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise InvalidSample("'environment.secret_env_names' must be a list of variable names")
    return sample


def secret_values(sample: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """The values in ``env`` of the sample's ``environment.secret_env_names`` (``MIN_SECRET_CHARS`` or longer)."""
    names = (sample.get("environment") or {}).get("secret_env_names") or []
    return [env[name] for name in names if len(env.get(name, "")) >= MIN_SECRET_CHARS]


def redact_run(run: ReplayRun, secrets: list[str]) -> ReplayRun:
    """``run`` with ``secrets`` scrubbed from every cell's and test's outputs and error."""
    if not secrets:
        return run

    def cell(c: CellRun) -> CellRun:
        return dataclasses.replace(c, outputs=redact_values(c.outputs, secrets), error=redact_values(c.error, secrets))

    return dataclasses.replace(
        run, cells=[cell(c) for c in run.cells], tests=[cell(t) for t in run.tests], setup=[cell(c) for c in run.setup]
    )


def tests_block(runs: list[CellRun]) -> dict[str, Any]:
    """``{passed, failed, results}``; a test passes when it raised nothing. ``failed`` counts every test that did
    not pass (raised, timed out, or skipped after a timeout / kernel death)."""
    results = []
    for run in runs:
        status = "passed" if run.status == OK else ("skipped" if run.status == SKIPPED else "failed")
        result: dict[str, Any] = {"index": run.index, "status": status}
        if run.error:
            result["error"] = error_entry(run)
        results.append(result)
    passed = sum(r["status"] == "passed" for r in results)
    return {"passed": passed, "failed": len(results) - passed, "results": results}


def decide_verdict(
    cells: list[Mapping[str, Any]], tests: Mapping[str, Any] | None, setup: list[Mapping[str, Any]] | None = None
) -> str:
    """The verdict from the per-cell entries, the tests block and the setup runs (rules in the module doc)."""
    if not cells:
        return "unverified"
    failed_setup = any(s["status"] != OK for s in setup or [])
    if failed_setup or any(c["status"] != OK for c in cells) or (tests is not None and tests["failed"]):
        return "failed"
    if not all(c["match"] for c in cells):
        return "diverged"
    return "verified"


def _interactive(sample: Mapping[str, Any]) -> dict[str, int]:
    given = (sample.get("verification") or {}).get("interactive")
    if isinstance(given, dict):
        return dict(given)
    steps = [s for s in sample.get("steps") or [] if isinstance(s, dict)]
    executions = [s for s in steps if s.get("type") == "execution"]
    return {
        "turns": sum(s.get("type") == "assistant" for s in steps),
        "executions": len(executions),
        "errors": sum(s.get("status") != "ok" for s in executions),
        "fixes": 0,
    }


def _notebook(nb: Mapping[str, Any]) -> nbformat.NotebookNode:
    """A deep copy as a NotebookNode, multiline strings joined (nbclient needs ``source`` as one string)."""
    node = nbformat.from_dict(copy.deepcopy(dict(nb)))
    node.setdefault("metadata", nbformat.NotebookNode())
    for cell in node.cells:
        cell["source"] = joined(cell.get("source"))
        cell.setdefault("metadata", nbformat.NotebookNode())
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
    return node


def _kernel_name(sample: Mapping[str, Any], nb: Mapping[str, Any]) -> str:
    spec = (nb.get("metadata") or {}).get("kernelspec") or {}
    env_kernel = ((sample.get("environment") or {}).get("kernel") or {}).get("name")
    return str(spec.get("name") or env_kernel or DEFAULT_KERNEL)


def _steps_by_call(sample: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(s.get("call_id")): s
        for s in sample.get("steps") or []
        if isinstance(s, dict) and s.get("type") == "execution"
    }


def build_block(
    sample: Mapping[str, Any],
    recorded_cells: list[Mapping[str, Any]],
    run: ReplayRun | None,
    attachments: list[dict[str, Any]] | None = None,
    tolerances: Tolerances = Tolerances(),
    environment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``verification`` block from the recorded code cells and the replay (None: nothing was replayed);
    ``attachments`` (the staging statuses) goes into ``replay.attachments`` when the sample has any;
    ``environment`` (which environment replayed, ``replay_env.py``) into ``replay.environment``."""
    block: dict[str, Any] = {
        "interactive": _interactive(sample),
        "replay": None,
        "tests": None,
        "verdict": "unverified",
        "criteria_version": CRITERIA_VERSION,
    }
    if run is None:
        return block
    steps = _steps_by_call(sample)
    cells = []
    for cell, cell_run in zip(recorded_cells, run.cells):
        step = steps.get(str(aiev_metadata(cell).get("call_id")))
        if step is not None and step.get("cell_id") != cell.get("id"):
            step = None
        cells.append(compare_cell(cell, cell_run, comparison_mode(cell, step), tolerances))
    tests = (sample.get("task") or {}).get("tests") or []
    block["replay"] = {
        "runner": RUNNER,
        "runner_version": run.runner_version,
        "kernel_name": run.kernel_name,
        "python": run.python,
        "started_at": run.started_at,
        "duration_ms": run.duration_ms,
        "cells": cells,
        "compared": compared_counts(cells),
        "tolerances": {"float_rel_tol": tolerances.float_rel_tol, "image": tolerances.image},
    }
    if environment is not None:
        block["replay"]["environment"] = dict(environment)
    if attachments:
        block["replay"]["attachments"] = attachments
    if run.setup:
        block["replay"]["setup"] = [
            {"index": r.index, "status": r.status, **({"error": error_entry(r)} if r.error else {})} for r in run.setup
        ]
    block["tests"] = tests_block(run.tests) if tests else None
    block["verdict"] = decide_verdict(cells, block["tests"], block["replay"].get("setup"))
    return block


async def averify_sample(
    sample: dict[str, Any],
    *,
    timeout: float = 120,
    kernel_name: str | None = None,
    cwd: str | None = None,
    attachments_dir: str | None = None,
    env: dict[str, str] | None = None,
    stop_later: bool = False,
    tolerances: Tolerances = Tolerances(),
    environment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Replay ``sample["notebook"]`` in a fresh kernel (in ``cwd``, else a new empty temporary folder; with the
    environment ``env``, else this process's) and return the ``verification`` block; ``sample`` is not modified.
    The task's attachments are first copied into that folder from ``attachments_dir`` (None: none is, each is
    ``missing``; see ``attachments.py``); ``stop_later``: see ``replay.replay_notebook``; ``tolerances`` for floats
    and images; ``environment`` says which environment ``kernel_name`` runs in (``replay.environment``). Raises
    ``InvalidSample``, ``ReplayStartError``."""
    check_sample(sample)
    nb_dict = sample.get("notebook")
    recorded_cells = [c for c in (nb_dict or {}).get("cells", []) if c.get("cell_type") == "code"]
    if not any(joined(c.get("source")).strip() for c in recorded_cells):
        return build_block(sample, recorded_cells, None)
    nb = _notebook(nb_dict)
    tests = list((sample.get("task") or {}).get("tests") or [])
    setup = list((sample.get("task") or {}).get("setup") or [])
    kernel = kernel_name or _kernel_name(sample, nb_dict)
    wanted = list((sample.get("task") or {}).get("attachments") or [])
    workdir = cwd or tempfile.mkdtemp(prefix="aiev-replay-")
    try:
        staged = await asyncio.to_thread(stage_attachments, wanted, attachments_dir, workdir) if wanted else None
        run = await replay_notebook(
            nb, tests, timeout=timeout, kernel_name=kernel, cwd=workdir, env=env, setup=setup, stop_later=stop_later
        )
    finally:
        if cwd is None:
            shutil.rmtree(workdir, ignore_errors=True)
    run = redact_run(run, secret_values(sample, os.environ if env is None else env))
    return build_block(sample, recorded_cells, run, staged, tolerances, environment)


def _cell_runs(items: Any, what: str) -> list[CellRun]:
    if not isinstance(items, list):
        raise InvalidSample(f"'run.{what}' must be a list")
    runs = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("index"), int) and isinstance(item.get("status"), str)):
            raise InvalidSample(f"each of 'run.{what}' needs an integer 'index' and a 'status'")
        error = item.get("error")
        runs.append(CellRun(item["index"], item["status"], list(item.get("outputs") or []), dict(error) if error else None))
    return runs


def replayed_block(sample: dict[str, Any], run: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``verification`` block of a replay made elsewhere, e.g. by the ``aiev`` runner on a remote server's kernels
    (``run``: ``{kernel_name, python, started_at, duration_ms, runner, runner_version, cells, tests, setup}``, each
    cell ``{index, status, outputs, error}`` in code-cell order); compared and judged exactly as a replay here."""
    check_sample(sample)
    if not isinstance(run, Mapping):
        raise InvalidSample("'run' must be an object")
    recorded_cells = [c for c in (sample.get("notebook") or {}).get("cells", []) if c.get("cell_type") == "code"]
    if not any(joined(c.get("source")).strip() for c in recorded_cells):
        return build_block(sample, recorded_cells, None)
    replay = ReplayRun(
        kernel_name=str(run.get("kernel_name") or ""),
        python=run.get("python"),
        started_at=str(run.get("started_at") or ""),
        duration_ms=float(run.get("duration_ms") or 0),
        cells=_cell_runs(run.get("cells"), "cells"),
        tests=_cell_runs(run.get("tests") or [], "tests"),
        runner_version=str(run.get("runner_version") or ""),
        setup=_cell_runs(run.get("setup") or [], "setup"),
    )
    if len(replay.cells) != len(recorded_cells):
        raise InvalidSample(f"'run.cells' has {len(replay.cells)} entries for {len(recorded_cells)} code cells")
    block = build_block(sample, recorded_cells, redact_run(replay, secret_values(sample, env or {})))
    block["replay"]["runner"] = str(run.get("runner") or RUNNER)
    return block


def verify_sample(
    sample: dict[str, Any],
    *,
    timeout: float = 120,
    kernel_name: str | None = None,
    cwd: str | None = None,
    attachments_dir: str | None = None,
    tolerances: Tolerances = Tolerances(),
) -> dict[str, Any]:
    """Synchronous ``averify_sample``; from inside a running event loop it runs on a worker thread."""
    coro_args = {
        "timeout": timeout, "kernel_name": kernel_name, "cwd": cwd, "attachments_dir": attachments_dir,
        "tolerances": tolerances,
    }
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(averify_sample(sample, **coro_args))
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(averify_sample(sample, **coro_args))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="aiev-verify")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
