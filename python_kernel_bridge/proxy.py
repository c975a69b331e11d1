"""The model proxy: ``<base_url>aiev/llm/v1/chat/completions`` (POST) and ``.../models`` (GET), OpenAI-compatible.

The browser's ``openai`` client talks only to these routes, through Jupyter's authentication (token header or
cookie + ``X-XSRFToken``, as ``ServerConnection.makeRequest`` sends them; a client should drop the SDK's own
``Authorization: Bearer`` header before handing the request to ``makeRequest``, which *appends* its token to it).
Each request goes to the endpoint configured on the server (``config.py``) unchanged: same body, same query, and
only the headers an OpenAI-compatible server reads (``FORWARDED``; never the browser's cookies or Jupyter token),
with ``Authorization: Bearer <key>`` when a key is set. The answer comes back as the upstream gave it:

- ``text/event-stream`` (``"stream": true``) chunk by chunk as the upstream sends them (write + flush per chunk,
  no buffering of events); if the upstream stops mid-stream (timeout, connection cut) an SSE ``error`` event
  says so, which the SDK raises as an ``APIError`` (the client retries the turn);
- anything else whole, with the upstream's status.

Errors are OpenAI-shaped JSON, ``{"error": {"message", "type", "code"}}``, with the upstream's message kept
behind our prefix: not configured 503 (``x-should-retry: false``: the SDK does not retry it); endpoint
unreachable 502; no answer within ``request_timeout`` 504; upstream 401/403 (the key), 404 (model or path), 429,
5xx and other 4xx with their status. ``retry-after``/``retry-after-ms``/``x-should-retry``, the request id and
rate-limit headers are passed on, so the SDK's retries and backoff work through the proxy.

When the browser disconnects (Stop), ``on_connection_close`` cancels the relay, which closes the upstream
connection at once: the model server sees the disconnect and can stop generating.

The key never reaches the browser: it is only ever put in the upstream request, and every byte and header coming
back is scrubbed of it (``KeyScrubber``, which holds back at most a chunk's tail that could begin the key).

One ``ModelClient`` per server (``CLIENT_SETTING``): an ``aiohttp.ClientSession`` whose pool keeps connections to
the endpoint alive (TLS too: one connection for turn after turn), ``Accept-Encoding: identity`` so the bytes pass
through as they are, no cookie jar, ``HTTP(S)_PROXY``/``NO_PROXY`` read once per host, certificates checked as the
openai SDK checks them (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``). Cancelling a request closes its connection.

Why aiohttp: its request costs half of httpx's CPU. Against the scripted model on loopback, the same run taking
turns (2-core VM shared with other work), CPU per request non-streaming / streaming (the 12 KB agent conversation):
aiohttp 0.60 / 0.9 ms; tornado's curl client (pycurl) 0.76 / 1.0-1.1 ms, and tornado's clients cannot drop a request
the model has not started answering; httpx 1.5 / 2.1-2.3 ms, 1.4 / 1.9-2.1 ms with HTTP/1.1 only, ``trust_env`` off
and no retries; tornado's simple client 1.4 / 1.9-2.0 ms plus a new connection per request (over TLS on loopback 5.5
ms a request against 1.2 ms for aiohttp's kept-alive one and 2.3 ms for httpx's). A hand-written asyncio exchange
(no HTTP library, not a candidate) takes 0.26 / 0.3-0.4 ms. aiohttp's ``trust_env`` would add 0.65 ms a request (it
reads the environment and ``~/.netrc`` each time), its cookie jar ~0.2 ms in the server: both are off.

Added latency per model turn over calling the model directly (``bench/proxy.ts``, medians of 3 runs each, the httpx
proxy and this one taking turns, load average ~7 on 2 cores): streaming +3.2-4.1 ms (httpx +3.6-5.3), non-streaming
+2.5-3.0 ms (httpx +3.1-4.4); the server's CPU per proxied turn 2.5-3.0 / 2.2-2.6 ms (httpx 4.3-5.7 / 2.9-4.3), of
which 1.1-1.5 ms is Jupyter's own cost for any authenticated request (a no-op route). The goal of <= 1 ms is not
met, and no upstream client can meet it here: with two scratch routes beside the proxy (3 runs, not kept), Jupyter
answering the same request from memory (no upstream at all) adds +0.4-1.1 ms over the direct turn, and the
hand-written exchange in place of aiohttp lands within 0.4 ms of aiohttp's turn, either side (+1.8-3.1 ms). The rest
is the second loopback hop: the 12 KB request and the answer cross one more process. py-spy on the server: socket
sends 31% of its busy samples (20% the request to the model, 11% the answer to the browser), Jupyter's request
parsing, authentication and logging ~31%, aiohttp's own Python ~12%, this module ~3%.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import urllib.request

import aiohttp
import certifi
import tornado
from tornado.iostream import StreamClosedError
from jupyter_server.base.handlers import APIHandler
from yarl import URL

from .config import SETTING, AievBridge

#: Key in the tornado application settings: the server's ``ModelClient``.
CLIENT_SETTING = "aiev_model_client"
#: Request headers passed to the endpoint (besides the Authorization the proxy sets).
FORWARDED = ("content-type", "accept", "openai-organization", "openai-project", "openai-beta", "idempotency-key")
#: Response headers passed back to the browser (and any ``x-ratelimit-*``).
PASSED_BACK = (
    "content-type", "retry-after", "retry-after-ms", "x-should-retry", "x-request-id", "openai-processing-ms",
    "openai-version",
)
REDACTED = b"[REDACTED]"
_CONNECT_TIMEOUT = 15.0
_DETAIL_CHARS = 500


class ModelClient:
    """The server's connection pool to the model endpoint (see the module doc): one ``aiohttp.ClientSession``,
    opened on first use (aiohttp binds it to the running event loop, which does not run yet when the extension
    loads)."""

    def __init__(self, bridge: AievBridge):
        wait = bridge.request_timeout  # for the answer to start, for each read, and for a free pooled connection
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=wait, sock_connect=min(wait, _CONNECT_TIMEOUT), sock_read=wait
        )
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], str | None] = {}

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]):
        """``await`` it for the response, then ``async with`` it (see ``aiohttp.ClientSession.request``)."""
        target = URL(url, encoded=True)  # as the browser sent it: no re-quoting of the query
        return self._open().request(method, target, data=body, headers=headers, proxy=self._proxy_for(target))

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=60, ssl=_ssl_context())
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=False,
                headers={"accept-encoding": "identity"}, skip_auto_headers=("content-type",),
                # No cookies kept between requests; the proxy environment read here, once per host (trust_env
                # would read it and ~/.netrc on every request: +0.65 ms of CPU each).
                cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
            )
        return self._session

    def _proxy_for(self, url: URL) -> str | None:
        """The ``HTTP(S)_PROXY`` (or ``ALL_PROXY``) of the server's environment for ``url``, unless ``NO_PROXY``
        exempts its host: what the openai SDK (httpx) would use."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            bypass = url.host is not None and urllib.request.proxy_bypass(url.host)
            self._proxies[key] = None if bypass else proxies.get(url.scheme) or proxies.get("all")
        return self._proxies[key]


