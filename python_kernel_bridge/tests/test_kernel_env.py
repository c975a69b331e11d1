"""Kernels started by the server do not inherit the model key nor ``hidden_env_vars`` (``kernel_env.py``).

Real kernels started through the server's REST API (``/api/kernels``, ``/api/sessions``, restarts, a renamed
session), and the server's own replays (``/aiev/verify``); each kernel is asked what its ``os.environ`` and its
``/proc/self/environ`` hold, through a kernel client on its ZMQ channels.
"""

from __future__ import annotations

import json

import pytest

from python_kernel_bridge.config import SETTING

from .samples import make_sample

KEY = "sk-kernel-test-9876543210abcdef"
NAMES = ["OPENAI_API_KEY", "AIEV_EXTRA_SECRET", "AIEV_SAME_VALUE", "AIEV_PLAIN"]
PROBE = (
    "import json, os\n"
    f"names = {NAMES!r}\n"
    "raw = open('/proc/self/environ', 'rb').read().decode()\n"
    "print(json.dumps({'environ': {n: os.environ.get(n) for n in names}, 'key_in_proc': "
    f"{KEY!r} in raw or 'extra-secret-value' in raw}}))"
)


@pytest.fixture
def aiev_config(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("AIEV_EXTRA_SECRET", "extra-secret-value")
    monkeypatch.setenv("AIEV_SAME_VALUE", KEY)  # the key under another name
    monkeypatch.setenv("AIEV_PLAIN", "plain-value")
    return {"AievBridge": {"hidden_env_vars": ["AIEV_EXTRA_SECRET"]}}


EXPECTED = {
    "environ": {"OPENAI_API_KEY": None, "AIEV_EXTRA_SECRET": None, "AIEV_SAME_VALUE": None, "AIEV_PLAIN": "plain-value"},
    "key_in_proc": False,
}


async def kernel_sees(serverapp, kernel_id: str) -> dict:
    """Run ``PROBE`` in the kernel through a client on its channels; what it printed."""
    client = serverapp.kernel_manager.get_kernel(kernel_id).client()
    client.start_channels()
    printed: list[str] = []
    try:
        await client.wait_for_ready(timeout=60)

        def hook(msg):
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])

        reply = await client.execute_interactive(PROBE, output_hook=hook, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    return json.loads("".join(printed))


async def test_kernels_started_with_the_rest_api_and_restarted(jp_fetch, jp_serverapp):
    assert jp_serverapp.web_app.settings[SETTING].api_key == KEY  # the proxy still has it
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(response.body)["id"]
    try:
        assert await kernel_sees(jp_serverapp, kernel_id) == EXPECTED
        await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="", request_timeout=60)
        assert await kernel_sees(jp_serverapp, kernel_id) == EXPECTED
    finally:
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")


async def test_session_kernels_also_after_a_rename_and_restart(jp_fetch, jp_serverapp):
    body = {"path": "a.ipynb", "type": "notebook", "name": "a.ipynb", "kernel": {"name": "python3"}}
    session = json.loads((await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))).body)
    kernel_id = session["kernel"]["id"]
    try:
        assert await kernel_sees(jp_serverapp, kernel_id) == EXPECTED
        # A rename refreshes the kernel's launch environment from os.environ (SessionManager.update_session)…
        renamed = {"path": "b.ipynb", "name": "b.ipynb"}
        await jp_fetch("api", "sessions", session["id"], method="PATCH", body=json.dumps(renamed))
        launch_env = jp_serverapp.kernel_manager.get_kernel(kernel_id)._launch_args["env"]
        assert launch_env["OPENAI_API_KEY"] == KEY and launch_env["JPY_SESSION_NAME"].endswith("b.ipynb")
        # …and the restart that follows still hides the key.
        await jp_fetch("api", "kernels", kernel_id, "restart", method="POST", body="", request_timeout=60)
        assert await kernel_sees(jp_serverapp, kernel_id) == EXPECTED
    finally:
        await jp_fetch("api", "sessions", session["id"], method="DELETE")


async def test_the_servers_replays_do_not_get_it_either(jp_fetch):
    source = "import os\nprint(os.environ.get('OPENAI_API_KEY'), os.environ.get('AIEV_PLAIN'))"
    printed = {"output_type": "stream", "name": "stdout", "text": "None plain-value\n"}
    sample = make_sample([source], [{"outputs": [printed], "execution_count": 1}])
    response = await jp_fetch("aiev", "verify", method="POST", body=json.dumps(sample), request_timeout=120)
    block = json.loads(response.body)
    assert block["verdict"] == "verified", block["replay"]["cells"]
