"""The model proxy (``proxy.py``) and ``GET /aiev/config`` on a real Jupyter server, forwarding to a real HTTP
model endpoint on loopback (``fake_model.py``). The browser is played by httpx over a real socket."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from .fake_model import CERT, FakeModel, completion, stream_of

KEY = "sk-test-0123456789abcdefXYZ"
CHAT = ("aiev", "llm", "v1", "chat", "completions")


@pytest.fixture
def model_tls():
    """Whether the model endpoint serves HTTPS (parametrize to change)."""
    return False


@pytest.fixture
def model(jp_asyncio_loop, model_tls):
    fake = FakeModel(tls=model_tls)
    yield fake
    fake.stop()


@pytest.fixture
def request_timeout():
    """The proxy's ``request_timeout`` (parametrize to change)."""
    return 10.0


@pytest.fixture
def aiev_config(model, monkeypatch, request_timeout):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return {"AievBridge": {"base_url": model.base_url, "models": ["fake-model", "other"], "request_timeout": request_timeout}}


@pytest.fixture
def browser(jp_serverapp, http_server_client, jp_http_port, jp_base_url, jp_auth_header):
    """An httpx client on the server's base URL with the Jupyter token, as ``ServerConnection`` sends it
    (``http_server_client`` makes pytest-jupyter serve the port)."""
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    return httpx.AsyncClient(base_url=base, headers=jp_auth_header, timeout=30)


def chat_body(stream: bool) -> bytes:
    # Key order and spacing kept on purpose: the upstream must receive these exact bytes.
    return b'{"model":"fake-model", "stream": %s, "messages":[{"role":"user","content":"hi \\u00e9"}]}' % (
        b"true" if stream else b"false"
    )


def assert_no_key(response: httpx.Response, body: bytes | None = None) -> None:
    assert KEY not in (body if body is not None else response.content).decode("utf-8", "replace")
    assert all(KEY not in value for value in response.headers.values())


async def test_config_says_what_is_configured_without_the_key(jp_fetch, model):
    response = await jp_fetch("aiev", "config")
    body = json.loads(response.body)
    assert body == {
        "configured": True, "base_url_host": f"127.0.0.1:{model.port}", "models": ["fake-model", "other"],
        "default_model": "fake-model", "key_set": True, "key_env": "OPENAI_API_KEY", "message": None,
        "collection": None,
    }
    assert KEY not in response.body.decode()


@pytest.mark.parametrize("aiev_config", [{}], ids=["nothing-configured"])
async def test_not_configured_says_what_to_set(jp_fetch, browser, aiev_config):
    body = json.loads((await jp_fetch("aiev", "config")).body)
    assert body["configured"] is False and body["base_url_host"] is None and body["key_set"] is False
    assert body["models"] == [] and body["default_model"] is None
    assert "set OPENAI_BASE_URL" in body["message"] and "c.AievBridge.base_url" in body["message"]
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(False))
    assert response.status_code == 503
    assert response.headers["x-should-retry"] == "false"  # the SDK gives up at once
    error = response.json()["error"]
    assert error["code"] == "not_configured" and error["message"] == body["message"]


async def test_environment_defaults(monkeypatch, jp_serverapp):
    from python_kernel_bridge.config import SETTING, AievBridge

    monkeypatch.setenv("OPENAI_BASE_URL", "https://user:secret@models.example:8443/v1/?q=1")
    monkeypatch.setenv("AIEV_MODEL", "a, b,,c")
    monkeypatch.setenv("MY_KEY", "k" * 20)
    bridge = AievBridge(api_key_env="MY_KEY")
    state = bridge.public_state()
    assert state["base_url_host"] == "models.example:8443" and state["models"] == ["a", "b", "c"]
    assert state["key_set"] is True and state["key_env"] == "MY_KEY"
    assert "secret" not in json.dumps(state) and "/v1" not in json.dumps(state)
    assert bridge.origin == "https://models.example:8443"
    assert jp_serverapp.web_app.settings[SETTING].sessions_dir == f"{jp_serverapp.root_dir}/.aiev/sessions"
    assert AievBridge(base_url="ftp://x").public_state()["configured"] is False


