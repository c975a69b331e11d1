"""Staging a sample's ``task.attachments`` (the files its code reads) into the replay's working folder.

Each attachment ``{path, sha256}`` names a file relative to the session's working folder. Before the replay it is
looked up as ``attachments_dir/path`` and, when its bytes hash to ``sha256``, copied to ``workdir/path`` (parent
folders created). Its status, first that applies:

- ``unsafe``: ``path`` is empty, absolute, has a drive letter, a backslash, a NUL or a ``..`` segment, or names
  the folder itself; or ``attachments_dir/path`` resolves (symbolic links followed) outside ``attachments_dir``;
  or ``workdir/path`` resolves outside ``workdir`` (a caller's ``cwd`` holding a link) or cannot be written
  there (``a`` and ``a/b`` both attached); nothing is read or written;
- ``missing``: no ``attachments_dir``, or ``attachments_dir/path`` is not a regular file (after links), or it
  could not be read or copied (permissions, full disk);
- ``mismatch``: its sha256 differs from the recorded one; not copied;
- ``copied``: in place in ``workdir`` (already so when source and destination are the same file).

The file is hashed while it is copied (one read: what is hashed is what is copied), into a temporary file renamed
over the destination only when the hash matches. Nothing decides a verdict here: a cell reading an attachment that
was not copied fails in the replay like any missing file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from typing import Any

UNSAFE, MISSING, MISMATCH, COPIED = "unsafe", "missing", "mismatch", "copied"

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 << 20


def safe_relative(path: Any) -> bool:
    """Whether ``path`` is a relative POSIX path that stays below its base folder (lexically)."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    if _DRIVE.match(path) or ".." in path.split("/"):
        return False
    return os.path.normpath(path) not in (".", "")


def _inside(root: str, target: str) -> bool:
    """Whether the real path ``target`` is ``root`` or below it (both already ``realpath``)."""
    try:
        return os.path.commonpath([root, target]) == root
    except ValueError:  # different drives
        return False


def _copy_hashed(source: str, dest: str, expected: str) -> bool:
    """Copy ``source`` over ``dest`` when its bytes hash to ``expected``; False (``dest`` untouched) otherwise."""
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=".aiev-attach-", dir=os.path.dirname(dest))
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected:
            os.unlink(tmp)
            return False
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        return True
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stage_one(path: Any, sha256: Any, attachments_dir: str | None, workdir: str) -> str:
    """Stage one attachment; its status (module doc)."""
    if not safe_relative(path):
        return UNSAFE
    if attachments_dir is None:
        return MISSING
    root = os.path.realpath(attachments_dir)
    source = os.path.realpath(os.path.join(root, path))
    if not _inside(root, source):
        return UNSAFE
    if not os.path.isfile(source):
        return MISSING
    expected = sha256.lower() if isinstance(sha256, str) else ""
    work = os.path.realpath(workdir)
    dest = os.path.join(work, os.path.normpath(path))
    parent = os.path.realpath(os.path.dirname(dest))
    if not _inside(work, parent) or os.path.isdir(dest):
        return UNSAFE
    try:
        if os.path.exists(dest) and os.path.samefile(source, dest):
            return COPIED if _hash(source) == expected else MISMATCH
        os.makedirs(parent, exist_ok=True)
        return COPIED if _copy_hashed(source, dest, expected) else MISMATCH
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        return UNSAFE  # the destination's folder is a file (another attachment)
    except OSError:
        return MISSING  # unreadable source, full disk: not there for the replay either way


def stage_attachments(
    attachments: list[Mapping[str, Any]], attachments_dir: str | None, workdir: str
) -> list[dict[str, Any]]:
    """Stage every attachment into ``workdir`` in order; ``[{path, status}]`` (``replay.attachments``)."""
    return [
        {"path": a.get("path"), "status": stage_one(a.get("path"), a.get("sha256"), attachments_dir, workdir)}
        for a in attachments
    ]


#: Caps on what ``find_attachments`` hashes (as ``src/trace/attachments.ts``): one file, all of them.
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 500 * 1024 * 1024


#: sha256 of files hashed by ``find_attachments``, by real path, size and mtime (asked after every sidebar turn).
_HASHES: dict[tuple[str, int, int], str] = {}


def _cached_hash(path: str, stat: os.stat_result) -> str:
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        if len(_HASHES) > 4096:
            _HASHES.clear()
        _HASHES[key] = _hash(path)
    return _HASHES[key]


def find_attachments(folder: str, names: list[Any], modified_before: float | None = None) -> list[dict[str, str]]:
    """The attachments ``{path, sha256}`` of a session working in ``folder``: each of ``names`` that is a safe
    relative path naming a regular file whose real path stays in ``folder`` (no link leads out), not modified at
    or after ``modified_before`` (epoch seconds: written by the session itself), within the size caps; sorted by
    path, each once. Names that are not such files are left out; nothing is ever written."""
    root = os.path.realpath(folder)
    found: list[dict[str, str]] = []
    budget = MAX_TOTAL_BYTES
    for name in sorted({n for n in names if safe_relative(n)}):
        source = os.path.realpath(os.path.join(root, name))
        if not _inside(root, source) or source == root:
            continue
        try:
            stat = os.stat(source)
            fresh = modified_before is not None and stat.st_mtime >= modified_before
            if not os.path.isfile(source) or fresh or stat.st_size > min(MAX_FILE_BYTES, budget):
                continue
            found.append({"path": os.path.normpath(name).replace(os.sep, "/"), "sha256": _cached_hash(source, stat)})
            budget -= stat.st_size
        except OSError:
            continue
    return found