def _ssl_context() -> ssl.SSLContext:
    """Certificates checked as the openai SDK (httpx) checks them: against ``SSL_CERT_FILE`` or ``SSL_CERT_DIR``
    when set, else certifi's bundle (not the system store, which some Python installs lack)."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def open_client(server_app, bridge: AievBridge) -> ModelClient:
    """The server's ``ModelClient`` in its settings (``CLIENT_SETTING``), closed when the server shuts its
    extensions down (a module extension has no shutdown hook of its own: ``cleanup_extensions`` is wrapped)."""
    client = server_app.web_app.settings[CLIENT_SETTING] = ModelClient(bridge)
    cleanup_extensions = server_app.cleanup_extensions

    async def cleanup_then_close() -> None:
        await cleanup_extensions()
        await client.close()

    server_app.cleanup_extensions = cleanup_then_close
    return client


class KeyScrubber:
    """Replaces ``key`` in a byte stream fed chunk by chunk, even across chunk boundaries: it holds back only the
    end of a chunk that could be the start of the key (never a complete SSE event, which ends in a newline)."""

    def __init__(self, key: str):
        self._key = key.encode()
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        """What can be sent of ``held + chunk``, the key replaced."""
        if not self._key:
            return chunk
        data = (self._held + chunk).replace(self._key, REDACTED)
        keep = next((n for n in range(min(len(self._key) - 1, len(data)), 0, -1) if data.endswith(self._key[:n])), 0)
        self._held = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep]

    def end(self) -> bytes:
        """The bytes held back at the end of the stream."""
        held, self._held = self._held, b""
        return held

    def whole(self, data: bytes) -> bytes:
        """``data`` (a complete body) with the key replaced."""
        return data.replace(self._key, REDACTED) if self._key else data


def error_body(message: str, type_: str, code: str | None) -> dict:
    """The OpenAI error shape."""
    return {"error": {"message": message, "type": type_, "code": code}}


def _upstream_detail(body: bytes) -> tuple[str, str | None, str | None]:
    """The upstream's error message, type and code from an OpenAI-shaped (or FastAPI ``detail``) body, else its
    text, cut short."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:_DETAIL_CHARS], None, None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)
        code = error.get("code")
        return str(message)[:_DETAIL_CHARS], error.get("type"), None if code is None else str(code)
    return str(error)[:_DETAIL_CHARS], None, None