async def test_whole_answer_passes_through(browser, model):
    model.script.append({"json": completion("hello"), "headers": {"x-request-id": "req_1", "set-cookie": "a=b"}})
    async with browser:
        response = await browser.post(
            "/".join(CHAT), content=chat_body(False), headers={"cookie": "jupyter=secret", "openai-beta": "x"},
            params={"api-version": "1"},
        )
    assert response.status_code == 200 and response.json() == completion("hello")
    assert response.headers["x-request-id"] == "req_1" and "a=b" not in response.headers.get("set-cookie", "")
    sent = model.requests[0]
    assert sent["body"] == chat_body(False) and sent["query"] == "api-version=1"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert sent["headers"]["Openai-Beta"] == "x"
    assert "Cookie" not in sent["headers"]  # neither the browser's cookies nor its Jupyter token go upstream
    assert_no_key(response)


async def test_models_pass_through(browser, model):
    models = {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
    model.script.append({"json": models})
    async with browser:
        response = await browser.get("aiev/llm/v1/models")
    assert response.status_code == 200 and response.json() == models
    assert model.requests[0]["method"] == "GET" and model.requests[0]["path"] == "/v1/models"


async def test_stream_is_passed_chunk_by_chunk(browser, model):
    gate = asyncio.Event()
    events = stream_of("Hel", "lo")
    model.script.append({"events": events, "gate": gate})
    received = []
    async with browser, browser.stream("POST", "/".join(CHAT), content=chat_body(True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for part in response.aiter_raw():
            received.append(part)
            if not gate.is_set():
                # The first event arrived while the model still holds the rest back: nothing is buffered.
                assert b"".join(received) == f"data: {events[0]}\n\n".encode()
                gate.set()
    assert b"".join(received) == "".join(f"data: {e}\n\n" for e in events).encode()
    assert model.requests[0]["body"] == chat_body(True)


async def test_one_upstream_connection_carries_turn_after_turn(browser, model):
    """Keep-alive to the endpoint: a connection per turn would cost a remote endpoint two more network round trips
    (TCP, and TLS on top) every turn."""
    model.script.extend([{"json": completion("a")}, {"events": stream_of("b")}, {"json": completion("c")}])
    async with browser:
        for stream in (False, True, False):
            assert (await browser.post("/".join(CHAT), content=chat_body(stream))).status_code == 200
    assert len(model.requests) == 3 and len({r["peer"] for r in model.requests}) == 1


@pytest.mark.parametrize("model_tls", [True])
async def test_tls_endpoint_kept_alive_and_its_certificate_checked(browser, model, model_tls, monkeypatch):
    """HTTPS to the endpoint, its certificate trusted through ``SSL_CERT_FILE``; one TLS connection for all turns."""
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    model.script.extend([{"json": completion("a")}, {"events": stream_of("b")}, {"json": completion("c")}])
    async with browser:
        for stream in (False, True, False):
            response = await browser.post("/".join(CHAT), content=chat_body(stream))
            assert response.status_code == 200 and KEY not in response.text
    assert len(model.requests) == 3 and len({r["peer"] for r in model.requests}) == 1


@pytest.mark.parametrize("model_tls", [True])
async def test_an_untrusted_certificate_is_a_502_that_says_so(browser, model, model_tls, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(False))
    assert response.status_code == 502 and not model.requests
    message = response.json()["error"]["message"]
    origin = f"https://127.0.0.1:{model.port}"
    assert message == f"model endpoint {origin} unreachable: certificate verify failed: self-signed certificate"


async def test_the_servers_proxy_environment_is_honoured(jp_serverapp, browser, model, monkeypatch):
    """``HTTP_PROXY`` (the model server plays the proxy) and ``NO_PROXY``, as the openai SDK reads them."""
    from python_kernel_bridge.config import SETTING

    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{model.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    model.script.extend([{"json": completion("direct")}, {"json": completion("proxied")}])
    async with browser:
        direct = await browser.post("/".join(CHAT), content=chat_body(False))
        jp_serverapp.web_app.settings[SETTING].base_url = "http://models.example/v1"
        proxied = await browser.post("/".join(CHAT), content=chat_body(False))
    assert direct.json() == completion("direct") and proxied.json() == completion("proxied")
    assert [r["path"] for r in model.requests] == ["/v1/chat/completions", "http://models.example/v1/chat/completions"]
    assert model.requests[1]["headers"]["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("request_timeout", [120.0])  # longer than the waits below
async def test_browser_disconnect_closes_the_upstream_request(browser, model, request_timeout):
    model.script.append({"events": stream_of("never", "finished"), "gate": asyncio.Event()})
    async with browser, browser.stream("POST", "/".join(CHAT), content=chat_body(True)) as response:
        async for _ in response.aiter_raw():
            break  # the user pressed Stop after the first event
    await asyncio.wait_for(model.disconnected.wait(), 10)


@pytest.mark.parametrize("request_timeout", [120.0])
async def test_non_streaming_disconnect_closes_the_upstream_request(browser, model, request_timeout):
    model.script.append({"hang": True})
    async with browser:
        task = asyncio.ensure_future(browser.post("/".join(CHAT), content=chat_body(False)))
        for _ in range(200):
            if model.requests:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await asyncio.wait_for(model.disconnected.wait(), 10)


@pytest.mark.parametrize(
    "status, upstream, prefix, headers",
    [
        (401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}},
         "the model endpoint rejected the API key (HTTP 401); check OPENAI_API_KEY on the server: Incorrect API key", {}),
        (403, {"error": {"message": "forbidden"}}, "the model endpoint rejected the API key (HTTP 403)", {}),
        (404, {"error": {"message": "model 'x' not found"}},
         "the model endpoint answered HTTP 404: model or path not found: model 'x' not found", {}),
        (429, {"error": {"message": "slow down", "type": "rate_limit"}},
         "the model endpoint is rate limiting requests (HTTP 429): slow down",
         {"retry-after": "2", "retry-after-ms": "1500", "x-ratelimit-remaining-requests": "0"}),
        (500, {"detail": "CUDA out of memory"}, "the model endpoint failed (HTTP 500): CUDA out of memory", {}),
        (503, "overloaded", "the model endpoint failed (HTTP 503): overloaded", {"x-should-retry": "true"}),
        (400, {"error": {"message": "bad messages"}}, "the model endpoint refused the request (HTTP 400): bad messages", {}),
    ],
)
async def test_upstream_errors_keep_status_message_and_retry_headers(browser, model, status, upstream, prefix, headers):
    model.script.append({"json": upstream, "status": status, "headers": headers})
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(True))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["message"].startswith(prefix), error
    assert set(error) == {"message", "type", "code"}
    if isinstance(upstream, dict) and "code" in upstream.get("error", {}):
        assert error["code"] == upstream["error"]["code"]
    for name, value in headers.items():
        assert response.headers[name] == value


async def test_unreachable_endpoint_is_a_502(jp_serverapp, browser):
    from python_kernel_bridge.config import SETTING

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    jp_serverapp.web_app.settings[SETTING].base_url = f"http://127.0.0.1:{port}/v1"
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(False))
    assert response.status_code == 502
    assert response.json()["error"]["message"] == f"model endpoint http://127.0.0.1:{port} unreachable: connection refused"


@pytest.mark.parametrize("request_timeout", [1.0])
async def test_no_answer_in_time_is_a_504(browser, model, request_timeout):
    model.script.append({"hang": True})
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(False))
    assert response.status_code == 504
    assert response.json()["error"]["message"] == f"model endpoint http://127.0.0.1:{model.port} did not answer within 1 s"


