"""Replay environments: the interpreter and packages a replay's kernel runs with.

- ``verifier``: none named; the kernel named by the notebook (``python3``, this process's environment);
- ``kernel``: an installed kernel the user names (``--kernel NAME``), used as it is;
- ``python``: an interpreter the user names (``--python PATH``, with ipykernel installed), registered as a kernel;
- ``recorded``: the packages the sample's own ``environment`` names (``--recorded-env``: what an agent's session
  had installed, or the versions a harvested notebook printed), pinned, built and cached like ``requirements``, on
  an interpreter of the recorded Python version when this machine has one (``find_python``: uv finds it on PATH
  or among its own, never downloads one), else on this interpreter, the recorded version said beside it;
- ``requirements``: a requirements file (``--requirements FILE``, with ``--python PATH`` for its interpreter): a venv
  built with uv (``uv venv`` + ``uv pip install -r FILE ipykernel``), cached under ``cache_root()`` by the sha256
  of the requirement lines and the interpreter, so the second harvest of a folder builds nothing.

Either of the last two is registered as the kernelspec ``aiev-<hash>`` in a private data folder put first on
``JUPYTER_PATH`` of this process (the replay kernels' managers look there), never in the user's own kernels. The
description (``replay.environment`` of every block) says which kind replayed, the kernel, the interpreter's
Python version and, for ``requirements``, the packages installed and whether the cache was hit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

#: Version of how a cached environment is built (part of its hash: a change rebuilds).
CACHE_LAYOUT = 2
#: Seconds a venv build may take (downloads included).
BUILD_TIMEOUT = 900


class EnvironmentError_(RuntimeError):
    """The replay environment could not be built or registered (one line saying why)."""


def cache_root() -> str:
    """Where built environments live: ``$AIEV_ENV_CACHE``, else ``~/.cache/aiev/envs``."""
    return os.environ.get("AIEV_ENV_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "aiev", "envs")


def requirement_lines(path: str) -> list[str]:
    """The requirement lines of a requirements file, comments and blank lines left out, sorted (the package set)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise EnvironmentError_(f"cannot read {path}: {exc.strerror or exc}") from exc
    lines = {line.split(" #")[0].strip() for line in text.splitlines()}
    return sorted(line for line in lines if line and not line.startswith("#"))


def _uv() -> str:
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if not found:
        raise EnvironmentError_("uv is not installed (pip install uv): it builds the replay environment")
    return found


def _run(args: list[str], what: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentError_(f"{what}: {exc}") from exc
    if done.returncode:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise EnvironmentError_(f"{what} failed: {' / '.join(last)}")
    return done.stdout


def _python_version(python: str) -> str:
    return _run([python, "-c", "import platform; print(platform.python_version())"], f"running {python}").strip()


def _register(folder: str, name: str, python: str, display: str) -> None:
    """Write the kernelspec ``name`` for ``python`` under ``folder/share/jupyter/kernels`` and put that data folder
    first on ``JUPYTER_PATH``."""
    spec_dir = os.path.join(folder, "share", "jupyter", "kernels", name)
    os.makedirs(spec_dir, exist_ok=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display,
        "language": "python",
    }
    with open(os.path.join(spec_dir, "kernel.json"), "w", encoding="utf-8") as out:
        json.dump(spec, out, indent=1)
    data = os.path.join(folder, "share", "jupyter")
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != data]
    os.environ["JUPYTER_PATH"] = os.pathsep.join([data, *paths])


def _packages(python: str) -> list[dict[str, str]]:
    listed = json.loads(_run([_uv(), "pip", "list", "--python", python, "--format", "json"], "listing packages"))
    return sorted(({"name": p["name"], "version": p["version"]} for p in listed), key=lambda p: p["name"].lower())


def _build(folder: str, lines: list[str], python: str) -> None:
    """Build the venv ``folder/venv`` with ``lines`` and ipykernel, in a temporary folder renamed into place."""
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".building-", dir=parent)
    try:
        venv = os.path.join(staging, "venv")
        _run([_uv(), "venv", "--quiet", "--python", python, venv], "uv venv")
        requirements = os.path.join(staging, "requirements.txt")
        with open(requirements, "w", encoding="utf-8") as out:
            out.write("\n".join([*lines, "ipykernel"]) + "\n")
        # Compiled now: a kernel that had to compile IPython's imports at every start would replay ~1 s slower.
        venv_python = os.path.join(venv, "bin", "python")
        _run([_uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", venv_python, "-r", requirements],
             "uv pip install")
        try:
            os.rename(staging, folder)
        except OSError:  # built meanwhile by another process: keep that one
            if not os.path.isdir(folder):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def find_python(version: str) -> str | None:
    """An installed interpreter of ``version``'s major.minor (``uv python find``, downloads off), or None."""
    wanted = ".".join(version.split(".")[:2])
    if not re.fullmatch(r"\d+\.\d+", wanted):
        return None
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    try:
        done = subprocess.run([_uv(), "python", "find", wanted], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired, EnvironmentError_):
        return None
    found = done.stdout.strip().splitlines()
    return found[-1] if done.returncode == 0 and found else None


def prepare(requirements: str | None = None, python: str | None = None, kernel: str | None = None) -> dict[str, Any]:
    """Make the replay environment the options name (module doc) and return its description, whose
    ``kernel_name`` the replays use (None for ``verifier``: the notebook's own kernelspec). Raises
    ``EnvironmentError_``."""
    if kernel:
        return {"kind": "kernel", "kernel_name": kernel}
    if not requirements and not python:
        return {"kind": "verifier", "kernel_name": None, "python": sys.version.split()[0], "executable": sys.executable}
    base = python or sys.executable
    if not requirements:
        version = _python_version(base)
        digest = hashlib.sha256(os.path.realpath(base).encode()).hexdigest()
        name = f"aiev-{digest[:12]}"
        _register(os.path.join(cache_root(), "kernels", digest[:16]), name, base, f"aiev replay ({base})")
        return {"kind": "python", "kernel_name": name, "python": version, "executable": base}
    return prepare_packages(requirement_lines(requirements), base, "requirements")


def recorded_requirements(sample: dict[str, Any]) -> list[str]:
    """``name==version`` of each package in the sample's ``environment.packages_after`` (what the session or the
    notebook says it ran with), sorted; empty when it names none."""
    packages = (sample.get("environment") or {}).get("packages_after") or []
    pins = {
        f"{p['name']}=={p['version']}"
        for p in packages
        if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("version"), str)
    }
    return sorted(pins)


def prepare_packages(lines: list[str], python: str | None = None, kind: str = "recorded") -> dict[str, Any]:
    """The cached venv of the package set ``lines`` (built on first use) on ``python`` (default this interpreter),
    registered as a kernel; its description (``kind``: ``requirements`` or ``recorded``). Raises
    ``EnvironmentError_``."""
    base = python or sys.executable
    version = _python_version(base)
    key = {"requirements": lines, "python": version, "layout": CACHE_LAYOUT}
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    folder = os.path.join(cache_root(), digest[:16])
    cached = os.path.isfile(os.path.join(folder, "venv", "bin", "python"))
    if not cached:
        _build(folder, lines, base)
    venv_python = os.path.join(folder, "venv", "bin", "python")
    name = f"aiev-{digest[:12]}"
    _register(folder, name, venv_python, f"aiev replay ({len(lines)} requirements)")
    return {
        "kind": kind,
        "kernel_name": name,
        "python": version,
        "requirements": lines,
        "requirements_sha256": digest,
        "packages": _packages(venv_python),
        "cache": "hit" if cached else "built",
    }
