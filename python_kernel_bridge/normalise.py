"""Normalisation of notebook outputs for the replay verifier: pure functions, no kernel, no I/O.

``normalise_text`` removes what legitimately differs between two runs of the same deterministic code (ANSI
escapes, ``\\r\\n``, ``\\r`` progress redraws, memory addresses, timings, the kernel's temporary cell-file
paths, trailing whitespace). ``canonical_outputs`` renders a cell's nbformat outputs as one comparable text:

- streams: between two non-stream outputs, all ``stdout`` text then all ``stderr`` text (consecutive streams of
  one name merged; stdout/stderr interleaving is not compared, as the kernel flushes the two independently).
  Python warnings (``file.py:12: FutureWarning: …`` and the source line under it) are dropped from ``stderr``: most
  are shown once per process, so whether a cell shows one depends on what ran before it in the session (often an
  attempt the final notebook dropped), not on what the cell computes;
- ``execute_result`` / ``display_data``: every ``text/*`` and ``application/json`` entry, normalised; in
  ``text/html`` the values of ``id`` attributes are renamed in order of appearance, wherever they occur (CSS
  selectors, ``for=``, scripts): scikit-learn numbers its estimator views per process, pandas ``Styler``, Plotly
  and Altair name theirs with random ids, none of which is content; any other MIME type (images, ``+json`` vendor bundles such as widget views, JavaScript) by presence only. PNGs are not
  hashed: the bytes change across matplotlib / libpng / font versions while the figure is the same;
- errors: the exception name only (the traceback holds paths, line numbers and ANSI colours).

``redact_values`` replaces given secret values wherever they occur in outputs (the verifier applies it to the
replayed outputs before comparing, as the session scrubbed its recorded ones).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase line
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
)
_BACKSPACE = re.compile(r"[^\n\x08]\x08")
_ADDRESS_AFTER_AT = re.compile(r"(\bat )0x[0-9a-fA-F]+\b")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_KERNEL_CELL_FILE = re.compile(r"ipykernel_\d+([/\\])\d+\.py")
_WALL_TIME = re.compile(r"^(\s*)Wall time:.*$", re.M)
_CPU_TIMES = re.compile(r"^(\s*)CPU times:.*$", re.M)
_TIMEIT = re.compile(
    r"^.*(?:\bper loop\b|\bloops?,\s+best of\b|slowest run took .* times longer).*$", re.M
)
_ELAPSED = re.compile(r"\b\d{1,3}:\d{2}(?::\d{2})?<(?:\d{1,3}:\d{2}(?::\d{2})?|\?)")
_RATE = re.compile(r"(?:\b\d+(?:\.\d+)?|\?)\s?(?:it/s|s/it|[kMG]?B/s)")
_DURATION = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s?(?:ns|µs|μs|us|ms|s|sec|secs|second|seconds)(?![\w/])"
)

#: Lines of a warning's message after its first that are dropped with it (a longer one is dropped in part).
WARNING_MESSAGE_LINES = 40
_WARNING_HEAD = r"[^\n]*:\d+: (?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*Warning: [^\n]*(?:\n|$)"
_WARNING = re.compile(
    r"^" + _WARNING_HEAD  # warnings.formatwarning's first line
    # the later lines of a multi-line message, up to the first indented line (the source line it quotes)
    + r"(?:(?:(?!" + _WARNING_HEAD + r")[^ \t\n][^\n]*\n){0,%d}?(?=[ \t]))?" % WARNING_MESSAGE_LINES
    + r"(?:[ \t]+[^\n]*(?:\n|$))*",  # the source line(s) it quotes, indented
    re.M,
)
_FIGURE_SIZE = re.compile(r"<Figure size \d+(?:\.\d+)?x\d+(?:\.\d+)? with (\d+) Axes>")
#: matplotlib's repr of an Axes, by version: ``<matplotlib.axes._subplots.AxesSubplot at 0x…>`` (< 3.3),
#: ``<AxesSubplot:xlabel='x'>`` (3.3–3.6), ``<Axes: xlabel='x'>`` (3.7+).
_AXES_REPR = re.compile(r"<matplotlib\.axes\._subplots\.AxesSubplot at 0x[0-9a-fA-F…]+>|<(?:AxesSubplot|Axes):[^<>\n]*>")
_FILE_MAGIC = re.compile(r"^(?:Overwriting|Writing) (?=\S)", re.M)
#: A number in compared text: an optional sign, digits with a decimal point and/or an exponent (integers are exact).
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+")
_HTML_ID = re.compile(r"""\bid\s*=\s*(["'])([^"'\s<>]+)\1""")

#: Default relative tolerance of floats in compared text (``floats_close``): representation noise, far below a
#: clock's tick (``time.time()`` read twice differs by more than 1e-12 of itself).
FLOAT_REL_TOL = 1e-12
#: Units of the last printed digit two floats may differ by (``floats_close``).
LAST_PLACE_UNITS = 1
#: Significant digits a float must print for its last digit to count as noise.
LAST_PLACE_MIN_DIGITS = 6

#: What a scrubbed secret value is replaced by (the session's recorder writes the same).
REDACTED = "[REDACTED]"

#: MIME types whose content is compared (besides every ``text/*``).
COMPARED_JSON = frozenset({"application/json"})


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, cursor movement, OSC)."""
    return _ANSI.sub("", text)


def collapse_carriage_returns(text: str) -> str:
    """``\\r\\n`` → ``\\n``; on each line keep what a terminal shows last after ``\\r`` redraws and backspaces."""
    text = text.replace("\r\n", "\n")
    while True:
        reduced = _BACKSPACE.sub("", text)
        if reduced == text:
            break
        text = reduced
    text = text.replace("\x08", "")
    if "\r" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        shown = [part for part in line.split("\r") if part]
        lines.append(shown[-1] if shown else "")
    return "\n".join(lines)


def mask_addresses(text: str) -> str:
    """Memory addresses (``0x7f3a…`` with 6+ hex digits, or any hex after ``at ``, as in reprs) → ``0x…``."""
    text = _ADDRESS_AFTER_AT.sub(r"\g<1>0x…", text)
    return _ADDRESS.sub("0x…", text)


def mask_timings(text: str) -> str:
    """Durations (``1.23 s``, ``123 ms``, ``4 µs``), ``Wall time:`` / ``CPU times:`` / ``%timeit`` lines, tqdm
    elapsed/remaining and rates → placeholders."""
    text = _WALL_TIME.sub(r"\1Wall time: <time>", text)
    text = _CPU_TIMES.sub(r"\1CPU times: <time>", text)
    text = _TIMEIT.sub("<timeit>", text)
    text = _ELAPSED.sub("<elapsed>", text)
    text = _RATE.sub("<rate>", text)
    return _DURATION.sub("<time>", text)


def mask_kernel_paths(text: str) -> str:
    """``/tmp/ipykernel_12345/678.py`` (the kernel's file for a cell, in warnings) → without the process id."""
    return _KERNEL_CELL_FILE.sub(r"ipykernel_<pid>\g<1><cell>.py", text)


def drop_warnings(text: str) -> str:
    """Python warnings as ``warnings.showwarning`` prints them (``path:line: SomeWarning: message`` and the indented
    source line under it) removed; other text is kept as it is."""
    return _WARNING.sub("", text)


def rename_html_ids(html: str) -> str:
    """Each distinct ``id`` attribute value → ``aiev-id-N`` (N in order of first appearance), everywhere it occurs as
    a whole token (``#id`` selectors, ``for="id"``, ``getElementById("id")``). Two renderings that differ only in
    the names of their elements' ids come out equal."""
    names: dict[str, str] = {}
    for match in _HTML_ID.finditer(html):
        names.setdefault(match.group(2), f"aiev-id-{len(names) + 1}")
    if not names:
        return html
    token = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")(?![\w-])"
    )
    return token.sub(lambda m: names[m.group(1)], html)


def mask_figure_sizes(text: str) -> str:
    """matplotlib's ``<Figure size 432x288 with 1 Axes>`` → ``<Figure with 1 Axes>``: the default size changed
    across versions (and with rcParams); the number of axes is what the figure holds. An Axes' repr (what a pandas
    ``.plot()`` cell shows), which every few versions writes differently, → ``<Axes>``; the plot is compared as an
    image."""
    return _AXES_REPR.sub("<Axes>", _FIGURE_SIZE.sub(r"<Figure with \1 Axes>", text))


def mask_file_magic(text: str) -> str:
    """``%%file``/``%%writefile``'s ``Overwriting NAME`` → ``Writing NAME``: which one it says depends on whether the
    file was there before (it is in the folder the person ran the notebook in, not in a fresh replay folder)."""
    return _FILE_MAGIC.sub("Writing ", text)


def _last_place(token: str) -> float:
    """The value of one unit in the last printed digit of a float token (``0.125`` → 0.001, ``1.5e-3`` → 1e-4)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def _significant_digits(token: str) -> int:
    digits = token.lower().partition("e")[0].lstrip("+-").replace(".", "")
    return len(digits.lstrip("0"))


def floats_close(recorded: str, replayed: str, rel_tol: float = FLOAT_REL_TOL) -> bool:
    """Two printed floats differ only by noise: within ``LAST_PLACE_UNITS`` units of the last digit the less precise
    one prints when both print ``LAST_PLACE_MIN_DIGITS`` significant digits or more (``0.1234568`` vs
    ``0.1234567``, a library rounding its last digit the other way), or within
    ``rel_tol`` of each other (``0.30000000000000004`` vs ``0.3``: another order of summation)."""
    a, b = float(recorded), float(replayed)
    if math.isclose(a, b, rel_tol=rel_tol):
        return True
    if min(_significant_digits(recorded), _significant_digits(replayed)) < LAST_PLACE_MIN_DIGITS:
        return False  # 0.5 vs 0.6 is a different value, not noise
    unit = max(_last_place(recorded), _last_place(replayed))
    return abs(a - b) <= LAST_PLACE_UNITS * unit * (1 + 1e-9)


def texts_match(recorded: str, replayed: str, rel_tol: float = FLOAT_REL_TOL) -> bool:
    """Whether two canonical texts are equal up to float noise: split at every float (a number with a decimal point
    or an exponent), the text between the floats must be equal and each pair of floats ``floats_close``. Integers
    and everything else compare exactly; ``rel_tol`` 0 compares floats exactly too."""
    if recorded == replayed:
        return True
    if rel_tol <= 0 or _FLOAT.split(recorded) != _FLOAT.split(replayed):
        return False
    pairs = zip(_FLOAT.findall(recorded), _FLOAT.findall(replayed))
    return all(x == y or floats_close(x, y, rel_tol) for x, y in pairs)


def strip_trailing_whitespace(text: str) -> str:
    """Trailing whitespace of every line, and trailing blank lines, removed."""
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")


def normalise_text(text: str) -> str:
    """Every text normalisation, in order."""
    text = collapse_carriage_returns(strip_ansi(text))
    text = mask_timings(mask_kernel_paths(mask_addresses(text)))
    return strip_trailing_whitespace(text)


def joined(value: Any) -> str:
    """An nbformat multiline string (a string or a list of strings) as one string."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return "" if value is None else str(value)


def _mime_text(mime: str, value: Any) -> str | None:
    """The compared text of one MIME entry, or None when the type is compared by presence only."""
    if mime == "text/html":
        return normalise_text(rename_html_ids(joined(value)))
    if mime.startswith("text/"):
        return normalise_text(mask_figure_sizes(joined(value)))
    if mime in COMPARED_JSON:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return normalise_text(value)
        return normalise_text(json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False))
    return None


