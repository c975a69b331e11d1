"""TCP_NODELAY on kernel websockets (python_kernel_bridge/nodelay.py), checked on the server's real socket.

A real server with the extension, a real kernel, a real websocket client; the assertion reads the option
off the server side of the TCP connection. No timing is asserted anywhere (bench/ measures the effect).
"""

import asyncio
import json
import socket

import pytest
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

from python_kernel_bridge import nodelay

V1 = "v1.kernel.websocket.jupyter.org"


@pytest.fixture
def nodelay_config():
    """Extra server config for a test; none by default (parametrize to change)."""
    return {}


@pytest.fixture
def nodelay_env(monkeypatch):
    """Value of AIEV_KERNEL_NODELAY for the server; unset by default (parametrize to change)."""
    monkeypatch.delenv(nodelay.ENV_VAR, raising=False)


@pytest.fixture
def jp_server_config(jp_server_config, nodelay_config, nodelay_env):
    return {**jp_server_config, **nodelay_config}


async def _kernel_websocket(jp_fetch, jp_ws_fetch, subprotocols):
    """Start a kernel, connect to its channels; the server-side handler once its ``open`` has run, and the client."""
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(response.body)["id"]
    client = await jp_ws_fetch(
        "api", "kernels", kernel_id, "channels", params={"session_id": "nodelay-test"}, subprotocols=subprotocols
    )
    # `open` adds the connection to this set when it has connected to the kernel's ZMQ channels.
    for _ in range(600):
        for connection in list(ZMQChannelsWebsocketConnection._open_sockets):
            if connection.kernel_id == kernel_id and connection.websocket_handler is not None:
                return connection.websocket_handler, client, kernel_id
        await asyncio.sleep(0.05)
    raise AssertionError("the kernel websocket never opened on the server")


def _nodelay_on(handler) -> bool:
    sock = handler.ws_connection.stream.socket
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def _close(jp_fetch, client, kernel_id):
    client.close()
    await jp_fetch("api", "kernels", kernel_id, method="DELETE")


@pytest.mark.parametrize("subprotocols", [[V1], None], ids=["v1-protocol", "legacy-json-protocol"])
async def test_kernel_websocket_has_nodelay(jp_serverapp, jp_fetch, jp_ws_fetch, subprotocols):
    assert jp_serverapp.web_app.settings[nodelay.SETTING] is True
    assert json.loads((await jp_fetch("aiev", "status")).body)["kernel_nodelay"] is True
    handler, client, kernel_id = await _kernel_websocket(jp_fetch, jp_ws_fetch, subprotocols)
    try:
        assert isinstance(handler, KernelWebsocketHandler)
        assert handler.selected_subprotocol == (V1 if subprotocols else None)
        assert _nodelay_on(handler)
    finally:
        await _close(jp_fetch, client, kernel_id)


@pytest.mark.parametrize("nodelay_config", [{"KernelNoDelay": {"enabled": False}}])
async def test_opt_out_by_config(jp_serverapp, jp_fetch, jp_ws_fetch, nodelay_config):
    assert jp_serverapp.web_app.settings[nodelay.SETTING] is False
    assert json.loads((await jp_fetch("aiev", "status")).body)["kernel_nodelay"] is False  # clients ack instead
    handler, client, kernel_id = await _kernel_websocket(jp_fetch, jp_ws_fetch, [V1])
    try:
        assert not _nodelay_on(handler)
    finally:
        await _close(jp_fetch, client, kernel_id)


@pytest.mark.parametrize("value", ["0", "false", "OFF"])
def test_env_var_turns_the_default_off(monkeypatch, value):
    monkeypatch.setenv(nodelay.ENV_VAR, value)
    assert nodelay.KernelNoDelay().enabled is False
    monkeypatch.setenv(nodelay.ENV_VAR, "1")
    assert nodelay.KernelNoDelay().enabled is True


async def test_opt_out_by_environment(monkeypatch, jp_fetch, jp_ws_fetch, jp_serverapp):
    # The env var is read when the extension loads; set it, then load the extension again on this server.
    monkeypatch.setenv(nodelay.ENV_VAR, "0")
    assert nodelay.apply(jp_serverapp) is False
    handler, client, kernel_id = await _kernel_websocket(jp_fetch, jp_ws_fetch, [V1])
    try:
        assert not _nodelay_on(handler)
    finally:
        await _close(jp_fetch, client, kernel_id)


def test_config_wins_over_environment(monkeypatch):
    from traitlets.config import Config

    monkeypatch.setenv(nodelay.ENV_VAR, "0")
    assert nodelay.KernelNoDelay(config=Config({"KernelNoDelay": {"enabled": True}})).enabled is True


def test_patch_is_idempotent_and_only_touches_kernel_websockets(jp_serverapp):
    from jupyter_server.services.events.handlers import SubscribeWebsocket
    from tornado.websocket import WebSocketHandler

    wrapped = KernelWebsocketHandler.open
    assert getattr(wrapped, "__aiev_nodelay__", False)
    assert nodelay.patch_kernel_websocket_handler() is False
    assert KernelWebsocketHandler.open is wrapped
    # the wrapper calls the original open, not itself
    assert not getattr(wrapped.__wrapped__, "__aiev_nodelay__", False)
    for other in (WebSocketHandler, SubscribeWebsocket):
        assert not getattr(other.open, "__aiev_nodelay__", False)
    try:
        from jupyter_server_terminals.handlers import TermSocket
    except ImportError:
        return
    assert not getattr(TermSocket.open, "__aiev_nodelay__", False)
