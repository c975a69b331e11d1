"""``python -m python_kernel_bridge verify FILE.json [FILE.json ...]``: replay samples and print their verdicts.

Several files are verified in this one process (one kernel per file, ``--jobs`` at a time, on one asyncio loop:
the replay is nbclient's async API, as in the server's ``/aiev/verify`` route), so Python's start-up and imports
are paid once. One file prints ``verdict: …`` and its problem lines; several prefix each summary with the file's
path, in the order the files finish. ``--jsonl`` prints instead one JSON object per file as soon as it finishes:
``{"file": PATH, "verdict": "verified"|"diverged"|"failed"|"unverified"|null, "error": null|"one line",
"verification": BLOCK|null}``; ``error`` is set when the file could not be read, its kernel could not start
(``verdict`` null then) or, with ``--write``, its block could not be written. A bad file never stops the others.
With ``--files-from -`` the paths are read from stdin as they come, each verified as soon as a worker is free, so
one verifier process can serve a caller that hands it records one by one (the ``aiev batch`` verify gate).

``--replayed``: every FILE holds ``{"sample": SAMPLE, "run": RUN}``, a replay made elsewhere (the ``aiev`` runner on
a remote server's kernels, ``verify.replayed_block``); it is compared and judged without starting a kernel.

Attachments (``task.attachments``, the files a task's code reads, by path relative to its working folder) are
copied into each replay's folder when their sha256 matches, from ``--attachments-dir DIR`` for every file, by
default from each record file's own folder: a record saved next to its data files verifies as it is. Those not
copied (``unsafe``, ``missing``, ``mismatch``) are listed below the summary; a cell reading one fails.

Exit status: 0 every file verified; 2 any file unreadable (missing, not JSON, not a sample), whose replay kernel
could not start or whose block could not be written (one line on stderr each, no traceback), or on which the
verifier itself raised (its traceback on stderr); else 1 (diverged, failed or unverified).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import stat
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from . import __version__
from .images import IMAGE_TOLERANCE
from .normalise import FLOAT_REL_TOL

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
    compared = replay.get("compared")
    if compared:
        parts.append(compared_phrase(compared))
    if skipped:
        parts.append(f"{skipped} skipped")
    tests = block.get("tests")
    parts.append(f"tests {tests['passed']}/{len(tests['results'])}" if tests else "no tests")
    attachments = replay.get("attachments") or []
    if attachments:
        parts.append(f"attachments {sum(a['status'] == 'copied' for a in attachments)}/{len(attachments)}")
    return f"verdict: {block['verdict']} ({', '.join(parts)})"


def compared_phrase(compared: Mapping[str, int]) -> str:
    """``compared 3 by text, 1 by image, 1 by status, 1 setup``, or, when no cell was compared by content,
    ``NOTHING compared by content (…)``."""
    labels = {"text": "by text", "image": "by image", "status": "by status", "setup": "setup"}
    parts = [f"{compared.get(key, 0)} {label}" for key, label in labels.items() if compared.get(key)]
    listed = ", ".join(parts) or "no cell"
    if not compared.get("text") and not compared.get("image"):
        return f"NOTHING compared by content ({listed})"
    return f"compared {listed}"


def problem_lines(block: Mapping[str, Any]) -> list[str]:
    """One line per attachment not copied, then per cell or test that is not clean (diffs indented below their
    cell)."""
    lines = [
        f"  attachment {a['path']}: {a['status']}"
        for a in (block.get("replay") or {}).get("attachments") or []
        if a["status"] != "copied"
    ]
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


def _read(path: str, pair: bool = False) -> dict[str, Any]:
    """The sample in ``path``; with ``pair``, the ``{"sample", "run"}`` object (checked by ``replayed_block``)."""
    from .verify import InvalidSample, check_sample

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise InvalidSample(exc.strerror or str(exc)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSample(f"not JSON ({exc})") from exc
    if pair:
        if not (isinstance(data, dict) and "sample" in data and "run" in data):
            raise InvalidSample("not a replayed pair: no 'sample' and 'run' fields")
        return data
    return check_sample(data)


@dataclass
class Outcome:
    """What verifying one file gave: its block (None when it could not be replayed) and/or a one-line error."""

    file: str
    block: dict[str, Any] | None = None
    error: str | None = None
    #: Whether ``error`` already names the file (reading and writing errors do, a kernel start error does not).
    error_names_file: bool = True

    @property
    def status(self) -> int:
        """This file's exit status: 2 error, 0 verified, else 1."""
        if self.error is not None:
            return 2
        assert self.block is not None
        return 0 if self.block["verdict"] == "verified" else 1


