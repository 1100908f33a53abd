"""The local HTTP server: uvicorn (h11) serving the ASGI adapter in `asgi.py` on a thread of its own.

uvicorn brings what the hand-written `ThreadingHTTPServer` lacked: a real listen backlog, a request parser
that refuses bad framing (non-numeric, negative or conflicting Content-Length) instead of waiting or
closing, and an event loop that reads every connection concurrently. What uvicorn leaves open is added here
and in the app, nothing more: a deadline for the request headers (uvicorn has none, only a keep-alive
timer that the first byte cancels), a deadline and a size limit for the body, and the JSON error envelope
on the parser's own refusals (uvicorn answers those in plain text).
"""

from __future__ import annotations

import asyncio
import http
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .asgi import (
    SECURITY_HEADERS,
    ApiHandler,
    LambdaContext,
    Limits,
    LocalApp,
    apigw_v2_event,
    error_body,
)
from .bell import EventBell
from .issuer import LocalIssuer

__all__ = ["SECURITY_HEADERS", "LambdaContext", "Limits", "LocalServer", "apigw_v2_event"]

# h11's hint for each refusal, named for the error envelope.
_CODES = {400: "bad_request", 408: "request_timeout", 431: "headers_too_large", 501: "not_implemented"}


class _Connection(h11.Connection):
    """h11's connection, remembering why it refused a request so the answer can carry its status."""

    refusal: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refusal = exc
            raise


def _raw_refusal(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, written without h11: a request that never
    finished its headers leaves h11 in a state where it will not send a response."""
    body = error_body(_CODES.get(status, "bad_request"), message)
    head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", "content-type: application/json"]
    head += [f"content-length: {len(body)}", "connection: close"]
    head += [f"{k.lower()}: {v}" for k, v in SECURITY_HEADERS.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


LINGER_SECONDS = 2.0


class _LingeringTransport:
    """The connection's transport, closing the way HTTP servers must after refusing a request early.

    A refusal (413, 431, 408, ...) is often sent while the client is still sending: closing the socket
    with unread data makes the kernel answer with a reset, and the client loses the answer. So `close()`
    sends the response and a FIN, discards whatever still arrives, and closes for good when the client
    closes or after LINGER_SECONDS (what Apache and nginx call a lingering close). Only while the client
    may still be sending: an idle or finished connection closes at once (so stopping stays fast).
    """

    def __init__(
        self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, client_sending: Callable[[], bool]
    ) -> None:
        self._transport = transport
        self._loop = loop
        self._client_sending = client_sending
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.is_closing():
            return
        if not self._client_sending() or not self._transport.can_write_eof():
            self._transport.close()
            return
        try:
            self._transport.write_eof()
        except OSError:  # the client is already gone: nothing to linger for
            self._transport.close()
            return
        self.lingering = True
        self._transport.resume_reading()  # uvicorn may have paused reading: drain instead
        self._loop.call_later(LINGER_SECONDS, self._transport.close)


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a header deadline and JSON refusals (`Config(http=...)` takes a class)."""

    limits: Limits  # set on the subclass LocalServer builds

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _Connection(h11.SERVER, self.limits.max_header_bytes)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._lingering = _LingeringTransport(transport, self.loop, self._client_sending)
        super().connection_made(self._lingering)  # type: ignore[arg-type]
        self._arm_header_timer()

    def _client_sending(self) -> bool:
        """Whether part of a request is still on its way: an unread body, a refused or unfinished head."""
        return self.conn.their_state in (h11.SEND_BODY, h11.ERROR) or bool(self.conn.trailing_data[0])

    def data_received(self, data: bytes) -> None:
        if self._lingering.lingering:
            return  # the answer is sent: what the client still sends is read only to be discarded
        super().data_received(data)

    def on_response_complete(self) -> None:
        # Arm before uvicorn resumes a pipelined request: that request replaces `self.cycle`, which disarms.
        self._arm_header_timer()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        if not self.transport.is_closing():
            cycle = self.cycle  # the next request's headers must arrive before the deadline
            self._header_timer = self.loop.call_later(self.limits.header_timeout, self._headers_late, cycle)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self, cycle: object) -> None:
        if self.cycle is not cycle or self.transport.is_closing():
            return  # the headers arrived (a new request cycle began), or the connection is gone
        if self.conn.trailing_data[0]:  # part of a request is waiting for the rest: say why it failed
            message = f"request headers not received within {self.limits.header_timeout:g}s"
            self.transport.write(_raw_refusal(408, message))
        self.transport.close()  # nothing sent at all: close quietly, as an idle keep-alive connection is

    def send_400_response(self, msg: str) -> None:
        refusal = self.conn.refusal if isinstance(self.conn, _Connection) else None
        status = refusal.error_status_hint if refusal is not None else 400
        if status == 431:
            message = f"request line and headers exceed {self.limits.max_header_bytes} bytes"
        else:
            message = f"invalid HTTP request: {refusal}" if refusal is not None else msg
        self._disarm_header_timer()
        self.transport.write(_raw_refusal(status, message))
        self.transport.close()


class LocalServer:
    """Binds at construction (the issuer URL needs the port), serves after `start()`, frees it at `stop()`."""

    def __init__(
        self,
        issuer: LocalIssuer | None,
        api_handler: ApiHandler | None,
        static_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 8000,
        limits: Limits | None = None,
    ) -> None:
        self.issuer = issuer
        self.api_handler = api_handler
        self.broker_handler: ApiHandler | None = None
        self.hook_handler: ApiHandler | None = None
        self.static_dir = static_dir
        self.demo_hits: dict[str, int] = {}
        self.event_bell: EventBell | None = None  # rung when events commit (local mode's store)
        self.ingress_door: Any = None  # POST /local/sqs and /local/events (local mode's moto)
        self.limits = limits or Limits()
        self._sock = socket.create_server((host, port), backlog=self.limits.backlog, reuse_port=False)
        self.port = int(self._sock.getsockname()[1])
        self.app = LocalApp(self, self.limits)
        protocol = type("LocalProtocol", (_Protocol,), {"limits": self.limits})
        config = uvicorn.Config(
            self.app,
            http=protocol,
            ws="none",
            lifespan="off",
            interface="asgi3",
            loop="asyncio",
            log_config=None,  # leave the process's logging as the entry point configured it
            access_log=False,
            proxy_headers=False,  # the caller's address is the socket's: no X-Forwarded-For from anyone
            server_header=False,
            backlog=self.limits.backlog,
            timeout_keep_alive=self.limits.keep_alive,
            timeout_graceful_shutdown=5,
            h11_max_incomplete_event_size=self.limits.max_header_bytes,
        )
        uvicorn_log = logging.getLogger("uvicorn.error")
        if uvicorn_log.level == logging.NOTSET:  # its "server process started/finished" lines mislead here
            uvicorn_log.setLevel(logging.WARNING)
        self._uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [self._sock]}, name="nexod-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local HTTP server did not start on port {self.port}")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving (in-flight requests finish, up to 5 s), close the socket, join every thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._uvicorn.should_exit = True
            self._thread.join(timeout=15)
        self._sock.close()  # uvicorn closes it too; closing twice is harmless and covers "never started"
        self.app.close()
