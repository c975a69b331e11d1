"""HTTP routes of the bridge, under ``<base_url>aiev/``. Every route requires Jupyter's authentication.

Thin handlers over the modules that do the work: ``status`` and ``verify`` (``verify.py``), ``config``
(``config.py``), ``sessions/...`` (``sessions.py``) and the model proxy ``llm/v1/...`` (``proxy.py``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import sys
import time

import tornado
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from . import __version__, gateway_nodelay, nodelay, proxy
from .attachments import find_attachments, safe_relative
from .collection import CollectionUnavailable
from .config import SETTING as BRIDGE_SETTING
from .kernel_env import scrubbed_environ
from .replay import ReplayStartError
from .sessions import SessionError, SessionStore
from .verify import InvalidSample, averify_sample, check_sample

NAMESPACE = "aiev"
#: Key in the tornado application settings: this server's ``SessionStore``.
STORE_SETTING = "aiev_session_store"


class StatusHandler(APIHandler):
    """``GET /aiev/status``: the bridge's version and the server's Python, for the sidebar's health line, whether
    this server sets TCP_NODELAY on kernel websockets (``kernel_nodelay``; clients of a server without it ack every
    frame instead, see ``nodelay.py``) and whether its kernels run on a kernel gateway (``gateway``: their websockets
    then speak only the legacy protocol, and ``/aiev/verify`` would replay on this server's machine, not there), and
    its clock (``time_ms``: a sidebar session's start by the clock its files are stamped with)."""

    @tornado.web.authenticated
    def get(self):
        self.finish(
            json.dumps(
                {
                    "name": "jupyterlab-aiev",
                    "version": __version__,
                    "python": platform.python_version(),
                    "executable": sys.executable,
                    "kernel_nodelay": bool(self.settings.get(nodelay.SETTING, False)),
                    "gateway": bool(self.settings.get(gateway_nodelay.GATEWAY_SETTING, False)),
                    "time_ms": int(time.time() * 1000),
                }
            )
        )


class VerifyHandler(APIHandler):
    """``POST /aiev/verify``: body = a sample; replays its notebook in a fresh kernel (nbclient's async API, on the
    server's event loop) and answers the ``verification`` block. Query: ``timeout`` (s per cell, default 120),
    ``kernel`` (default: the notebook's kernelspec). 400: invalid JSON, not a sample, bad query, unknown kernel.

    The task's attachments are copied from the folder of the sample's ``source.notebook_path`` on this server (a
    sidebar session's notebook; ``notebook_folder`` checks it stays under the server's root), each only when its
    bytes hash to the recorded sha256; without a notebook path each comes out ``missing`` (a cell reading one
    fails): verify such samples with ``python -m python_kernel_bridge verify --attachments-dir``."""

    def _fail(self, code: int, message: str) -> None:
        self.log.warning("aiev verify: %d %s", code, message)
        self.set_status(code)
        self.finish(json.dumps({"message": message, "reason": None}))

    @tornado.web.authenticated
    async def post(self):
        try:
            sample = check_sample(json.loads(self.request.body or b""))
        except ValueError as exc:  # InvalidSample is a ValueError too
            message = str(exc) if isinstance(exc, InvalidSample) else f"invalid JSON body: {exc}"
            return self._fail(400, message)
        try:
            timeout = float(self.get_query_argument("timeout", "120"))
        except ValueError:
            return self._fail(400, "timeout must be a number of seconds")
        kernel = self.get_query_argument("kernel", None) or None
        env = scrubbed_environ(self.settings[BRIDGE_SETTING])  # the replay's kernel, like this server's kernels
        source = sample.get("source") if isinstance(sample.get("source"), dict) else {}
        folder = notebook_folder(self.settings["server_root_dir"], source.get("notebook_path"))
        try:
            block = await averify_sample(sample, timeout=timeout, kernel_name=kernel, env=env, attachments_dir=folder)
        except ReplayStartError as exc:
            return self._fail(400 if isinstance(exc.__cause__, NoSuchKernel) else 500, str(exc))
        self.finish(json.dumps(block))


def notebook_folder(root_dir: str, notebook_path) -> str | None:
    """The real folder of the notebook ``notebook_path`` (a server path) under ``root_dir``; None when it is not a
    safe relative path or its folder is not a folder under the root (no link leads out)."""
    if not isinstance(notebook_path, str) or not safe_relative(notebook_path.strip("/")):
        return None
    root = os.path.realpath(os.path.expanduser(root_dir))
    folder = os.path.realpath(os.path.join(root, os.path.dirname(notebook_path.strip("/"))))
    inside = folder == root or folder.startswith(root.rstrip(os.sep) + os.sep)
    return folder if inside and os.path.isdir(folder) else None


class AttachmentsHandler(APIHandler):
    """``POST /aiev/attachments``: body ``{"notebook_path", "names": [...], "modified_before"?}`` (names relative to
    the notebook's folder, ``modified_before`` epoch milliseconds); answers ``{"attachments": [{path, sha256}]}``,
    the names that are files there (``attachments.find_attachments``): the sidebar's record lists what the replay
    will copy. 400 for a bad body or a notebook path outside the server's root."""

    @tornado.web.authenticated
    async def post(self):
        try:
            body = json.loads(self.request.body or b"")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, f"invalid JSON body: {exc}") from None
        names = body.get("names") if isinstance(body, dict) else None
        before = body.get("modified_before") if isinstance(body, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) > 10000:
            raise tornado.web.HTTPError(400, "'names' must be a list of strings")
        if before is not None and (not isinstance(before, (int, float)) or isinstance(before, bool)):
            raise tornado.web.HTTPError(400, "'modified_before' must be epoch milliseconds")
        folder = notebook_folder(self.settings["server_root_dir"], body.get("notebook_path"))
        if folder is None:
            raise tornado.web.HTTPError(400, "'notebook_path' must be a notebook path under the server's root")
        found = await asyncio.to_thread(find_attachments, folder, names, None if before is None else before / 1000)
        self.finish(json.dumps({"attachments": found}))


class ConfigHandler(APIHandler):
    """``GET /aiev/config``: what the model proxy is configured with (``AievBridge.public_state``), never the key."""

    @tornado.web.authenticated
    def get(self):
        self.finish(json.dumps(self.settings[BRIDGE_SETTING].public_state()))


def answers_session_errors(method):
    """A session route whose ``SessionError`` is answered with its status and ``{"message", ...extra}``."""

    @functools.wraps(method)
    async def route(self, *args):
        try:
            await ensure_async(method(self, *args))
        except SessionError as error:
            self.set_status(error.status)
            self.finish(json.dumps({"message": str(error), **error.extra}))

    return route


class SessionsHandler(APIHandler):
    """Base of the session routes: the store, and the request body as JSON."""

    @property
    def store(self) -> SessionStore:
        store = self.settings[STORE_SETTING]
        if store is None:  # collection required and unavailable (collection.py)
            raise CollectionUnavailable(self.settings[BRIDGE_SETTING].collection["message"])
        return store

    def _body(self):
        try:
            return json.loads(self.request.body or b"")
        except ValueError as exc:
            raise SessionError(f"invalid JSON body: {exc}") from None


class SessionListHandler(SessionsHandler):
    """``GET /aiev/sessions[?notebook=PATH]``: ``{"sessions": [summary, ...]}``, newest first."""

    @tornado.web.authenticated
    @answers_session_errors
    def get(self):
        notebook = self.get_query_argument("notebook", None)
        self.finish(json.dumps({"sessions": self.store.list(notebook)}))


class SessionHandler(SessionsHandler):
    """``DELETE /aiev/sessions/<id>``: 204, the session's files removed (404 when it has none)."""

    @tornado.web.authenticated
    @answers_session_errors
    def delete(self, session_id: str):
        self.store.delete(session_id)
        self.set_status(204)
        self.finish()


class SessionEventsHandler(SessionsHandler):
    """``GET /aiev/sessions/<id>/events``: ``{"lines": [...]}``. ``POST`` ``{"lines": [...]}``: appended in order,
    ``{"next_seq": N}``; 409 ``{"message", "next_seq"}`` when the first seq is not the next one."""

    @tornado.web.authenticated
    @answers_session_errors
    def get(self, session_id: str):
        self.finish(self.store.read_lines(session_id))

    @tornado.web.authenticated
    @answers_session_errors
    async def post(self, session_id: str):
        body = self._body()
        lines = body.get("lines") if isinstance(body, dict) else None
        self.finish(json.dumps({"next_seq": await self.store.append(session_id, lines)}))


class SessionRecordHandler(SessionsHandler):
    """``GET /aiev/sessions/<id>/record``: the record (404 when none). ``PUT``: body = the record (its ``id`` =
    ``<id>``), written atomically; ``{"path"}`` relative to the server root."""

    @tornado.web.authenticated
    @answers_session_errors
    def get(self, session_id: str):
        self.finish(self.store.read_record(session_id))

    @tornado.web.authenticated
    @answers_session_errors
    def put(self, session_id: str):
        self.finish(json.dumps({"path": self.store.write_record(session_id, self._body())}))


def setup_handlers(web_app) -> None:
    """Add every route of the bridge to ``web_app`` (its settings must hold the ``AievBridge``, the store and
    the proxy's client: see ``__init__._load_jupyter_server_extension``)."""
    base_url = web_app.settings["base_url"]
    # Any path segment is matched (and checked by the store), so a bad id gets its 400, not a 404.
    session = r"sessions/([^/]*)"
    routes = [
        ("status", StatusHandler),
        ("verify", VerifyHandler),
        ("attachments", AttachmentsHandler),
        ("config", ConfigHandler),
        ("sessions", SessionListHandler),
        (session, SessionHandler),
        (session + "/events", SessionEventsHandler),
        (session + "/record", SessionRecordHandler),
        *proxy.ROUTES,
    ]
    web_app.add_handlers(".*$", [(url_path_join(base_url, NAMESPACE, path), handler) for path, handler in routes])
