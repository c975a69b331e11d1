"""TCP_NODELAY on Jupyter Server's kernel websockets: a ~42 ms stall removed from every kernel round trip.

Tornado leaves Nagle's algorithm on for websockets unless a handler calls ``set_nodelay(True)``, and
jupyter_server's ``KernelWebsocketHandler`` does not. An execution sends several small frames in a row
(``status: busy``, ``execute_input``, ``stream``, ``execute_reply``, ``status: idle``): the first goes out, the
next wait for its ACK, and the client's delayed ACK holds that back for ~40 ms (Linux). Every ``print(1)``
through the server then takes ~48 ms instead of the ~6 ms the kernel needs. See ``bench/README.md``.

The cure: ``KernelWebsocketHandler.open`` is wrapped, once per process, to call ``self.set_nodelay(True)``
before the original ``open`` runs. It covers every kernel websocket the server serves, whatever the
subprotocol (the legacy JSON protocol and ``v1.kernel.websocket.jupyter.org`` are both
``/api/kernels/<id>/channels`` on this one handler, which picks the protocol in ``select_subprotocol``) and
whatever the connection class (local ZMQ kernels, or gateway-backed ones through
``GatewayWebSocketConnection``). No other websocket (terminals, events, collaboration) is touched.

The wrapper only acts for servers that enabled it: the extension stores the choice in the tornado
application's settings (``SETTING``), so other servers in the same process (tests) are left alone.
Opt-out: ``AIEV_KERNEL_NODELAY=0`` in the server's environment, or ``--KernelNoDelay.enabled=False``
(``c.KernelNoDelay.enabled = False``); explicit configuration wins over the environment.
"""

from __future__ import annotations

import functools
import os

from traitlets import Bool, default
from traitlets.config import LoggingConfigurable

#: Key in the tornado application settings: True when this server's kernel websockets get TCP_NODELAY.
SETTING = "aiev_kernel_nodelay"
#: Environment variable that turns the cure off when set to 0/false/no/off.
ENV_VAR = "AIEV_KERNEL_NODELAY"
#: Marks the wrapped ``open``, so that patching twice is a no-op.
_MARKER = "__aiev_nodelay__"

_FALSE = {"0", "false", "no", "off"}


class KernelNoDelay(LoggingConfigurable):
    """Whether Jupyter Server's kernel websockets get TCP_NODELAY (jupyterlab-aiev's server extension)."""

    enabled = Bool(
        help=(
            "Set TCP_NODELAY on every kernel websocket, so the kernel's small messages are not held back by "
            "Nagle's algorithm (~40 ms per execution with delayed ACKs). Default: on, unless the environment "
            f"variable {ENV_VAR} is 0, false, no or off."
        ),
    ).tag(config=True)

    @default("enabled")
    def _enabled_default(self) -> bool:
        return os.environ.get(ENV_VAR, "1").strip().lower() not in _FALSE


def patch_kernel_websocket_handler() -> bool:
    """Wrap ``KernelWebsocketHandler.open`` to set TCP_NODELAY first (servers with ``SETTING`` on only).

    Idempotent; returns True when this call installed the wrapper, False when it was already there.
    """
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    original = KernelWebsocketHandler.open
    if getattr(original, _MARKER, False):
        return False

    @functools.wraps(original)
    def open(self, *args, **kwargs):  # noqa: A001 (the handler method's name)
        if self.settings.get(SETTING):
            try:
                self.set_nodelay(True)
            except Exception as error:  # a closed stream or an exotic transport: never fail the connection
                self.log.debug("jupyterlab-aiev: could not set TCP_NODELAY on a kernel websocket: %s", error)
        return original(self, *args, **kwargs)

    setattr(open, _MARKER, True)
    KernelWebsocketHandler.open = open
    return True


def apply(server_app) -> bool:
    """Apply the cure to ``server_app`` at extension load (or not, when opted out); returns whether it is on."""
    from . import gateway_nodelay  # the server's hop to its kernel gateway, when it has one

    enabled = KernelNoDelay(parent=server_app).enabled
    gateway = gateway_nodelay.uses_gateway(server_app)
    server_app.web_app.settings[SETTING] = enabled
    server_app.web_app.settings[gateway_nodelay.GATEWAY_SETTING] = gateway
    if enabled:
        patch_kernel_websocket_handler()
        server_app.log.info("jupyterlab-aiev: TCP_NODELAY on kernel websockets")
        if gateway:
            gateway_nodelay.patch_gateway_connection()
            server_app.log.info("jupyterlab-aiev: TCP_NODELAY and frame acks on the websockets to the kernel gateway")
    else:
        server_app.log.info("jupyterlab-aiev: TCP_NODELAY on kernel websockets is off (opted out)")
    return enabled
