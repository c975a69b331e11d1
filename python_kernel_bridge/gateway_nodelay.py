"""The ~40 ms Nagle/delayed-ACK stall on the hop between a Jupyter Server and its kernel gateway, cured at both ends.

A server started with ``--gateway-url`` relays each kernel websocket to Jupyter Kernel Gateway or Enterprise Gateway
over a second websocket (``GatewayWebSocketConnection``, a tornado websocket client). The gateway's end of it is
jupyter_server's ``KernelWebsocketHandler`` without TCP_NODELAY, so of the small frames of one execution (``busy``,
``execute_input``, ``stream``, ``execute_reply``, ``idle``) the first goes out and the rest wait for its ACK, which
the server's kernel holds back for its delayed-ACK timeout (~40 ms on Linux): ``print(6*7)`` took ~51 ms through
the gateway against ~9 ms on a plain server (``nodelay.py`` cures the same stall on the server's own kernel
websockets).

- **Server end** (``patch_gateway_connection``, applied by the extension when the server runs with a gateway):
  TCP_NODELAY on the server's socket to the gateway, and every frame read from the gateway answered with an
  unsolicited pong (RFC 6455 allows one; no reply is sent), which makes the server's ACK leave at once,
  piggybacked, so the gateway's next frame is not held back whether or not the gateway sets TCP_NODELAY. The
  same cure as the CLI's ``AckingWebSocket`` for servers without the bridge (``bench/README.md``, section 1).
- **Gateway end** (``NoDelayZMQChannelsWebsocketConnection``): for a gateway whose configuration you control, a
  kernel websocket connection class that sets TCP_NODELAY on the gateway's socket before it connects to the
  kernel: ``jupyter kernelgateway
  --KernelGatewayApp.kernel_websocket_connection_class=python_kernel_bridge.gateway_nodelay.NoDelayZMQChannelsWebsocketConnection``
  (Enterprise Gateway: ``--EnterpriseGatewayApp.kernel_websocket_connection_class=...``); the package must be
  installed where the gateway runs.

Opt-out on the server: the same switch as ``nodelay.py`` (``AIEV_KERNEL_NODELAY=0`` or
``--KernelNoDelay.enabled=False``).
"""

from __future__ import annotations

import functools

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from .nodelay import SETTING

#: Key in the tornado application settings: True when this server's kernels run on a gateway (``--gateway-url``).
GATEWAY_SETTING = "aiev_gateway"
#: Marks the wrapped methods, so that patching twice is a no-op.
_MARKER = "__aiev_gateway_nodelay__"
#: Opcode of a websocket pong frame (RFC 6455, 5.5.3).
_PONG = 0xA


class NoDelayZMQChannelsWebsocketConnection(ZMQChannelsWebsocketConnection):
    """A gateway's kernel websocket connection with TCP_NODELAY on its socket (the gateway end of the hop)."""

    async def connect(self):
        """Set TCP_NODELAY on the websocket's stream, then connect to the kernel as usual."""
        set_socket_nodelay(self.websocket_handler, self.log)
        return await super().connect()


def set_socket_nodelay(websocket, log) -> None:
    """``websocket.set_nodelay(True)`` (a handler or a client connection); a closed stream is only logged."""
    try:
        websocket.set_nodelay(True)
    except Exception as error:  # a closed stream or an exotic transport: never fail the connection
        log.debug("jupyterlab-aiev: could not set TCP_NODELAY on a gateway websocket: %s", error)


def _pong(client, log) -> None:
    """Send an unsolicited pong on a tornado websocket client connection (its ACK then leaves at once)."""
    protocol = getattr(client, "protocol", None)
    try:
        protocol._write_frame(True, _PONG, b"")  # tornado has no public pong; this is what it answers pings with
    except Exception as error:  # closing, or a tornado without _write_frame: the stall comes back, nothing breaks
        log.debug("jupyterlab-aiev: could not ack a gateway frame: %s", error)


def patch_gateway_connection() -> bool:
    """Wrap ``GatewayWebSocketConnection`` (the server end of the hop): TCP_NODELAY on its socket to the gateway
    once connected, and a pong for every frame it relays from the gateway; on servers with ``nodelay.SETTING`` on
    only. Idempotent; returns True when this call installed the wrappers."""
    from jupyter_server.gateway.connections import GatewayWebSocketConnection

    connection_done = GatewayWebSocketConnection._connection_done
    if getattr(connection_done, _MARKER, False):
        return False
    relay = GatewayWebSocketConnection.handle_outgoing_message

    def enabled(self) -> bool:
        return self.ws is not None and bool(self.websocket_handler.settings.get(SETTING))

    @functools.wraps(connection_done)
    def _connection_done(self, fut):
        connection_done(self, fut)
        if enabled(self):
            set_socket_nodelay(self.ws.protocol, self.log)

    @functools.wraps(relay)
    def handle_outgoing_message(self, incoming_msg, *args):
        if enabled(self):
            _pong(self.ws, self.log)
        return relay(self, incoming_msg, *args)

    for wrapper in (_connection_done, handle_outgoing_message):
        setattr(wrapper, _MARKER, True)
    GatewayWebSocketConnection._connection_done = _connection_done
    GatewayWebSocketConnection.handle_outgoing_message = handle_outgoing_message
    return True


def uses_gateway(server_app) -> bool:
    """Whether ``server_app`` runs its kernels on a gateway (``--gateway-url``)."""
    config = getattr(server_app, "gateway_config", None)
    return bool(config is not None and config.gateway_enabled)

