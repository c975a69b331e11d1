"""HTTP routes of the bridge. Every route requires Jupyter's authentication."""

from __future__ import annotations

import json
import platform
import sys

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from . import __version__

NAMESPACE = "aiev"


class StatusHandler(APIHandler):
    """``GET /aiev/status``: the bridge's version and the server's Python, for the sidebar's health line."""

    @tornado.web.authenticated
    def get(self):
        self.finish(
            json.dumps(
                {
                    "name": "jupyterlab-aiev",
                    "version": __version__,
                    "python": platform.python_version(),
                    "executable": sys.executable,
                }
            )
        )


def setup_handlers(web_app) -> None:
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [(url_path_join(base_url, NAMESPACE, "status"), StatusHandler)])
