"""The session store: each sidebar session's append-only event log and record, saved on the server as it grows.

One folder (``AievBridge.sessions_dir``, created ``0700``), per session ``<id>``:

- ``<id>.aiev.events.jsonl``: the event log (``src/trace/eventLog.ts``), one JSON object a line:
  ``{"seq", "time", "kind", "payload", "redactions"?}``, line ``n`` has ``seq`` ``n``, line 0 is the ``header``
  (payload: ``id`` = ``<id>``, ``created_at``, ``source`` {``model``, ``notebook_path``…}, ``task``…);
- ``<id>.aiev.json``: the record, when the client puts it (an ordinary record: ``aiev verify/export/harvest`` and
  ``python -m python_kernel_bridge verify`` read it);
- ``.index/<id>.json``: the listing's summary of the log and the byte offset it covers (a cache; harvest skips
  dot-folders).

Nothing from a request becomes a path except ``<id>``, which must match ``SESSION_ID``.

Appends (``append``) are serialized per id; the first line's ``seq`` must be the number of lines stored
(``SeqConflict`` otherwise, with ``next_seq``: the client resends from there), a new log starts with the header.
Each batch is one ``write`` + ``fsync`` (about 0.1 ms on this machine's ext4), on a worker thread. A last line cut
by a crash (no newline) is ignored when reading and dropped before the next append.

Listing stays fast with hundreds of sessions and multi-MB logs: a summary is kept per session with the byte offset
of the log it covers, updated in memory on append and written to the index file by the next listing; only the
bytes after that offset are ever read (after a restart: what was appended since the last listing), and of those
only the ``header``/``user``/``finish`` lines are parsed whole (the others by the ``seq``/``kind`` prefix this
store writes).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: A session id: what may name a session's files.
SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
#: Kinds of event-log lines.
KINDS = frozenset({
    "header", "user", "assistant", "execution", "tool_result", "event", "environment", "notebook", "attachments",
    "finish",
})
EVENTS_SUFFIX = ".aiev.events.jsonl"
RECORD_SUFFIX = ".aiev.json"
INDEX_FOLDER = ".index"
PROMPT_CHARS = 200
_INDEX_VERSION = 1
#: The prefix of every line this store writes (``json.dumps`` of ``_line`` keeps this key order).
_PREFIX = re.compile(rb'^\{"seq": (\d+), "time": "[^"\\]*", "kind": "([a-z_]+)"')
_PARSED_KINDS = frozenset({b"header", b"user", b"finish"})


class SessionError(Exception):
    """A request the store refuses: ``status`` is the HTTP status, ``extra`` more fields of the answer."""

    status = 400

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.extra = extra


class SessionNotFound(SessionError):
    status = 404


class SeqConflict(SessionError):
    status = 409


def check_id(session_id: str) -> str:
    """``session_id`` if it is a valid id, else ``SessionError`` (400)."""
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise SessionError("a session id is 1-128 letters, digits, '-' or '_', starting with a letter or digit")
    return session_id


def _line(raw: Any, index: int) -> dict[str, Any]:
    """A validated log line, its keys in the order ``_PREFIX`` reads."""
    where = f"line {index}"
    if not isinstance(raw, dict):
        raise SessionError(f"{where} is not a JSON object")
    seq, kind, time = raw.get("seq"), raw.get("kind"), raw.get("time", "")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise SessionError(f"{where}: 'seq' must be a non-negative integer")
    if not isinstance(kind, str) or kind not in KINDS:
        raise SessionError(f"{where}: 'kind' must be one of {', '.join(sorted(KINDS))}")
    if not isinstance(time, str):
        raise SessionError(f"{where}: 'time' must be a string")
    if "redactions" in raw and not isinstance(raw["redactions"], list):
        raise SessionError(f"{where}: 'redactions' must be a list")
    line = {"seq": seq, "time": time, "kind": kind, "payload": raw.get("payload")}
    line.update((k, v) for k, v in raw.items() if k not in line)
    return line


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _empty_index() -> dict[str, Any]:
    return {
        "version": _INDEX_VERSION, "offset": 0, "lines": 0, "header": None, "prompt": None, "turns": 0,
        "last_user": -1, "last_finish": -1, "outcome": None,
    }


def _fold(index: dict[str, Any], line: dict[str, Any] | None, kind: str, seq: int) -> None:
    """Count one line into ``index`` (``line`` is the parsed line for the kinds the summary reads)."""
    index["lines"] += 1
    payload = (line or {}).get("payload")
    if kind == "header" and isinstance(payload, dict):
        source = payload.get("source") if isinstance(payload.get("source"), dict) else {}
        index["header"] = {
            "created_at": payload.get("created_at"),
            "notebook_path": source.get("notebook_path"),
            "model": source.get("model"),
        }
    elif kind == "user":
        index["turns"] += 1
        index["last_user"] = seq
        if index["prompt"] is None and isinstance(payload, dict):
            index["prompt"] = str(payload.get("text", ""))[:PROMPT_CHARS]
    elif kind == "finish":
        index["last_finish"] = seq
        index["outcome"] = payload


def _scan(data: bytes, index: dict[str, Any]) -> None:
    """Fold the complete lines of ``data`` (log bytes from ``index["offset"]``) into ``index``."""
    end = data.rfind(b"\n") + 1
    for raw in data[:end].splitlines():
        if not raw.strip():
            continue
        match = _PREFIX.match(raw)
        if match and match.group(2) not in _PARSED_KINDS:
            _fold(index, None, match.group(2).decode(), int(match.group(1)))
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            line = {}
        line = line if isinstance(line, dict) else {}
        _fold(index, line, str(line.get("kind")), line.get("seq") if isinstance(line.get("seq"), int) else -1)
    index["offset"] += end


class SessionStore:
    """The session files under ``folder``; paths in answers relative to ``root_dir`` when inside it."""

    def __init__(self, folder: str, root_dir: str):
        self.folder = Path(folder)
        self.root_dir = Path(root_dir)
        self._locks: dict[str, asyncio.Lock] = {}
        self._indexes: dict[str, dict[str, Any]] = {}
        # Appends run on worker threads, listings on the event loop: one lock over the indexes and log writes.
        self._index_lock = threading.RLock()
        #: Ids whose index changed since its file was written (written by the next listing).
        self._unsaved: set[str] = set()

    def _path(self, session_id: str, suffix: str) -> Path:
        return self.folder / f"{check_id(session_id)}{suffix}"

    def _index_path(self, session_id: str) -> Path:
        return self.folder / INDEX_FOLDER / f"{check_id(session_id)}.json"

    def _ensure_folder(self) -> None:
        for folder in (self.folder, self.folder / INDEX_FOLDER):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    # --- summaries -------------------------------------------------------------------------------------------

    def _index(self, session_id: str, size: int) -> dict[str, Any]:
        """The summary index of a log of ``size`` bytes: cached, else from the index file, brought up to date by
        reading only what follows its offset (all of the log when it shrank); persisted when it changed."""
        index = self._indexes.get(session_id)
        if index is None:
            try:
                index = json.loads(self._index_path(session_id).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                index = None
            if not isinstance(index, dict) or index.get("version") != _INDEX_VERSION:
                index = _empty_index()
        if index["offset"] > size:
            index = _empty_index()
        if size > index["offset"]:
            before = index["offset"]
            with open(self._path(session_id, EVENTS_SUFFIX), "rb") as log:
                log.seek(before)
                _scan(log.read(size - before), index)
            if index["offset"] != before:
                self._unsaved.add(session_id)
        self._indexes[session_id] = index
        return index

    def _save_index(self, session_id: str, index: dict[str, Any]) -> None:
        """Write the index file if the index changed since it was last written (it is only a cache)."""
        if session_id in self._unsaved:
            try:
                self._write_atomic(self._index_path(session_id), json.dumps(index).encode())
                self._unsaved.discard(session_id)
            except OSError:
                pass

    def summary(self, session_id: str) -> dict[str, Any] | None:
        """The listing entry of one session, None when it has no log (or no complete header yet)."""
        try:
            stat = self._path(session_id, EVENTS_SUFFIX).stat()
        except FileNotFoundError:
            return None
        return self._summary(session_id, stat, self._path(session_id, RECORD_SUFFIX).exists())

    def _summary(self, session_id: str, stat: os.stat_result, has_record: bool) -> dict[str, Any] | None:
        with self._index_lock:
            index = self._index(session_id, stat.st_size)
            self._save_index(session_id, index)
        header = index["header"]
        if header is None:
            return None
        return {
            "id": session_id,
            "notebook_path": header.get("notebook_path"),
            "created_at": header.get("created_at"),
            "updated_at": _iso(stat.st_mtime),
            "prompt": index["prompt"],
            "turns": index["turns"],
            "lines": index["lines"],
            "state": "idle" if index["last_finish"] > index["last_user"] or not index["turns"] else "cut",
            "outcome": index["outcome"],
            "model": header.get("model"),
            "has_record": has_record,
        }

    def list(self, notebook: str | None = None) -> list[dict[str, Any]]:
        """Every session's summary, newest first; only those of ``notebook`` (a server path) when given."""
        try:
            entries = {entry.name: entry for entry in os.scandir(self.folder)}
        except FileNotFoundError:
            return []
        summaries = []
        for name, entry in entries.items():
            session_id = name[: -len(EVENTS_SUFFIX)]
            if name.endswith(EVENTS_SUFFIX) and SESSION_ID.match(session_id):
                summary = self._summary(session_id, entry.stat(), f"{session_id}{RECORD_SUFFIX}" in entries)
                if summary is not None:
                    summaries.append(summary)
        if notebook is not None:
            wanted = notebook.strip("/")
            summaries = [s for s in summaries if str(s["notebook_path"] or "").strip("/") == wanted]
        return sorted(summaries, key=lambda s: s["updated_at"], reverse=True)

    # --- the log ---------------------------------------------------------------------------------------------

    async def append(self, session_id: str, raw_lines: Any) -> int:
        """Append ``raw_lines`` in order; returns the next seq (see the module doc for the rules)."""
        check_id(session_id)
        if not isinstance(raw_lines, list) or not raw_lines:
            raise SessionError("'lines' must be a non-empty list of log lines")
        lines = [_line(raw, i) for i, raw in enumerate(raw_lines)]
        for offset, line in enumerate(lines):
            if line["seq"] != lines[0]["seq"] + offset:
                raise SessionError(f"line {offset}: seq {line['seq']} does not follow seq {lines[0]['seq']}")
            if (line["kind"] == "header") != (line["seq"] == 0):
                raise SessionError(f"line {offset}: the header is line 0 and only line 0 (seq {line['seq']})")
        header = lines[0]["payload"] if lines[0]["seq"] == 0 else None
        if lines[0]["seq"] == 0 and not (isinstance(header, dict) and header.get("id") == session_id):
            raise SessionError(f"the header's payload must be an object whose 'id' is {session_id!r}")
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            return await asyncio.to_thread(self._append_locked, session_id, lines)

    def _append_locked(self, session_id: str, lines: list[dict[str, Any]]) -> int:
        path = self._path(session_id, EVENTS_SUFFIX)
        if lines[0]["seq"] == 0:
            self._ensure_folder()
        try:
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if lines[0]["seq"] == 0 else 0), 0o600)
        except FileNotFoundError:
            raise SeqConflict("no such session yet: start it with its header (seq 0)", next_seq=0) from None
        with os.fdopen(fd, "r+b") as log, self._index_lock:
            size = os.fstat(log.fileno()).st_size
            index = self._index(session_id, size) if size else _empty_index()
            if lines[0]["seq"] != index["lines"]:
                have = index["lines"]
                raise SeqConflict(f"expected seq {have}, got {lines[0]['seq']}: resend from {have}", next_seq=have)
            if size > index["offset"]:  # a last line cut by a crash: dropped
                log.truncate(index["offset"])
            data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
            log.seek(index["offset"])
            log.write(data)
            log.flush()
            os.fsync(log.fileno())
            for line in lines:
                _fold(index, line, line["kind"], line["seq"])
            index["offset"] += len(data)
            self._indexes[session_id] = index
            self._unsaved.add(session_id)
            return index["lines"]

    def read_lines(self, session_id: str) -> bytes:
        """``{"lines": [...]}`` as JSON bytes: the log's complete lines, as stored (a cut last line ignored)."""
        try:
            data = self._path(session_id, EVENTS_SUFFIX).read_bytes()
        except FileNotFoundError:
            raise SessionNotFound(f"no session {session_id!r}") from None
        complete = [row for row in data[: data.rfind(b"\n") + 1].splitlines() if row.strip()]
        return b'{"lines": [' + b", ".join(complete) + b"]}"

    # --- the record ------------------------------------------------------------------------------------------

    def write_record(self, session_id: str, record: Any) -> str:
        """Write the record atomically; its path, relative to the server root when inside it."""
        check_id(session_id)
        if not isinstance(record, dict) or record.get("id") != session_id:
            raise SessionError(f"the record must be a JSON object whose 'id' is {session_id!r}")
        self._ensure_folder()
        path = self._path(session_id, RECORD_SUFFIX)
        self._write_atomic(path, json.dumps(record, ensure_ascii=False, indent=1).encode(), sync=True)
        try:
            return path.resolve().relative_to(self.root_dir.resolve()).as_posix()
        except ValueError:
            return str(path)

    def read_record(self, session_id: str) -> bytes:
        """The record's bytes; ``SessionNotFound`` when there is none."""
        try:
            return self._path(session_id, RECORD_SUFFIX).read_bytes()
        except FileNotFoundError:
            raise SessionNotFound(f"session {session_id!r} has no record") from None

    def delete(self, session_id: str) -> None:
        """Remove the session's files; ``SessionNotFound`` when it has none."""
        paths = [self._path(session_id, s) for s in (EVENTS_SUFFIX, RECORD_SUFFIX)] + [self._index_path(session_id)]
        removed = 0
        for path in paths:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        with self._index_lock:
            self._indexes.pop(session_id, None)
            self._unsaved.discard(session_id)
        self._locks.pop(session_id, None)
        if not removed:
            raise SessionNotFound(f"no session {session_id!r}")

    @staticmethod
    def _write_atomic(path: Path, data: bytes, sync: bool = False) -> None:
        """Write ``data`` to a temporary file beside ``path`` (mode 0600), then rename it over ``path``."""
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                if sync:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