@pytest.mark.parametrize("request_timeout", [1.0])
async def test_a_stream_that_stalls_ends_with_an_error_event(browser, model, request_timeout):
    events = stream_of("one", "two")
    model.script.append({"events": events, "gate": asyncio.Event()})
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(True))
    assert response.status_code == 200
    text = response.text
    assert text.startswith(f"data: {events[0]}\n\n")
    error = json.loads(text.strip().split("\n\n")[-1].removeprefix("data: "))["error"]
    assert error["message"] == f"model endpoint http://127.0.0.1:{model.port} stopped sending for 1 s"


async def test_a_whole_answer_cut_short_is_a_502(browser, model):
    model.script.append({"cut": completion("x" * 2000)})
    async with browser:
        response = await browser.post("/".join(CHAT), content=chat_body(False))
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert message.startswith(f"model endpoint http://127.0.0.1:{model.port} cut the answer (")


async def test_the_key_never_comes_back(browser, model):
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}"}}
    half = len(KEY) // 2
    model.script.extend([
        {"json": echo, "status": 401, "headers": {"x-request-id": KEY}},
        {"json": {"echo": KEY}},
        # the key split over two TCP writes
        {"raw": [f'data: {{"a": "{KEY[:half]}', f'{KEY[half:]}"}}\n\n', "data: [DONE]\n\n"]},
    ])
    async with browser:
        for stream in (False, False, True):
            response = await browser.post("/".join(CHAT), content=chat_body(stream))
            assert_no_key(response)
            assert "[REDACTED]" in response.text or "[REDACTED]" in response.headers.get("x-request-id", "")
    assert model.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_key_scrubber_at_every_split():
    from python_kernel_bridge.proxy import KeyScrubber

    stream = f'data: {{"x": "{KEY}", "y": "s{KEY}sk"}}\n\n'.encode()
    expected = stream.replace(KEY.encode(), b"[REDACTED]")
    for cut in range(len(stream) + 1):
        for second in range(cut, len(stream) + 1):
            scrubber = KeyScrubber(KEY)
            parts = [scrubber.feed(stream[:cut]), scrubber.feed(stream[cut:second]), scrubber.feed(stream[second:])]
            held = scrubber.end()
            assert b"".join(parts) + held == expected
            assert held == b""  # a complete event is never held back
    assert KeyScrubber("").feed(b"abc") == b"abc"


