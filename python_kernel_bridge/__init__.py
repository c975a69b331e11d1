"""jupyterlab-aiev's Python side: the Jupyter server extension and the prebuilt labextension."""

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    import warnings

    warnings.warn("python_kernel_bridge was not built: run `jlpm build` first", stacklevel=2)
    __version__ = "dev"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-aiev"}]


def _jupyter_server_extension_points():
    return [{"module": "python_kernel_bridge"}]


def _load_jupyter_server_extension(server_app):
    """Register the bridge's routes under ``<base_url>/aiev/``; TCP_NODELAY on kernel websockets (``nodelay.py``)."""
    from .handlers import setup_handlers
    from .nodelay import apply as apply_kernel_nodelay

    setup_handlers(server_app.web_app)
    apply_kernel_nodelay(server_app)
    server_app.log.info("jupyterlab-aiev bridge %s loaded", __version__)