def upstream_error(status: int, body: bytes, bridge: AievBridge) -> dict:
    """Our error body for an upstream HTTP error: a prefix saying what it means, then the upstream's message."""
    if status in (401, 403):
        unset = "" if bridge.api_key else f" ({bridge.api_key_env} is not set)"
        prefix = f"the model endpoint rejected the API key (HTTP {status}); check {bridge.api_key_env} on the server{unset}"
    elif status == 404:
        prefix = "the model endpoint answered HTTP 404: model or path not found"
    elif status == 429:
        prefix = "the model endpoint is rate limiting requests (HTTP 429)"
    elif status >= 500:
        prefix = f"the model endpoint failed (HTTP {status})"
    else:
        prefix = f"the model endpoint refused the request (HTTP {status})"
    detail, type_, code = _upstream_detail(body)
    message = f"{prefix}: {detail}" if detail else prefix
    return error_body(message, type_ or "upstream_error", code or f"upstream_http_{status}")


def _transport_reason(error: Exception) -> str:
    """``connection refused``, ``name or service not known``…: the root cause in a few words."""
    cause: BaseException = error
    for _ in range(10):
        nxt = cause.__cause__ or cause.__context__
        if nxt is None:
            break
        cause = nxt
    if isinstance(cause, ssl.SSLCertVerificationError):  # its errno (1) is OpenSSL's, not an OS error
        return f"certificate verify failed: {cause.verify_message}"
    if isinstance(cause, ssl.SSLError):
        return f"TLS error: {cause.reason or cause}"
    if isinstance(cause, OSError) and (cause.errno or cause.strerror):
        return (os.strerror(cause.errno) if cause.errno else cause.strerror).lower()
    return str(cause) or type(cause).__name__


