"""TCP_NODELAY and frame acks on the hop between a Jupyter server and its kernel gateway (``gateway_nodelay.py``).

A real Jupyter Kernel Gateway (``jupyter_kernel_gateway``, its defaults) in a subprocess on loopback, a real server
with ``GatewayClient.url`` pointing at it, a real kernel and websocket: the assertions read TCP_NODELAY off the
server's socket to the gateway and count the acks it sent. No timing is asserted (bench/ measures the effect).
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from jupyter_server.gateway.connections import GatewayWebSocketConnection
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from python_kernel_bridge import gateway_nodelay, nodelay

TOKEN = "gateway-test-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def kernel_gateway(tmp_path_factory):
    """A Kernel Gateway with its defaults on a free loopback port; its URL."""
    port = _free_port()
    runtime = tmp_path_factory.mktemp("gateway-runtime")
    command = [sys.executable, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1",
               f"--KernelGatewayApp.port={port}", f"--KernelGatewayApp.auth_token={TOKEN}"]
    env = {**__import__("os").environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                request = urllib.request.Request(f"{url}/api/kernelspecs", headers={"Authorization": f"token {TOKEN}"})
                urllib.request.urlopen(request, timeout=2).close()
                break
            except OSError:
                assert process.poll() is None, "the kernel gateway exited"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def fresh_gateway_client():
    """GatewayClient is a process-wide singleton: a fresh one for this test's server, none left for the next."""
    GatewayClient.clear_instance()
    yield
    GatewayClient.clear_instance()


@pytest.fixture
def gateway_config(request):
    """More server config: none, or (``indirect`` parametrization) the value of the fixture it names."""
    return request.getfixturevalue(request.param) if hasattr(request, "param") else {}


@pytest.fixture
def behind_gateway(kernel_gateway, fresh_gateway_client):
    """Server config pointing the server's kernels at the Kernel Gateway."""
    return {"GatewayClient": {"url": kernel_gateway, "auth_token": TOKEN}}


@pytest.fixture
def jp_server_config(jp_server_config, gateway_config):
    return {**jp_server_config, **gateway_config}


def _execute_request(code: str) -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "session": "s", "username": "",
              "version": "5.3", "date": "2026-01-01T00:00:00Z"}
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
               "stop_on_error": True}
    return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
                       "buffers": []})


async def _run_until_idle(client, code: str) -> list[str]:
    """Send ``code`` on a legacy-protocol kernel websocket; the message types until the kernel is idle again and
    its reply came (on the shell channel, which may arrive after ``idle`` on iopub)."""
    request = _execute_request(code)
    parent = json.loads(request)["header"]["msg_id"]
    await client.write_message(request)
    types = []
    idle = False
    while not (idle and "execute_reply" in types):
        message = json.loads(await asyncio.wait_for(client.read_message(), 30))
        if message["parent_header"].get("msg_id") != parent:
            continue
        types.append(message["msg_type"])
        idle = idle or (message["msg_type"] == "status" and message["content"]["execution_state"] == "idle")
    return types


def _nodelay_on(sock) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


async def _kernel(jp_fetch):
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    return json.loads(response.body)["id"]


@pytest.mark.parametrize("gateway_config", ["behind_gateway"], indirect=True)
async def test_the_server_end_sets_nodelay_and_acks_every_gateway_frame(jp_serverapp, jp_fetch, jp_ws_fetch, monkeypatch):
    assert json.loads((await jp_fetch("aiev", "status")).body)["gateway"] is True
    acks = []
    pong = gateway_nodelay._pong
    monkeypatch.setattr(gateway_nodelay, "_pong", lambda client, log: (acks.append(client), pong(client, log)))
    kernel_id = await _kernel(jp_fetch)
    client = await jp_ws_fetch("api", "kernels", kernel_id, "channels", params={"session_id": "gw-test"})
    try:
        types = await _run_until_idle(client, "print(6 * 7)")
        assert "stream" in types and "execute_reply" in types, types
        connections = [
            c for c in gc.get_objects()
            if isinstance(c, GatewayWebSocketConnection) and c.kernel_id == kernel_id and c.ws is not None
        ]
        assert connections, "no open connection to the gateway for the kernel"
        for connection in connections:
            assert _nodelay_on(connection.ws.protocol.stream.socket)  # the server's socket to the gateway
        assert len(acks) >= len(types), (acks, types)  # a pong for every frame relayed from the gateway
    finally:
        client.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


@pytest.mark.parametrize("gateway_config", ["behind_gateway"], indirect=True)
async def test_opted_out_the_server_end_leaves_the_hop_alone(jp_serverapp, jp_fetch, jp_ws_fetch, monkeypatch):
    jp_serverapp.web_app.settings[nodelay.SETTING] = False  # as with AIEV_KERNEL_NODELAY=0
    acks = []
    monkeypatch.setattr(gateway_nodelay, "_pong", lambda client, log: acks.append(client))
    kernel_id = await _kernel(jp_fetch)
    client = await jp_ws_fetch("api", "kernels", kernel_id, "channels", params={"session_id": "gw-test-off"})
    try:
        await _run_until_idle(client, "print(1)")
        connection = next(c for c in gc.get_objects() if isinstance(c, GatewayWebSocketConnection) and c.kernel_id == kernel_id)
        assert not _nodelay_on(connection.ws.protocol.stream.socket) and acks == []
    finally:
        client.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


@pytest.fixture
def gateway_end_class():
    """A server using the gateway end's connection class, the server's own cure off: only the class can set it."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"python_kernel_bridge": True},
            "kernel_websocket_connection_class": "python_kernel_bridge.gateway_nodelay.NoDelayZMQChannelsWebsocketConnection",
        },
        "KernelNoDelay": {"enabled": False},
    }


@pytest.mark.parametrize("gateway_config", ["gateway_end_class"], indirect=True)
async def test_the_gateway_end_class_sets_nodelay_on_its_kernel_websockets(jp_serverapp, jp_fetch, jp_ws_fetch):
    assert jp_serverapp.web_app.settings[nodelay.SETTING] is False
    kernel_id = await _kernel(jp_fetch)
    client = await jp_ws_fetch("api", "kernels", kernel_id, "channels", params={"session_id": "gw-class"})
    try:
        await _run_until_idle(client, "print(1)")
        connection = next(
            c for c in ZMQChannelsWebsocketConnection._open_sockets if c.kernel_id == kernel_id
        )
        assert isinstance(connection, gateway_nodelay.NoDelayZMQChannelsWebsocketConnection)
        assert _nodelay_on(connection.websocket_handler.ws_connection.stream.socket)
    finally:
        client.close()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
