"""Comparing one replayed cell with its recording (the rules are in ``verify.py``'s module doc): which mode a cell
is compared in, what its recorded outputs give to compare, the per-cell entry of ``replay.cells`` with its diff,
and the counts of ``replay.compared``."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from typing import Any

from .images import IMAGE_TOLERANCE, compare_images, images_of
from .normalise import FLOAT_REL_TOL, canonical_outputs, error_names, joined, strip_ansi, texts_match
from .replay import OK, SKIPPED, TIMEOUT, CellRun

_INSTALLER = re.compile(r"^[%!]\s*(?:pip3?|conda|mamba|micromamba|uv\s+pip|python3?\s+-m\s+pip)\b")
#: Profiler and timing magics (line or cell) whose output is a measurement: compared by status.
_PROFILER = re.compile(r"^\s*%{1,2}(?:prun|timeit|memit|mprun|lprun)\b", re.M)
#: matplotlib's repr of a figure, which says nothing about what is drawn.
_FIGURE_REPR = re.compile(r"^<Figure (?:size \S+ )?with \d+ Axes>$")
_DIFF_LINES = 12
_DIFF_CHARS = 1000
#: Characters of a replayed error's traceback kept in the block (its end: where it was raised).
TRACEBACK_CHARS = 1500


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """How close replayed outputs must be: floats in text (relative), images (share of ink changed)."""

    float_rel_tol: float = FLOAT_REL_TOL
    image: float = IMAGE_TOLERANCE


def error_entry(run: CellRun) -> dict[str, str]:
    """``{ename, evalue, traceback}`` of a replayed cell or test that raised: the traceback ANSI-stripped, its last
    ``TRACEBACK_CHARS`` characters (what the verify gate shows the model)."""
    entry = dict(run.error or {})
    for output in run.outputs:
        if output.get("output_type") == "error" and output.get("traceback"):
            text = strip_ansi("\n".join(str(line) for line in output["traceback"]))
            entry["traceback"] = text[-TRACEBACK_CHARS:]
    return entry


def _first_code_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            return line.strip()
    return ""


def aiev_metadata(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The cell's ``metadata.aiev`` (its provenance and comparison hints), or an empty mapping."""
    meta = (cell.get("metadata") or {}).get("aiev")
    return meta if isinstance(meta, Mapping) else {}


def is_installer(cell: Mapping[str, Any]) -> bool:
    """Kind ``pip`` in ``metadata.aiev``, or a first code line that is a ``%pip``/``!pip``/``%conda``… command."""
    return aiev_metadata(cell).get("kind") == "pip" or bool(_INSTALLER.match(_first_code_line(joined(cell.get("source")))))


def cell_kind(cell: Mapping[str, Any]) -> str:
    """``metadata.aiev.kind``; without it ``pip`` for an installer, else ``python``."""
    kind = aiev_metadata(cell).get("kind")
    if isinstance(kind, str) and kind:
        return kind
    return "pip" if is_installer(cell) else "python"


def is_profiler(cell: Mapping[str, Any]) -> bool:
    """A line of the cell is a profiler or timing magic (``%prun``, ``%timeit``, ``%memit``, ``%lprun``, ``%mprun``,
    line or cell form)."""
    return bool(_PROFILER.search(joined(cell.get("source"))))


def comparison_mode(cell: Mapping[str, Any], step: Mapping[str, Any] | None = None) -> str:
    """``setup`` for cells the notebook never ran (``metadata.aiev.setup``: run, nothing to compare); ``status``
    for installers, profiler and timing magics, declared-nondeterministic cells and truncated recordings; else
    ``exact``."""
    if aiev_metadata(cell).get("setup") is True:
        return "setup"
    if is_installer(cell) or is_profiler(cell) or aiev_metadata(cell).get("nondeterministic") is True:
        return "status"
    return "status" if (step or {}).get("truncated") is True else "exact"