class ModelProxyHandler(APIHandler):
    """Relays one request to ``<endpoint><upstream_path>`` (see the module doc)."""

    upstream_path = ""
    _relay: asyncio.Task | None = None

    def on_connection_close(self) -> None:
        """The browser went away: drop the upstream request now (the model server sees the disconnect)."""
        if self._relay is not None:
            self._relay.cancel()
        super().on_connection_close()

    def _send_error(self, status: int, body: dict, *, retry: bool = True) -> None:
        self.set_status(status)
        if not retry:
            self.set_header("x-should-retry", "false")
        self.finish(json.dumps(body))

    async def _proxy(self, method: str) -> None:
        bridge: AievBridge = self.settings[SETTING]
        endpoint = bridge.endpoint
        if endpoint is None:
            body = error_body(bridge.message, "aiev_not_configured", "not_configured")
            return self._send_error(503, body, retry=False)
        self._relay = asyncio.ensure_future(self._forward(method, bridge, endpoint))
        try:
            await self._relay
        except (asyncio.CancelledError, StreamClosedError):
            if not self.request.connection.stream.closed():
                raise
            self.log.info("aiev proxy: the browser disconnected; upstream request to %s closed", bridge.origin)

    async def _forward(self, method: str, bridge: AievBridge, endpoint: str) -> None:
        client: ModelClient = self.settings[CLIENT_SETTING]
        headers = {name: self.request.headers[name] for name in FORWARDED if name in self.request.headers}
        if bridge.api_key:
            headers["authorization"] = f"Bearer {bridge.api_key}"
        query = self.request.query
        url = endpoint + self.upstream_path + (f"?{query}" if query else "")
        try:
            response = await client.request(method, url, self.request.body or None, headers)
        except asyncio.TimeoutError:
            message = f"model endpoint {bridge.origin} did not answer within {bridge.request_timeout:g} s"
            return self._send_error(504, error_body(message, "upstream_timeout", "upstream_timeout"))
        except aiohttp.ClientError as error:
            message = f"model endpoint {bridge.origin} unreachable: {_transport_reason(error)}"
            return self._send_error(502, error_body(message, "upstream_unreachable", "upstream_unreachable"))
        async with response:  # back to the pool when read to its end, else (an error, Stop) closed
            await self._pass_back(response, bridge)

    async def _pass_back(self, response: aiohttp.ClientResponse, bridge: AievBridge) -> None:
        scrubber = KeyScrubber(bridge.api_key)
        for name, value in response.headers.items():
            name = name.lower()
            if name in PASSED_BACK or name.startswith("x-ratelimit-"):
                self.set_header(name, scrubber.whole(value.encode()).decode())
        content_type = response.headers.get("content-type", "application/json")
        try:
            if response.status >= 400:
                body = scrubber.whole(await response.read())
                self.set_status(response.status)
                return self.finish(json.dumps(upstream_error(response.status, body, bridge)))
            self.set_status(response.status)
            if not content_type.startswith("text/event-stream"):
                return self.finish(scrubber.whole(await response.read()), set_content_type=content_type)
            self.request.connection.stream.set_nodelay(True)  # each event out at once (no Nagle wait for an ACK)
            self.set_header("Cache-Control", "no-cache")
            self.set_header("X-Accel-Buffering", "no")  # a reverse proxy in front of Jupyter must not buffer it
            await self._relay_events(response, scrubber)
            self.write(scrubber.end())
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            self._cut(error, bridge, content_type)
            return None
        self.finish(set_content_type=content_type)

    async def _relay_events(self, response: aiohttp.ClientResponse, scrubber: KeyScrubber) -> None:
        """Each chunk written as it comes; the flush runs once the chunks already received are written (the next
        turn of the event loop, when reading more would wait for the network), so events that arrived together
        leave together, and a slow browser holds the relay back (the previous flush is awaited)."""
        loop = asyncio.get_running_loop()
        flushed: asyncio.Future | None = None
        scheduled = False

        def flush() -> None:
            nonlocal flushed, scheduled
            scheduled = False
            if self._finished:  # the relay ended (finish flushed it all) or the browser left
                return
            flushed = self.flush()
            flushed.add_done_callback(lambda f: f.cancelled() or f.exception())  # a closed browser: seen elsewhere

        async for chunk in response.content.iter_any():
            out = scrubber.feed(chunk)
            if not out:
                continue
            if flushed is not None and not flushed.done():
                await flushed
            self.write(out)
            if not scheduled:
                scheduled = True
                loop.call_soon(flush)

    def _cut(self, error: Exception, bridge: AievBridge, content_type: str) -> None:
        """The upstream failed after its headers: say so in the answer's own form."""
        timed_out = isinstance(error, asyncio.TimeoutError)
        if timed_out:
            what, code = f"stopped sending for {bridge.request_timeout:g} s", "upstream_timeout"
        else:
            what, code = f"cut the answer ({_transport_reason(error)})", "upstream_cut"
        body = error_body(f"model endpoint {bridge.origin} {what}", "upstream_cut", code)
        if self._headers_written:  # mid-stream: an SSE error event (the SDK raises it), after any partial event
            self.write(b"\n\ndata: " + json.dumps(body).encode() + b"\n\n")
            return self.finish(set_content_type=content_type)
        self._send_error(504 if timed_out else 502, body)


class ChatCompletionsHandler(ModelProxyHandler):
    """``POST /aiev/llm/v1/chat/completions`` → ``<endpoint>/chat/completions``."""

    upstream_path = "/chat/completions"

    @tornado.web.authenticated
    async def post(self):
        await self._proxy("POST")


class ModelsHandler(ModelProxyHandler):
    """``GET /aiev/llm/v1/models`` → ``<endpoint>/models``."""

    upstream_path = "/models"

    @tornado.web.authenticated
    async def get(self):
        await self._proxy("GET")


#: Routes under ``<base_url>aiev/``.
ROUTES = [("llm/v1/chat/completions", ChatCompletionsHandler), ("llm/v1/models", ModelsHandler)]
