"""Server config for the Galata run: a throwaway root and runtime under TMPDIR, loopback, fixed port."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 — `c` is the config object Jupyter passes in

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = 8899
c.ServerApp.port_retries = 0
c.ServerApp.allow_root = True
c.ServerApp.open_browser = False
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