async def verify_file(
    path: str,
    *,
    timeout: float,
    kernel: str | None,
    write: bool,
    attachments_dir: str | None = None,
    replayed: bool = False,
    tolerances: Any = None,
    environment: Mapping[str, Any] | None = None,
    recorded_env: bool = False,
    python: str | None = None,
) -> Outcome:
    """Read, replay and (``write``) update one file; every failure comes back as the outcome's ``error``.
    Attachments come from ``attachments_dir``, by default the file's own folder. ``replayed``: the file holds a
    ``{"sample", "run"}`` pair, judged without a kernel (and never written). ``recorded_env``: a sample whose
    ``environment`` names packages replays in the cached venv of those pins (on ``python``), the others in
    ``environment``."""
    from .replay import ReplayStartError  # imported here: the version line needs neither nbclient nor nbformat
    from .verify import InvalidSample, Tolerances, averify_sample, replayed_block

    try:
        sample = _read(path, pair=replayed)
    except InvalidSample as exc:
        return Outcome(path, error=f"cannot read {path}: {exc}")
    if replayed:
        try:
            block = replayed_block(sample["sample"], sample["run"])
        except InvalidSample as exc:
            return Outcome(path, error=f"cannot read {path}: {exc}")
        return Outcome(path, block)
    if recorded_env:
        try:
            kernel, environment = await _recorded_environment(sample, python) or (kernel, environment)
        except Exception as exc:  # noqa: BLE001 - EnvironmentError_ or a bad entry: this file's error only
            return Outcome(path, error=f"replay environment of {path}: {exc}")
    try:
        folder = attachments_dir if attachments_dir is not None else os.path.dirname(os.path.abspath(path))
        block = await averify_sample(
            sample,
            timeout=timeout,
            kernel_name=kernel,
            attachments_dir=folder,
            stop_later=True,
            tolerances=tolerances or Tolerances(),
            environment=environment,
        )
    except ReplayStartError as exc:
        return Outcome(path, error=str(exc), error_names_file=False)
    if write:
        try:
            write_verification(path, sample, block)
        except OSError as exc:
            return Outcome(path, block, f"cannot write {path}: {exc}")
    return Outcome(path, block)


_building = asyncio.Lock()


async def _recorded_environment(sample: Mapping[str, Any], python: str | None) -> tuple[str, dict[str, Any]] | None:
    """``(kernel, description)`` of the venv pinned to the sample's recorded packages (one build at a time, off the
    loop), or None when it records none."""
    from .replay_env import find_python, prepare_packages, recorded_requirements

    lines = recorded_requirements(dict(sample))
    if not lines:
        return None
    recorded_python = (sample.get("environment") or {}).get("python") or None
    async with _building:
        if python is None and recorded_python and not _same_minor(recorded_python, platform.python_version()):
            python = await asyncio.to_thread(find_python, recorded_python)
        described = await asyncio.to_thread(prepare_packages, lines, python, "recorded")
    described["recorded_python"] = recorded_python
    return described["kernel_name"], described


def _same_minor(a: str, b: str) -> bool:
    return a.split(".")[:2] == b.split(".")[:2]


