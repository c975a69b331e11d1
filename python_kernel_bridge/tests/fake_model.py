"""Test helper: a real OpenAI-compatible HTTP server on 127.0.0.1 (tornado, in the test's event loop), the model
endpoint the bridge's proxy forwards to. The project's scripted model is TypeScript (test/scripted-model/); this
is its small Python counterpart for pytest.

Each ``POST /v1/chat/completions`` (and ``GET /v1/models``) is recorded in ``model.requests`` (method, path,
query, headers, body, the client's address) and answered by the next entry of ``model.script``:

- ``{"json": obj, "status"?: 200, "headers"?: {...}}``: that body;
- ``{"events": [str, ...], "gate"?: asyncio.Event}``: ``text/event-stream``, each string sent as ``data: …``
  and flushed on its own; with ``gate``, the server waits for it to be set after the first event (the test
  decides when the rest comes); ``model.disconnected`` is set when the client goes away mid-answer;
- ``{"raw": [str, ...]}``: ``text/event-stream`` whose bytes are these strings as they are, each flushed on its
  own, 0.2 s apart (one value split over two TCP writes);
- ``{"cut": obj}``: headers announcing the whole JSON body, half of it, then the connection closed;
- ``{"hang": True}``: never answers (until the client disconnects).

An exhausted script answers 500 (``script exhausted``).

``FakeModel(tls=True)`` serves HTTPS with the self-signed certificate for 127.0.0.1 in ``tls/`` (``CERT``).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

#: The certificate ``FakeModel(tls=True)`` serves (self-signed, for 127.0.0.1; a client trusts it with this file).
CERT = Path(__file__).parent / "tls" / "cert.pem"


def completion(content: str, model: str = "fake-model") -> dict[str, Any]:
    """A ``chat.completion`` body whose message says ``content``."""
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chunk(content: str | None, finish: str | None = None) -> str:
    """One ``chat.completion.chunk`` as JSON text."""
    delta = {} if content is None else {"content": content}
    return json.dumps({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    })


def stream_of(*parts: str) -> list[str]:
    """SSE data for a streamed reply saying ``parts`` in order, then ``[DONE]``."""
    return [chunk(p) for p in parts] + [chunk(None, "stop"), "[DONE]"]


class _Handler(tornado.web.RequestHandler):
    def initialize(self, model: FakeModel) -> None:
        self.model = model

    def on_connection_close(self) -> None:
        self.model.disconnected.set()

    async def _answer(self) -> None:
        self.model.requests.append({
            "method": self.request.method, "path": self.request.path, "query": self.request.query,
            "headers": dict(self.request.headers), "body": self.request.body,
            "peer": self.request.connection.stream.socket.getpeername(),
        })
        if not self.model.script:
            self.set_status(500)
            return self.finish({"error": {"message": "script exhausted", "type": "server_error", "code": None}})
        turn = self.model.script.pop(0)
        for name, value in turn.get("headers", {}).items():
            self.set_header(name, value)
        if turn.get("hang"):
            await self.model.disconnected.wait()
            return
        if "cut" in turn:
            body = json.dumps(turn["cut"]).encode()
            self.set_header("Content-Type", "application/json")
            self.set_header("Content-Length", str(len(body)))
            self.write(body[: len(body) // 2])
            await self.flush()
            self.request.connection.stream.close()
            return
        if "events" not in turn and "raw" not in turn:
            self.set_status(turn.get("status", 200))
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps(turn["json"]))
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        for number, data in enumerate(turn.get("raw", [])):
            if number:
                await asyncio.sleep(0.2)
            self.write(data)
            await self.flush()
        for number, event in enumerate(turn.get("events", [])):
            self.write(f"data: {event}\n\n")
            await self.flush()
            if number == 0 and turn.get("gate") is not None:
                await turn["gate"].wait()
        self.finish()

    async def post(self) -> None:
        await self._answer()

    async def get(self) -> None:
        await self._answer()


class FakeModel:
    """The server; ``base_url`` is ``http://127.0.0.1:<port>/v1`` (``https://`` with ``tls``)."""

    def __init__(self, tls: bool = False) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.disconnected = asyncio.Event()
        # also as an HTTP proxy would be asked: ``POST http://<host>/v1/chat/completions``
        routes = [(r"(?:http://[^/]+)?/v1/(?:chat/completions|models)", _Handler, {"model": self})]
        app = tornado.web.Application(routes)
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/v1"
        context = None
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(CERT, CERT.with_name("key.pem"))
        self._server = HTTPServer(app, ssl_options=context)
        self._server.add_sockets(sockets)

    def stop(self) -> None:
        self._server.stop()
