"""jupyterlab-aiev's Python side: the Jupyter server extension and the prebuilt labextension.

The extension (``_load_jupyter_server_extension``) reads its configuration once (``config.AievBridge``), hides the
model key and the other secret variables from the server's kernels (``kernel_env.py``), opens the model proxy's
connection pool (``proxy.py``) and the session store (``sessions.py``), registers the routes under
``<base_url>aiev/`` (``handlers.py``) and sets TCP_NODELAY on kernel websockets (``nodelay.py``).
"""

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
    """Configure the bridge on ``server_app`` and register its routes (see the module doc)."""
    from . import collection, config, handlers, kernel_env, nodelay, proxy

    bridge = config.AievBridge(parent=server_app)
    settings = server_app.web_app.settings
    settings[config.SETTING] = bridge
    proxy.open_client(server_app, bridge)
    settings[handlers.STORE_SETTING] = collection.open_store(bridge, server_app.root_dir, server_app.log)
    kernel_env.apply(server_app, bridge)
    handlers.setup_handlers(server_app.web_app)
    nodelay.apply(server_app)
    if bridge.endpoint:
        models = ", ".join(bridge.models) or "no model named"
        key = f"key from {bridge.api_key_env}" if bridge.api_key else f"no key ({bridge.api_key_env} unset)"
        server_app.log.info("jupyterlab-aiev: model proxy to %s (%s; %s)", bridge.origin, models, key)
    else:
        server_app.log.info("jupyterlab-aiev: %s", bridge.message)
    server_app.log.info("jupyterlab-aiev bridge %s loaded", __version__)