def _json_stream() -> TextIO:
    """A private copy of stdout for the JSON lines. File descriptor 1 then points at stderr: replay kernels inherit
    it, and what a cell writes there (``os.system("echo …")``) would otherwise corrupt the stream."""
    sys.stdout.flush()
    stream = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return stream


def _report(outcome: Outcome, *, jsonl: TextIO | None, prefixed: bool) -> None:
    """Print one file's outcome: a JSON line on ``jsonl``, or the summary and problem lines (errors on stderr)."""
    if jsonl is not None:
        verdict = outcome.block["verdict"] if outcome.block else None
        line = {"file": outcome.file, "verdict": verdict, "error": outcome.error, "verification": outcome.block}
        print(json.dumps(line), file=jsonl, flush=True)
        return
    if outcome.block is not None:
        lines = [(f"{outcome.file}: " if prefixed else "") + summary_line(outcome.block)]
        print("\n".join(lines + problem_lines(outcome.block)), flush=True)
    if outcome.error is not None:
        where = f"{outcome.file}: " if prefixed and not outcome.error_names_file else ""
        print(f"verify: {where}{outcome.error}", file=sys.stderr, flush=True)


def _read_stdin_into(queue: asyncio.Queue[str | None]) -> None:
    """Put the paths stdin brings into ``queue`` as they arrive (a reader thread), then None at the end of input."""
    loop = asyncio.get_running_loop()

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="aiev-verify-stdin", daemon=True).start()


async def _verify_all(args: argparse.Namespace, files: list[str], streamed: bool = False) -> int:
    """Verify ``files`` (then, when ``streamed``, the paths stdin brings as they come) with ``args.jobs`` workers on
    this loop, reporting each as it finishes; the exit status (2 when nothing was given)."""
    from .replay import drain

    from .verify import Tolerances

    tolerances = Tolerances(float_rel_tol=args.float_tolerance, image=args.image_tolerance)
    environment = getattr(args, "environment", None)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    for path in files:  # the given files first, ahead of anything stdin brings
        queue.put_nowait(path)
    if streamed:
        _read_stdin_into(queue)
    else:
        queue.put_nowait(None)
    jsonl = _json_stream() if args.jsonl else None
    statuses: list[int] = []
    prefixed = streamed or len(files) > 1

    async def worker() -> None:
        while (path := await queue.get()) is not None:
            try:
                outcome = await verify_file(
                    path,
                    timeout=args.timeout,
                    kernel=args.kernel,
                    write=args.write and not args.replayed,
                    attachments_dir=args.attachments_dir,
                    replayed=args.replayed,
                    tolerances=tolerances,
                    environment=environment,
                    recorded_env=args.recorded_env,
                    python=args.python,
                )
            except Exception as exc:  # noqa: BLE001 - a bug on one file must not stop the others
                traceback.print_exc()
                outcome = Outcome(path, error=f"internal error: {type(exc).__name__}: {exc}", error_names_file=False)
            _report(outcome, jsonl=jsonl, prefixed=prefixed)
            statuses.append(outcome.status)
        queue.put_nowait(None)  # the end of input, for the next worker

    await asyncio.gather(*(worker() for _ in range(args.jobs)))
    await drain()  # each answer went out before its kernel had exited
    if not statuses:
        print("verify: no file was named", file=sys.stderr)
        return 2
    return 2 if 2 in statuses else (1 if 1 in statuses else 0)


