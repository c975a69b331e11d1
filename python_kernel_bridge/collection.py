"""Classroom collection: every session of this server's user saved in a folder the teacher reads.

With ``c.AievBridge.collection_dir`` set (``config.py``), the session store of this server is
``<collection_dir>/<user>/`` instead of ``sessions_dir``: the hub user (``JUPYTERHUB_USER``) or the server's OS
user, or ``collection_user``. Each user's server serves only its own folder, so the bridge's session routes never
show one student another's sessions. The folder is created ``0700`` and its files ``0600``, like the personal store:
the teacher reads the collection as the account that owns the files (the hub's shared volume, an admin account).
``aiev report <collection_dir>`` and ``aiev harvest <collection_dir>`` take the folder as it is.

When the user's folder cannot be made or written: with ``collection_required`` every session route answers 503
saying why (nothing is saved anywhere else); without it, sessions stay in ``sessions_dir`` and the sidebar's notice
says collection is off for that reason.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from .config import AievBridge
from .sessions import SessionError, SessionStore

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class CollectionUnavailable(SessionError):
    """The collection folder is required and cannot be written."""

    status = 503


def folder_name(user: str) -> str:
    """A folder name for ``user``: the name itself when it is safe, else a safe form plus a hash of the name (so
    two names never share a folder)."""
    safe = _UNSAFE.sub("_", user).lstrip(".") or "_"
    if safe == user:
        return user
    return f"{safe}-{hashlib.sha256(user.encode()).hexdigest()[:8]}"


def _writable_folder(folder: Path) -> str | None:
    """Make ``folder`` (mode 0700); None when it can be written, else why not."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {folder}: {exc.strerror or exc}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write to {folder}"
    return None


def open_store(bridge: AievBridge, root_dir: str, log: Any) -> SessionStore | None:
    """This server's session store, with ``bridge.collection`` set for ``GET /aiev/config``; None when collection
    is required and unavailable (``bridge.collection["message"]`` says why)."""
    personal = SessionStore(bridge.sessions_dir, root_dir)
    if not bridge.collection_dir:
        return personal
    user = bridge.collection_user
    folder = Path(bridge.collection_dir).expanduser() / folder_name(user)
    problem = _writable_folder(folder)
    bridge.collection = {"user": user, "required": bridge.collection_required, "active": problem is None,
                         "message": None}
    if problem is None:
        log.info("jupyterlab-aiev: sessions of %s are collected in %s", user, folder)
        return SessionStore(str(folder), root_dir)
    if bridge.collection_required:
        bridge.collection["message"] = f"Session collection is required but unavailable: {problem}"
        log.error("jupyterlab-aiev: %s; no session can be saved", bridge.collection["message"])
        return None
    bridge.collection["message"] = f"Session collection is off: {problem}; sessions stay on this server"
    log.warning("jupyterlab-aiev: %s", bridge.collection["message"])
    return personal
