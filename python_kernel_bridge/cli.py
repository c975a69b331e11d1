"""``python -m python_kernel_bridge verify FILE.json``: replay a sample and print its verdict.

Exit status: 0 verified; 1 diverged, failed or unverified; 2 unreadable input (missing file, not JSON, not a
sample) or a replay kernel that could not start (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from . import __version__

PROG = "python -m python_kernel_bridge"


def summary_line(block: Mapping[str, Any]) -> str:
    """``verdict: verified (5 cells, 0 errors, 0 diffs, tests 2/2)``."""
    replay = block.get("replay") or {}
    cells = replay.get("cells") or []
    if not replay:
        return f"verdict: {block['verdict']} (nothing to replay: no notebook or no code cells)"
    errors = sum(c["status"] in ("error", "timeout") for c in cells)
    skipped = sum(c["status"] == "skipped" for c in cells)
    diffs = sum(c["status"] == "ok" and not c["match"] for c in cells)
    parts = [f"{len(cells)} cells", f"{errors} errors", f"{diffs} diffs"]
    if skipped:
        parts.append(f"{skipped} skipped")
    tests = block.get("tests")
    parts.append(f"tests {tests['passed']}/{len(tests['results'])}" if tests else "no tests")
    return f"verdict: {block['verdict']} ({', '.join(parts)})"


def problem_lines(block: Mapping[str, Any]) -> list[str]:
    """One line per cell or test that is not clean (diffs indented below their cell)."""
    lines: list[str] = []
    for cell in (block.get("replay") or {}).get("cells") or []:
        where = f"  cell {cell['cell_id']}"
        error = cell.get("error")
        if cell["status"] != "ok":
            detail = f" {error['ename']}: {error['evalue']}" if error else ""
            lines.append(f"{where}: {cell['status']}{detail}")
        elif not cell["match"]:
            lines.append(f"{where}: output differs (compared {cell['compared']})")
            lines.extend(f"      {line}" for line in str(cell.get("diff", "")).split("\n") if line)
    for test in (block.get("tests") or {}).get("results") or []:
        if test["status"] != "passed":
            error = test.get("error")
            detail = f" {error['ename']}: {error['evalue']}" if error else ""
            lines.append(f"  test {test['index']}: {test['status']}{detail}")
    return lines


def write_verification(path: str, sample: dict[str, Any], block: Mapping[str, Any]) -> None:
    """Store ``block`` as the sample's ``verification``, atomically (temporary file + ``os.replace``)."""
    updated = dict(sample, verification=dict(block))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".aiev-verify-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(updated, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read(path: str) -> dict[str, Any]:
    from .verify import InvalidSample, check_sample

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise InvalidSample(exc.strerror or str(exc)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSample(f"not JSON ({exc})") from exc
    return check_sample(data)


def _verify(args: argparse.Namespace) -> int:
    from .replay import ReplayStartError  # imported here: the version line needs neither nbclient nor nbformat
    from .verify import InvalidSample, verify_sample

    try:
        sample = _read(args.file)
    except InvalidSample as exc:
        print(f"verify: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        block = verify_sample(sample, timeout=args.timeout, kernel_name=args.kernel)
    except ReplayStartError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    print(summary_line(block))
    for line in problem_lines(block):
        print(line)
    if args.write:
        try:
            write_verification(args.file, sample, block)
        except OSError as exc:
            print(f"verify: cannot write {args.file}: {exc}", file=sys.stderr)
            return 2
    return 0 if block["verdict"] == "verified" else 1


def parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    root = argparse.ArgumentParser(prog=PROG, description=f"jupyterlab-aiev bridge {__version__}")
    commands = root.add_subparsers(dest="command")
    verify = commands.add_parser("verify", help="replay a sample's final notebook in a fresh kernel")
    verify.add_argument("file", metavar="FILE.json", help="the sample record")
    verify.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="seconds per cell and per test (default 120; 0: none)"
    )
    verify.add_argument(
        "--kernel", default=None, metavar="NAME", help="kernel name (default: the notebook's kernelspec, else python3)"
    )
    verify.add_argument("--write", action="store_true", help="write the verification block back into FILE.json")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. Without a command it prints the version."""
    args = parser().parse_args(argv)
    if args.command == "verify":
        return _verify(args)
    print(f"jupyterlab-aiev bridge {__version__}")
    return 0
