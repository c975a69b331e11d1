import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

#: The bridge's environment variables: unset for every test unless it sets them (a developer's own model
#: endpoint and key must not leak into the tests).
BRIDGE_ENV = ("OPENAI_BASE_URL", "AIEV_MODEL", "OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def _no_bridge_env(monkeypatch):
    for name in BRIDGE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aiev_config():
    """More server config for a test (e.g. ``{"AievBridge": {...}}``); none by default: override it."""
    return {}


@pytest.fixture
def jp_server_config(jp_server_config, aiev_config):
    return {"ServerApp": {"jpserver_extensions": {"python_kernel_bridge": True}}, **aiev_config}
