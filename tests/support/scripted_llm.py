"""An OpenAI-compatible chat server whose answers a test scripts (stdlib only), and a JSON endpoint that
records the requests it receives: the two ends of the agent runner's tests.

`script(request)` gets the request body and returns the assistant's text (or raises `Hang` to keep the
connection open until the test ends: a model that never answers). Usage counts words, like the OpenAI stub.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Hang(Exception):
    """Raised by a script: the server holds the request until it is closed."""


def conversation(request: dict[str, Any]) -> str:
    """Everything the model was sent, as one text (what a script matches on)."""
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[dict[str, Any]] = []
        self.closing = threading.Event()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> _Server:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()


class _Json(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    def reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null") if length else None


def scripted_openai(script: Callable[[dict[str, Any]], str]) -> _Server:
    class Handler(_Json):
        server: _Server

        def do_POST(self) -> None:
            request = self.read() or {}
            self.server.requests.append({**request, "at": time.time()})
            try:
                answer = script(request)
            except Hang:
                self.server.closing.wait(120)
                return
            words_in = len(conversation(request).split())
            self.reply(
                200,
                {
                    "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", "scripted"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                    ],
                    "usage": {
                        "prompt_tokens": words_in,
                        "completion_tokens": len(answer.split()),
                        "total_tokens": words_in + len(answer.split()),
                    },
                },
            )

    return _Server(Handler)


def facts_endpoint(body: Any) -> _Server:
    """Answers `body` as JSON to any GET or POST, recording method, path and headers."""

    class Handler(_Json):
        server: _Server

        def do_GET(self) -> None:
            self.server.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers.items())})
            self.reply(200, body)

        def do_POST(self) -> None:
            payload = self.read()
            self.server.requests.append(
                {"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": payload}
            )
            self.reply(200, body)

    return _Server(Handler)
