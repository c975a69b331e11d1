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

One ``httpx.AsyncClient`` per server (``CLIENT_SETTING``): a connection pool with keep-alive to the endpoint,
``Accept-Encoding: identity`` so the bytes pass through as they are. Tornado's simple client spends ~0.5 ms less
CPU per request on plain loopback HTTP, but opens a connection per request (measured over TLS on loopback: 2.9-3.8
ms a request against 1.2-1.7 ms for httpx's kept-alive one, before the two network round trips a new connection to
a remote endpoint costs) and cannot drop a request the model has not started answering when the browser leaves.

Added latency (``bench/proxy.ts``, 2-core VM): +2.6-3.5 ms per model turn over calling the model directly, of
which 0.7-0.8 ms is Jupyter's handling of any authenticated request (a no-op route); py-spy on the server puts the
rest in httpx's upstream exchange (34% of its samples) and tornado's writing of the answer (21%), socket writes
mostly; this module's own code is 1.4%.
"""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import tornado
from tornado.iostream import StreamClosedError
from jupyter_server.base.handlers import APIHandler

from .config import SETTING, AievBridge

#: Key in the tornado application settings: the server's ``httpx.AsyncClient``.
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


def make_client(bridge: AievBridge) -> httpx.AsyncClient:
    """The pooled client the proxy forwards with."""
    timeout = httpx.Timeout(bridge.request_timeout, connect=min(bridge.request_timeout, _CONNECT_TIMEOUT))
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=60)
    return httpx.AsyncClient(timeout=timeout, limits=limits, headers={"accept-encoding": "identity"})


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
        if bridge.endpoint is None:
            body = error_body(bridge.message, "aiev_not_configured", "not_configured")
            return self._send_error(503, body, retry=False)
        self._relay = asyncio.ensure_future(self._forward(method, bridge))
        try:
            await self._relay
        except (asyncio.CancelledError, StreamClosedError):
            if not self.request.connection.stream.closed():
                raise
            self.log.info("aiev proxy: the browser disconnected; upstream request to %s closed", bridge.origin)

    async def _forward(self, method: str, bridge: AievBridge) -> None:
        client: httpx.AsyncClient = self.settings[CLIENT_SETTING]
        headers = {name: self.request.headers[name] for name in FORWARDED if name in self.request.headers}
        if bridge.api_key:
            headers["authorization"] = f"Bearer {bridge.api_key}"
        query = self.request.query
        url = bridge.endpoint + self.upstream_path + (f"?{query}" if query else "")
        request = client.build_request(method, url, content=self.request.body or None, headers=headers)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException:
            message = f"model endpoint {bridge.origin} did not answer within {bridge.request_timeout:g} s"
            return self._send_error(504, error_body(message, "upstream_timeout", "upstream_timeout"))
        except httpx.TransportError as error:
            message = f"model endpoint {bridge.origin} unreachable: {_transport_reason(error)}"
            return self._send_error(502, error_body(message, "upstream_unreachable", "upstream_unreachable"))
        try:
            await self._pass_back(response, bridge)
        finally:
            await response.aclose()

    async def _pass_back(self, response: httpx.Response, bridge: AievBridge) -> None:
        scrubber = KeyScrubber(bridge.api_key)
        for name, value in response.headers.items():
            if name in PASSED_BACK or name.startswith("x-ratelimit-"):
                self.set_header(name, scrubber.whole(value.encode()).decode())
        content_type = response.headers.get("content-type", "application/json")
        try:
            if response.status_code >= 400:
                body = scrubber.whole(await response.aread())
                self.set_status(response.status_code)
                return self.finish(json.dumps(upstream_error(response.status_code, body, bridge)))
            self.set_status(response.status_code)
            if not content_type.startswith("text/event-stream"):
                return self.finish(scrubber.whole(await response.aread()), set_content_type=content_type)
            self.request.connection.stream.set_nodelay(True)  # each event out at once (no Nagle wait for an ACK)
            self.set_header("Cache-Control", "no-cache")
            self.set_header("X-Accel-Buffering", "no")  # a reverse proxy in front of Jupyter must not buffer it
            await self._relay_events(response, scrubber)
            self.write(scrubber.end())
        except (httpx.TransportError, httpx.StreamError) as error:
            self._cut(error, bridge, content_type)
            return None
        self.finish(set_content_type=content_type)

    async def _relay_events(self, response: httpx.Response, scrubber: KeyScrubber) -> None:
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

        async for chunk in response.aiter_raw():
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
        timed_out = isinstance(error, httpx.TimeoutException)
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
