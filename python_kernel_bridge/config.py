"""The bridge's configuration: where the model proxy forwards to, with which key, and where sessions are saved.

``AievBridge`` is a traitlets ``Configurable`` (``c.AievBridge.*`` in ``jupyter_server_config.py``, or
``--AievBridge.base_url=...`` on the command line), read once when the extension loads. Each setting left unset
falls back to the server's environment at that moment:

- ``base_url``: ``OPENAI_BASE_URL`` (an OpenAI-compatible base URL, e.g. ``http://127.0.0.1:11434/v1``);
- ``models``: ``AIEV_MODEL``, comma-separated (the first is the default model);
- ``api_key_env``: the *name* of the variable holding the key (``OPENAI_API_KEY``); its value is read at load and
  kept in this object's memory only (never in a trait, a log line, a response or a kernel's environment);
- ``hidden_env_vars``: more variable names kernels must not inherit (``kernel_env.py``);
- ``request_timeout``: seconds the proxy waits for the model (600; the connect phase at most 15 of them);
- ``sessions_dir``: the session store's folder (``<root_dir>/.aiev/sessions``);
- ``collection_dir``: a classroom's collection folder (none): when set, sessions are saved in
  ``<collection_dir>/<user>/`` instead, ``<user>`` being ``collection_user`` (``JUPYTERHUB_USER``, else the
  server's OS user); ``collection_required``: when that folder cannot be written, sessions are refused
  (503) instead of falling back to ``sessions_dir``.

``public_state()`` is the body of ``GET /aiev/config``: what is configured, never the key nor the base URL's path,
query or credentials.
"""

from __future__ import annotations

import getpass
import os
from urllib.parse import urlsplit

from traitlets import Bool, Float, List, Unicode, default
from traitlets.config import LoggingConfigurable

#: Key in the tornado application settings: this server's ``AievBridge``.
SETTING = "aiev_bridge"

NOT_CONFIGURED = (
    "No model endpoint is configured on the Jupyter server: set OPENAI_BASE_URL (and AIEV_MODEL, OPENAI_API_KEY) "
    "before starting it, or c.AievBridge.base_url in jupyter_server_config.py"
)
BAD_URL = (
    "The model endpoint configured on the Jupyter server is not an http:// or https:// URL: fix OPENAI_BASE_URL "
    "or c.AievBridge.base_url and restart the server"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AievBridge(LoggingConfigurable):
    """jupyterlab-aiev's server bridge: the model endpoint its proxy forwards to, and its session store."""

    base_url = Unicode(
        help="OpenAI-compatible base URL the model proxy forwards to (e.g. https://api.openai.com/v1, "
        "http://127.0.0.1:11434/v1). Default: the environment variable OPENAI_BASE_URL."
    ).tag(config=True)

    models = List(
        Unicode(),
        help="Model names offered to the sidebar; the first is the default. Default: AIEV_MODEL (comma-separated).",
    ).tag(config=True)

    api_key_env = Unicode(
        "OPENAI_API_KEY",
        help="Name of the environment variable holding the model endpoint's API key. Its value is read when the "
        "server starts, sent only to the model endpoint, and hidden from kernels.",
    ).tag(config=True)

    hidden_env_vars = List(
        Unicode(),
        help="More environment variable names that kernels started by this server must not inherit.",
    ).tag(config=True)

    request_timeout = Float(
        600.0, help="Seconds the model proxy waits for the model endpoint (per read; connecting: at most 15 s)."
    ).tag(config=True)

    sessions_dir = Unicode(
        help="Folder of the session store (event logs and records of sidebar sessions). "
        "Default: .aiev/sessions under the server's root_dir."
    ).tag(config=True)

    collection_dir = Unicode(
        help="Classroom collection folder, shared by every user's server (e.g. on the hub's shared disk): each "
        "user's sidebar sessions are saved in <collection_dir>/<user>/ as they grow, and the sidebar says so. "
        "Default: none (sessions stay in sessions_dir). `aiev report <collection_dir>` summarises it."
    ).tag(config=True)

    collection_required = Bool(
        False,
        help="With collection_dir: refuse to save sessions (HTTP 503, shown in the sidebar) when the user's "
        "collection folder cannot be written, instead of falling back to sessions_dir.",
    ).tag(config=True)

    collection_user = Unicode(
        help="The name this server's sessions are collected under. Default: JUPYTERHUB_USER (a hub's single-user "
        "server), else the name of the user the server runs as."
    ).tag(config=True)

    @default("collection_user")
    def _collection_user_default(self) -> str:
        return os.environ.get("JUPYTERHUB_USER", "").strip() or getpass.getuser()

    @default("base_url")
    def _base_url_default(self) -> str:
        return os.environ.get("OPENAI_BASE_URL", "").strip()

    @default("models")
    def _models_default(self) -> list[str]:
        return [name.strip() for name in os.environ.get("AIEV_MODEL", "").split(",") if name.strip()]

    @default("sessions_dir")
    def _sessions_dir_default(self) -> str:
        root = getattr(self.parent, "root_dir", None) or os.getcwd()
        return os.path.join(root, ".aiev", "sessions")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        #: Where sessions are collected (``collection.py``): None when collection is off; set when the server loads.
        self.collection: dict | None = None
        #: The API key (empty: none), read once; deliberately not a trait, so config dumps never show it.
        self.api_key = os.environ.get(self.api_key_env, "").strip() if self.api_key_env else ""

    @property
    def endpoint(self) -> str | None:
        """The base URL without a trailing slash, or None when unset or not http(s)."""
        url = self.base_url.strip().rstrip("/")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            return None
        return url if parts.scheme in _DEFAULT_PORTS and parts.hostname else None

    @property
    def origin(self) -> str | None:
        """``scheme://host:port`` of the endpoint (no credentials, path or query), for messages."""
        endpoint = self.endpoint
        return f"{urlsplit(endpoint).scheme}://{self.host}" if endpoint else None

    @property
    def host(self) -> str | None:
        """``host:port`` of the endpoint (the scheme's default port when none is given)."""
        endpoint = self.endpoint
        if not endpoint:
            return None
        parts = urlsplit(endpoint)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{host}:{parts.port or _DEFAULT_PORTS[parts.scheme]}"

    @property
    def message(self) -> str | None:
        """Why the proxy cannot work, for the user (one line); None when it can."""
        if not self.base_url.strip():
            return NOT_CONFIGURED
        return None if self.endpoint else BAD_URL

    def hidden_names(self) -> frozenset[str]:
        """Environment variable names kernels must not inherit: the key's and ``hidden_env_vars``."""
        return frozenset(name for name in [self.api_key_env, *self.hidden_env_vars] if name)

    def public_state(self) -> dict:
        """The body of ``GET /aiev/config``."""
        return {
            "configured": self.endpoint is not None,
            "base_url_host": self.host,
            "models": list(self.models),
            "default_model": self.models[0] if self.models else None,
            "key_set": bool(self.api_key),
            "key_env": self.api_key_env,
            "message": self.message,
            "collection": self.collection,
        }
