"""HTTP routes of the bridge. Every route requires Jupyter's authentication."""

from __future__ import annotations

import json
import platform
import sys

import tornado
from jupyter_client.kernelspec import NoSuchKernel
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from . import __version__, nodelay
from .replay import ReplayStartError
from .verify import InvalidSample, averify_sample, check_sample

NAMESPACE = "aiev"


class StatusHandler(APIHandler):
    """``GET /aiev/status``: the bridge's version and the server's Python, for the sidebar's health line, and
    whether this server sets TCP_NODELAY on kernel websockets (``kernel_nodelay``; clients of a server without it
    ack every frame instead, see ``nodelay.py``)."""

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
                }
            )
        )


class VerifyHandler(APIHandler):
    """``POST /aiev/verify``: body = a sample; replays its notebook in a fresh kernel (nbclient's async API, on the
    server's event loop) and answers the ``verification`` block. Query: ``timeout`` (s per cell, default 120),
    ``kernel`` (default: the notebook's kernelspec). 400: invalid JSON, not a sample, bad query, unknown kernel.

    No attachments folder: the server never reads a path named by a request, so each of ``task.attachments``
    comes out ``missing`` in ``replay.attachments`` (a cell reading one fails). Verify such samples with
    ``python -m python_kernel_bridge verify`` next to their files (or ``--attachments-dir``)."""

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
        try:
            block = await averify_sample(sample, timeout=timeout, kernel_name=kernel)
        except ReplayStartError as exc:
            return self._fail(400 if isinstance(exc.__cause__, NoSuchKernel) else 500, str(exc))
        self.finish(json.dumps(block))


def setup_handlers(web_app) -> None:
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base_url, NAMESPACE, "status"), StatusHandler),
            (url_path_join(base_url, NAMESPACE, "verify"), VerifyHandler),
        ],
    )