async def test_every_route_requires_auth(browser, jp_fetch):
    routes = [("GET", "aiev/config"), ("POST", "/".join(CHAT)), ("GET", "aiev/llm/v1/models")]
    async with browser:
        for method, path in routes:
            response = await browser.request(method, path, headers={"Authorization": "token wrong"}, content=b"{}")
            assert response.status_code == 403, path


async def test_cookie_auth_needs_the_xsrf_token(jp_serverapp, http_server_client, jp_http_port, jp_base_url, model):
    """The browser's path: a login cookie, and POSTs carrying ``X-XSRFToken`` (``ServerConnection`` adds it)."""
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as cookie_browser:
        await cookie_browser.get("login")
        xsrf = cookie_browser.cookies["_xsrf"]
        login = await cookie_browser.post(
            "login", data={"_xsrf": xsrf, "password": jp_serverapp.identity_provider.token}
        )
        assert login.status_code in (200, 302)
        model.script.append({"json": completion("ok")})
        refused = await cookie_browser.post("/".join(CHAT), content=chat_body(False))
        assert refused.status_code == 403 and not model.requests
        accepted = await cookie_browser.post("/".join(CHAT), content=chat_body(False), headers={"X-XSRFToken": xsrf})
        assert accepted.status_code == 200 and accepted.json() == completion("ok")

