"""Test helper: real sample records. ``record_session`` runs cells once with nbclient (the "session") and
``make_sample`` wraps them as a schema-valid record (validated against ``schema/sample.schema.json``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
from nbclient import NotebookClient

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "sample.schema.json"
_SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
TIME = "2025-01-01T00:00:00.000Z"


def validate(sample: dict[str, Any]) -> None:
    """Raise if ``sample`` is not a valid record."""
    jsonschema.Draft202012Validator(_SCHEMA).validate(sample)


def kind_of(source: str) -> str:
    """A rough ``actionKindOf`` (src/trace/actionKind.ts)."""
    first = source.lstrip()
    if first.startswith(("%pip install", "!pip install")):
        return "pip"
    if first.startswith("!"):
        return "shell"
    return "magic" if first.startswith("%") else "python"


async def _arecord(sources: list[str], cwd: str, timeout: float) -> list[dict[str, Any]]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    resources = {"metadata": {"path": cwd}}
    client = NotebookClient(nb, allow_errors=True, timeout=int(timeout), kernel_name="python3", resources=resources)
    await client.async_execute()
    return [dict(outputs=json.loads(json.dumps(c.outputs)), execution_count=c.execution_count) for c in nb.cells]


def record_session(sources: list[str], cwd: str | Path, timeout: float = 60) -> list[dict[str, Any]]:
    """Execute ``sources`` once in a kernel started in ``cwd``; each cell's outputs and execution count."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # works inside and outside a running loop
        return pool.submit(asyncio.run, _arecord(sources, str(cwd), timeout)).result()


def make_sample(
    sources: list[str],
    recorded: list[dict[str, Any]],
    *,
    tests: list[str] | None = None,
    cell_metadata: dict[int, dict[str, Any]] | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A record of a session that ran ``sources`` with ``recorded`` results, its final notebook keeping them all;
    ``attachments``: its ``task.attachments`` (``attachment`` makes one)."""
    steps: list[dict[str, Any]] = [{"type": "user", "text": "do the task", "time": TIME}]
    cells = []
    for number, (source, result) in enumerate(zip(sources, recorded)):
        call_id, cell_id = f"call-{number}", f"cell-{number}"
        kind = kind_of(source)
        outputs = copy.deepcopy(result["outputs"])
        errors = [o for o in outputs if o["output_type"] == "error"]
        action = {
            "call_id": call_id, "tool": "execute_cell", "kind": kind, "cell_id": cell_id,
            "arguments": {"code": source}, "code": source,
        }
        steps.append({"type": "assistant", "text": "", "actions": [action], "time": TIME})
        execution: dict[str, Any] = {
            "type": "execution", "call_id": call_id, "cell_id": cell_id, "code": source, "executor": "ipykernel",
            "execution_count": result.get("execution_count"), "status": "error" if errors else "ok",
            "started_at": TIME, "duration_ms": 1.0, "outputs": outputs, "truncated": False, "model_text": "",
        }
        if errors:
            execution["error"] = {"ename": errors[0]["ename"], "evalue": errors[0]["evalue"]}
        steps.append(execution)
        aiev = {"call_id": call_id, "kind": kind, "step": len(steps) - 1, **(cell_metadata or {}).get(number, {})}
        cells.append({
            "cell_type": "code", "id": cell_id, "source": source, "metadata": {"aiev": aiev},
            "outputs": copy.deepcopy(outputs), "execution_count": result.get("execution_count"),
        })
    final = {
        "call_id": "call-final", "tool": "final_answer", "kind": "final_answer", "cell_id": None,
        "arguments": {"answer": "done"}, "answer": "done",
    }
    steps.append({"type": "assistant", "text": "", "actions": [final], "time": TIME})
    executions = [s for s in steps if s["type"] == "execution"]
    task: dict[str, Any] = {"prompt": "do the task", "attachments": list(attachments or []), "tags": ["test"]}
    if tests is not None:
        task["tests"] = tests
    sample = {
        "schema": {"name": "jupyterlab-aiev/sample", "version": "0.1.0"},
        "id": "sample-test", "created_at": TIME, "license": "CC-BY-4.0", "redactions": [],
        "source": {
            "app": "tests", "app_version": "0", "model": "none", "provider_host": "127.0.0.1:1",
            "tool_mode": "native", "stream": False, "sampling": {}, "system_prompt_id": "test",
        },
        "task": task,
        "tools": [],
        "steps": steps,
        "notebook": {
            "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": cells,
        },
        "verification": {
            "interactive": {
                "turns": len(sources) + 1, "executions": len(executions),
                "errors": sum(s["status"] != "ok" for s in executions), "fixes": 0,
            },
            "replay": None, "tests": None, "verdict": "unverified", "criteria_version": "0.2",
        },
        "environment": {
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "kernel": {"name": "python3", "language": "python", "protocol_version": "5.3", "ipykernel": None},
            "packages_before": [], "packages_after": [], "installed_during_session": [],
        },
        "outcome": {"reason": "final_answer", "answer": "done"},
        "outputs_cap_bytes": 5 * 1024 * 1024,
    }
    validate(sample)
    return sample


def attachment(folder: str | Path, path: str) -> dict[str, str]:
    """``{path, sha256}`` of the file ``folder/path`` (a ``task.attachments`` entry)."""
    return {"path": path, "sha256": hashlib.sha256((Path(folder) / path).read_bytes()).hexdigest()}


def session_sample(sources: list[str], cwd: str | Path, **kwargs: Any) -> dict[str, Any]:
    """``make_sample`` over a real ``record_session`` in ``cwd``."""
    return make_sample(sources, record_session(sources, cwd), **kwargs)