def _files(args: argparse.Namespace) -> list[str]:
    """The positional files, then those listed in a ``--files-from`` file (raises ``OSError`` if it cannot be read);
    ``--files-from -`` is read as it comes, by ``_verify_all``."""
    files = list(args.files)
    if args.files_from is not None and args.files_from != "-":
        with open(args.files_from, encoding="utf-8") as handle:
            files.extend(line for line in handle.read().splitlines() if line)
    return files


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a positive whole number, not {text!r}")
    return int(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a number from 0 to 1, not {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    root = argparse.ArgumentParser(prog=PROG, description=f"jupyterlab-aiev bridge {__version__}")
    commands = root.add_subparsers(dest="command")
    verify = commands.add_parser(
        "verify",
        help="replay samples' final notebooks in fresh kernels",
        description="Replay each sample's final notebook in a fresh kernel. Exit 0 when every file is verified, "
        "2 when one could not be read, started or written, else 1.",
    )
    verify.set_defaults(usage_error=verify.error)  # exits 2 with this subcommand's usage line
    verify.add_argument("files", nargs="*", metavar="FILE.json", help="sample records")
    verify.add_argument(
        "--files-from", metavar="LIST", help="also verify the paths listed in LIST, one per line ('-': stdin)"
    )
    verify.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="seconds per cell and per test (default 120; 0: none)"
    )
    verify.add_argument(
        "--kernel", default=None, metavar="NAME", help="kernel name (default: the notebook's kernelspec, else python3)"
    )
    verify.add_argument(
        "--requirements",
        metavar="FILE",
        help="replay in a venv with these packages, built with uv and cached by the hash of the package set",
    )
    verify.add_argument(
        "--python", metavar="PATH", help="the interpreter of that venv; alone, the interpreter to replay with"
    )
    verify.add_argument(
        "--recorded-env",
        action="store_true",
        help="replay each sample whose environment names packages in a cached venv of those versions (uv)",
    )
    verify.add_argument(
        "--attachments-dir",
        metavar="DIR",
        help="folder the task attachments' paths are relative to, for every file (default: each record file's own "
        "folder); an attachment is copied into the replay's folder when its sha256 matches",
    )
    verify.add_argument(
        "--float-tolerance",
        type=_fraction,
        default=FLOAT_REL_TOL,
        metavar="R",
        help=f"relative tolerance of floats in compared text (default {FLOAT_REL_TOL:g}; 0: exact)",
    )
    verify.add_argument(
        "--image-tolerance",
        type=_fraction,
        default=IMAGE_TOLERANCE,
        metavar="F",
        help=f"largest share of an image's ink that may change (default {IMAGE_TOLERANCE:g}; 0: none)",
    )
    verify.add_argument("--write", action="store_true", help="write each verification block back into its file")
    verify.add_argument("--jobs", type=_jobs, default=1, metavar="N", help="files replayed at once (default 1)")
    verify.add_argument(
        "--jsonl",
        action="store_true",
        help='one JSON line per file as it finishes: {"file", "verdict", "error", "verification"}',
    )
    verify.add_argument(
        "--replayed",
        action="store_true",
        help='each FILE holds {"sample", "run"}: a replay made elsewhere, judged without a kernel',
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. Without a command it prints the version."""
    args = parser().parse_args(argv)
    if args.command == "verify":
        try:
            files = _files(args)
        except OSError as exc:
            print(f"verify: cannot read {args.files_from}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        streamed = args.files_from == "-"
        if not files and not streamed:
            args.usage_error("name at least one FILE.json (or --files-from LIST)")
        if args.attachments_dir is not None and not os.path.isdir(args.attachments_dir):
            args.usage_error(f"--attachments-dir {args.attachments_dir}: not a folder")
        if args.kernel and (args.requirements or args.python):
            args.usage_error("--kernel names an environment already: give it alone, or --requirements / --python")
        if args.recorded_env and args.requirements:
            args.usage_error("--recorded-env and --requirements both name the packages: give one")
        from .replay_env import EnvironmentError_, prepare

        try:
            args.environment = prepare(args.requirements, args.python, args.kernel)
        except EnvironmentError_ as exc:
            print(f"verify: replay environment: {exc}", file=sys.stderr)
            return 2
        args.kernel = args.environment["kernel_name"]
        return asyncio.run(_verify_all(args, files, streamed))
    print(f"jupyterlab-aiev bridge {__version__}")
    return 0
