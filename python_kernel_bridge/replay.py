"""Runs a notebook top to bottom in a fresh kernel with nbclient's async API: the task's setup sources first, then
every code cell, then the task's tests, all in the same kernel.

Only execution lives here (what each cell did); comparison and the verdict are in ``verify.py``. The kernel is
started and stopped here rather than through ``NotebookClient.async_setup_kernel``, which installs SIGINT/SIGTERM
handlers on the running loop and resets them on exit: inside Jupyter Server that would clobber the server's own
signal handling.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import nbclient
import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

#: Statuses of one replayed cell or test.
OK, ERROR, TIMEOUT, SKIPPED = "ok", "error", "timeout", "skipped"
#: Seconds a graceful kernel shutdown may take before SIGTERM (half) and SIGKILL (all); jupyter_client's default
#: of 5 s turns an occasional slow ipykernel exit into a 3.5 s stall after the replay is over.
SHUTDOWN_WAIT = 1.0


#: Kernels of finished replays being shut down in the background (``stop_later``); ``drain`` waits for them.
_stopping: set[asyncio.Task] = set()


async def drain() -> None:
    """Wait until every replay kernel shut down in the background has stopped."""
    while _stopping:
        await asyncio.gather(*list(_stopping), return_exceptions=True)


class ReplayStartError(RuntimeError):
    """The replay kernel could not be started (unknown kernel name, kernel crashing at start, …)."""


@dataclass
class CellRun:
    """What one cell (or test) did in the replay kernel."""

    index: int
    status: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, str] | None = None


@dataclass
class ReplayRun:
    """One replay: facts about the runner and kernel, and every code cell's and test's run, in order."""

    kernel_name: str
    python: str | None
    started_at: str
    duration_ms: float
    cells: list[CellRun]
    tests: list[CellRun]
    runner_version: str = nbclient.__version__
    #: The task's setup sources, run before the cells (``index``: position in ``task.setup``).
    setup: list[CellRun] = field(default_factory=list)


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _client(nb: nbformat.NotebookNode, *, timeout: float, kernel_name: str, cwd: str) -> NotebookClient:
    per_cell = timeout if timeout and timeout > 0 else None
    return NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=math.ceil(per_cell) if per_cell else None,
        timeout_func=lambda _cell: per_cell,  # keeps fractional seconds, which the Integer trait would refuse
        allow_errors=True,
        interrupt_on_timeout=False,
        skip_cells_with_tag="",  # every kept cell replays, whatever its tags
        shutdown_kernel="graceful",
        resources={"metadata": {"path": cwd}},
    )


async def _start(client: NotebookClient, cwd: str, env: dict[str, str] | None) -> None:
    client.km = client.create_kernel_manager()
    client.km.shutdown_wait_time = SHUTDOWN_WAIT
    try:
        await client.async_start_new_kernel(cwd=cwd, **({"env": env} if env is not None else {}))
        await client.async_start_new_kernel_client()
    except Exception as exc:  # noqa: BLE001 - any start failure is reported the same way
        await _stop(client)
        raise ReplayStartError(f"could not start kernel {client.kernel_name!r}: {type(exc).__name__}: {exc}") from exc


async def _stop(client: NotebookClient) -> None:
    km, kc = client.km, client.kc
    try:
        if km is not None and km.has_kernel and await ensure_async(km.is_alive()):
            await ensure_async(km.shutdown_kernel(now=client.shutdown_kernel == "immediate"))
    except RuntimeError:
        pass  # already gone
    finally:
        if km is not None:
            await ensure_async(km.cleanup_resources())
        if kc is not None:
            kc.stop_channels()
        client.kc = None
        client.km = None


async def _python_version(client: NotebookClient) -> str | None:
    assert client.kc is not None
    reply = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
    info = (reply or {}).get("content", {}).get("language_info", {})
    if info:
        client.nb.metadata["language_info"] = info
    return info.get("version")


async def _run_cell(client: NotebookClient, index: int, replies: dict[int, dict[str, Any]]) -> CellRun:
    """Execute cell ``index``; a timeout or a dead kernel comes back as a status, never as an exception."""
    cell = client.nb.cells[index]
    try:
        await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
    except CellTimeoutError:
        error = {"ename": "CellTimeoutError", "evalue": f"no reply within {client.timeout_func(cell)} s"}
        return CellRun(index, TIMEOUT, list(cell.get("outputs", [])), error)
    except DeadKernelError as exc:
        return CellRun(index, ERROR, list(cell.get("outputs", [])), {"ename": "DeadKernelError", "evalue": str(exc)})
    reply = replies.pop(index, None)
    outputs = list(cell.get("outputs", []))
    if reply is None:  # nothing executed: blank source
        return CellRun(index, OK, outputs)
    if reply.get("status") == "ok":
        return CellRun(index, OK, outputs)
    return CellRun(index, ERROR, outputs, _reply_error(reply, outputs))


def _reply_error(reply: dict[str, Any], outputs: list[dict[str, Any]]) -> dict[str, str]:
    """The error of a failed cell: its ``error`` output's when it has one (a failure while IPython formatted the
    result, e.g. a plotting library's renderer, comes back in the reply as ``NoneType: None``), else the reply's."""
    shown = [output for output in outputs if output.get("output_type") == "error"]
    if shown:
        return {"ename": str(shown[-1].get("ename", "error")), "evalue": str(shown[-1].get("evalue", ""))}
    ename, evalue = reply.get("ename"), reply.get("evalue")
    if ename in (None, "NoneType") and evalue in (None, "None"):
        return {"ename": "error", "evalue": "the kernel reported a failure without an exception; see the cell's output"}
    return {"ename": str(ename if ename is not None else reply.get("status", "error")), "evalue": str(evalue or "")}


def _stops(run: CellRun) -> bool:
    """After this run the kernel cannot go on: a timeout or a dead kernel."""
    return run.status == TIMEOUT or (run.error or {}).get("ename") == "DeadKernelError"


async def replay_notebook(
    nb: nbformat.NotebookNode,
    tests: list[str],
    *,
    timeout: float,
    kernel_name: str,
    cwd: str,
    env: dict[str, str] | None = None,
    setup: list[str] | None = None,
    stop_later: bool = False,
) -> ReplayRun:
    """Run each ``setup`` source, then every code cell of ``nb`` (modified in place; the extra sources are appended
    to it as cells), then each test source, in a fresh kernel started in ``cwd`` (with environment ``env``; None:
    this process's). After a timeout or a kernel death the rest is ``skipped``. ``stop_later``: the kernel is shut
    down in the background (``drain`` waits for it), so the result comes back without waiting for its exit."""
    replies: dict[int, dict[str, Any]] = {}
    client = _client(nb, timeout=timeout, kernel_name=kernel_name, cwd=cwd)

    def on_executed(cell: Any, cell_index: int, execute_reply: dict[str, Any] | None) -> None:
        replies[cell_index] = (execute_reply or {}).get("content", {})

    client.on_cell_executed = on_executed
    started_at, t0 = _utc_now(), time.perf_counter()
    await _start(client, cwd, env)
    cells: list[CellRun] = []
    stopped = False

    async def extra(sources: list[str], kind: str) -> list[CellRun]:
        """Each source run as a cell appended to ``nb`` (``aiev-<kind>-<n>``), numbered from 0."""
        nonlocal stopped
        runs = []
        for number, source in enumerate(sources):
            if stopped:
                runs.append(CellRun(number, SKIPPED))
                continue
            nb.cells.append(nbformat.v4.new_code_cell(source, id=f"aiev-{kind}-{number}"))
            run = await _run_cell(client, len(nb.cells) - 1, replies)
            stopped = _stops(run)
            runs.append(CellRun(number, run.status, run.outputs, run.error))
        return runs

    try:
        python = await _python_version(client)
        code_indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        setup_runs = await extra(list(setup or []), "setup")
        for index in code_indices:
            run = CellRun(index, SKIPPED) if stopped else await _run_cell(client, index, replies)
            stopped = stopped or _stops(run)
            cells.append(run)
        test_runs = await extra(tests, "test")
    finally:
        if stop_later:
            task = asyncio.ensure_future(_stop(client))
            _stopping.add(task)
            task.add_done_callback(_stopping.discard)
        else:
            await _stop(client)
    duration_ms = round((time.perf_counter() - t0) * 1000, 1)
    return ReplayRun(kernel_name, python, started_at, duration_ms, cells, test_runs, setup=setup_runs)