def compared_content(outputs: list[Mapping[str, Any]]) -> list[str]:
    """What a cell's recorded outputs give to compare by content: ``text`` (a stream, an error or a text entry
    other than a figure's repr) and/or ``image``."""
    kinds = []
    for output in outputs:
        kind = output.get("output_type")
        data = output.get("data") or {}
        plain = joined(data.get("text/plain")).strip()
        texts = [m for m in data if m.startswith("text/") and not (m == "text/plain" and _FIGURE_REPR.match(plain))]
        if kind in ("stream", "error") or texts or "application/json" in data:
            kinds.append("text")
        if images_of([output]):
            kinds.append("image")
    return sorted(set(kinds), key=["text", "image"].index)


def recorded_status(outputs: list[Mapping[str, Any]]) -> str:
    """``error`` when the recorded outputs hold an error output, else ``ok``."""
    return "error" if error_names(outputs) else OK


def short_diff(recorded: str, replayed: str) -> str:
    """A unified diff of two canonical texts, cut to a few lines."""
    diff = difflib.unified_diff(recorded.split("\n"), replayed.split("\n"), "recorded", "replayed", n=1, lineterm="")
    lines = list(diff)[2:]  # without the ---/+++ header
    shown = [line if len(line) <= 160 else line[:157] + "..." for line in lines[:_DIFF_LINES]]
    if len(lines) > _DIFF_LINES:
        shown.append(f"... ({len(lines) - _DIFF_LINES} more diff lines)")
    text = "\n".join(shown)
    return text if len(text) <= _DIFF_CHARS else text[: _DIFF_CHARS - 3] + "..."


def compare_cell(
    cell: Mapping[str, Any], run: CellRun, mode: str, tolerances: Tolerances = Tolerances()
) -> dict[str, Any]:
    """The per-cell entry of ``replay.cells``: ``compared`` (``exact``, ``status``, ``none``), ``match``, and for
    ``exact`` what was compared (``content``: ``text``, ``image``) with the images' ``{count, match,
    max_difference}``."""
    recorded = list(cell.get("outputs") or [])
    entry: dict[str, Any] = {"cell_id": str(cell.get("id") or f"cell-{run.index}"), "status": run.status}
    if run.status in (TIMEOUT, SKIPPED):
        entry.update(compared="none", match=False)
    elif not joined(cell.get("source")).strip():
        entry.update(compared="none", match=True)
    elif mode == "setup":
        entry.update(compared="none", match=True, setup=True)
    elif mode == "status":
        was = recorded_status(recorded)
        entry.update(compared="status", match=was == run.status)
        if was != run.status:
            entry["diff"] = f"status: recorded {was}, replayed {run.status}"
    else:
        before, after = canonical_outputs(recorded), canonical_outputs(run.outputs)
        same_text = texts_match(before, after, tolerances.float_rel_tol)
        entry.update(compared="exact", match=same_text, content=compared_content(recorded))
        if not same_text:
            entry["diff"] = short_diff(before, after)
        pictures = images_of(recorded)
        if pictures or images_of(run.outputs):
            entry["images"] = compare_images(pictures, images_of(run.outputs), tolerances.image)
            if not entry["images"]["match"]:
                entry["match"] = False
                entry.setdefault("diff", f"images differ: {entry['images']['max_difference']:.0%} of the ink changed")
    if run.error:
        entry["error"] = error_entry(run)
    return entry


def compared_counts(cells: list[Mapping[str, Any]]) -> dict[str, int]:
    """How many cells were compared by ``text``, by ``image``, by ``status`` only, run as ``setup`` (never run in
    the notebook: nothing to compare) or not at all (``none``: blank, skipped, timed out)."""
    counts = {"text": 0, "image": 0, "status": 0, "setup": 0, "none": 0}
    for cell in cells:
        if cell["compared"] == "exact":
            for kind in cell.get("content") or []:
                counts[kind] += 1
        elif cell.get("setup"):
            counts["setup"] += 1
        else:
            counts["status" if cell["compared"] == "status" else "none"] += 1
    return counts
