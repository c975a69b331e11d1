"""Server config for the Galata run: a throwaway root and runtime under TMPDIR, loopback, fixed port; the bridge's
model proxy forwards to the scripted model the tests start on AIEV_UI_MODEL_PORT (playwright.config.js)."""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 — `c` is the config object Jupyter passes in

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = 8899
c.ServerApp.port_retries = 0
c.ServerApp.allow_root = True
c.ServerApp.open_browser = False
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

c.AievBridge.base_url = f"http://127.0.0.1:{os.environ.get('AIEV_UI_MODEL_PORT', '8898')}/v1"
c.AievBridge.models = ["scripted-model"]