def _render_bundle(kind: str, data: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for mime in sorted(data):
        text = _mime_text(mime, data[mime])
        if text is None:
            lines.append(f"[{kind} {mime}] <present>")
        else:
            lines.append(f"[{kind} {mime}]")
            lines.extend(text.split("\n") if text else [])
    return lines or [f"[{kind}] <empty>"]


def _flush_streams(pending: dict[str, list[str]], lines: list[str]) -> None:
    for name in ("stdout", "stderr"):
        raw = "".join(pending.pop(name, []))
        text = normalise_text(drop_warnings(raw) if name == "stderr" else mask_file_magic(raw))
        if text:
            lines.append(f"[{name}]")
            lines.extend(text.split("\n"))
    for name in sorted(pending):  # non-standard stream names, if any
        text = normalise_text("".join(pending[name]))
        if text:
            lines.append(f"[{name}]")
            lines.extend(text.split("\n"))
    pending.clear()


def canonical_outputs(outputs: Iterable[Mapping[str, Any]]) -> str:
    """One normalised text for a cell's outputs; two runs match when these are equal (see the module doc)."""
    lines: list[str] = []
    pending: dict[str, list[str]] = {}
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            pending.setdefault(str(output.get("name", "stdout")), []).append(joined(output.get("text")))
            continue
        _flush_streams(pending, lines)
        if kind in ("execute_result", "display_data"):
            lines.extend(_render_bundle(str(kind), output.get("data") or {}))
        elif kind == "error":
            lines.append(f"[error] {output.get('ename', '')}")
        else:
            lines.append(f"[{kind}]")
    _flush_streams(pending, lines)
    return "\n".join(lines)


def redact_values(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of ``value`` (JSON-like: dicts, lists, strings) with every occurrence of each of ``secrets`` in its
    strings replaced by ``REDACTED``, the longest first."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not ordered:
        return value

    def scrub(item: Any) -> Any:
        if isinstance(item, str):
            for secret in ordered:
                item = item.replace(secret, REDACTED)
            return item
        if isinstance(item, Mapping):
            return {key: scrub(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [scrub(inner) for inner in item]
        return item

    return scrub(value)


def error_names(outputs: Iterable[Mapping[str, Any]]) -> list[str]:
    """``ename`` of every error output."""
    return [str(o.get("ename", "")) for o in outputs if o.get("output_type") == "error"]
