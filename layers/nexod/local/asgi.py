"""The local adapter as an ASGI app: each HTTP request becomes an API Gateway HTTP API (v2) event.

Routes:  /v1/*  -> the API Lambda handler (exactly the deployed code path), on one worker thread
         /local-issuer/.well-known/jwks.json, POST /local/dev-token   (local sign-in)
         POST /local/sqs, POST /local/events   (a message onto moto's ingress queue, an event onto a bus)
         /demo/*  sample endpoints the example flows call
         /*  the console (static files) with single-page-app fallback

Run events (`GET /v1/workspaces/{ws}[/runs/{run}]/events`): a long poll (`wait`) or a Server-Sent Events
stream (`Accept: text/event-stream`) must not hold the one API thread, so this adapter asks the API with
`wait=0` and does the waiting itself on the event loop, woken by the store's `EventBell` (with a poll as
the fallback). Each read is a whole API request, so every one is authenticated and authorised again.

Why one API worker thread: Powertools keeps the current event and Lambda context on class attributes of
`BaseRouter` and the routing context on the module-level resolver, so two requests resolved at once read
each other's caller (measured: tests/bench/api_concurrency.py). A Lambda container also serves one request
at a time. Everything else (accepting, parsing, reading bodies, jwks, demo, static files) stays concurrent
on the event loop, so the API never waits behind a slow client and the API's own JWKS fetch from this
server is answered while the API thread is busy.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import mimetypes
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

from .bell import EventBell
from .demo import demo_weather
from .issuer import USERS, LocalIssuer

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
BROKER_PREFIX = "/v1/broker/"
HOOK_PREFIX = "/v1/hooks/"
ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

EVENTS_PATH = re.compile(r"^/v1/workspaces/[^/]+(/runs/[^/]+)?/events$")
EVENT_POLL_SECONDS = 0.25  # when the bell does not ring (a reader waiting on an older transaction's commit)
SSE_KEEPALIVE_SECONDS = 15.0
SSE_MAX_SECONDS = 3600.0  # a stream ends after an hour; EventSource-style clients reconnect with Last-Event-ID
SERVED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
    " connect-src 'self'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Limits:
    """What the local server accepts. Defaults are API Gateway's shape at laptop scale."""

    backlog: int = 2048  # the old server's 5 dropped 15-34 % of connections at 50 concurrent run starts
    max_header_bytes: int = 32 * 1024  # request line + headers (API Gateway allows ~10 KB of headers)
    max_body_bytes: int = 2 * 1024 * 1024  # the API handler's MAX_BODY_BYTES: refuse before buffering more
    header_timeout: float = 10.0  # from connection (or previous response) to the end of the headers
    body_timeout: float = 30.0  # for the whole body, so a trickle of bytes cannot hold a request open
    keep_alive: int = 5  # idle seconds before a kept-alive connection is closed
    max_pending_api: int = 256  # API requests waiting for the API thread before answering 503


class Backend(Protocol):
    """The mutable parts the app reads on every request (boot wires the issuer and handler late)."""

    issuer: LocalIssuer | None
    api_handler: ApiHandler | None
    # The agent broker (/v1/broker/*): no Powertools resolver state, so it runs on its own threads and a
    # runner's long LLM call never holds up the API, nor another runner's heartbeat.
    broker_handler: ApiHandler | None
    # Webhook deliveries (/v1/hooks/*): before the resolver too, and a synchronous one waits for its run, so
    # they run on the broker's threads rather than holding the one API thread.
    hook_handler: ApiHandler | None
    event_bell: EventBell | None
    static_dir: Path | None
    demo_hits: dict[str, int]


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)


class Refusal(Exception):
    """A request this server answers itself with the error envelope."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


class ClientGone(Exception):
    """The client disconnected before its request was complete: there is nobody to answer."""


def error_body(code: str, message: str, details: Any = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


def json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(value).encode(), "application/json", dict(headers or {}))


def refusal_response(refusal: Refusal, close: bool) -> Response:
    headers = dict(refusal.headers)
    if close:  # the rest of the request was not read: the connection cannot carry another one
        headers["Connection"] = "close"
    body = error_body(refusal.code, refusal.message, refusal.details)
    return Response(refusal.status, body, "application/json", headers)


class LambdaContext:
    """Enough of Lambda's context object for Powertools."""

    function_name = "nexod-api-local"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nexod-api-local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/local/nexod-api"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def apigw_v2_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
    """The event API Gateway's HTTP API (payload format 2.0) would hand the Lambda for this request."""
    parts = urlsplit(raw_path)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    # A webhook's signature covers its bytes as sent: they travel base64-encoded, as API Gateway sends binary.
    hook = parts.path.startswith("/v1/hooks/")
    text = (base64.b64encode(body).decode() if hook else body.decode("utf-8", errors="replace")) if body else None
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": hook and bool(body),
    }


def lambda_response(result: dict[str, Any]) -> Response:
    """An API Gateway v2 Lambda proxy result as an HTTP response."""
    payload = result.get("body") or ""
    if result.get("isBase64Encoded"):
        data = base64.b64decode(payload)
    else:
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items() if str(k).lower() != "content-length"}
    content_type = "application/json"
    for key in [k for k in headers if k.lower() == "content-type"]:
        content_type = headers.pop(key)
    cookies = [str(c) for c in result.get("cookies") or []]
    return Response(int(result.get("statusCode", 200)), data, content_type, headers, cookies)


def _accepts_stream(scope: Scope) -> bool:
    return any(name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"])


def _wait_of(pairs: list[tuple[str, str]]) -> float | None:
    """The long poll's `wait` when it is a positive number of seconds; else None (the API answers it)."""
    values = [v for k, v in pairs if k == "wait"]
    if len(values) != 1:
        return None
    try:
        wait = float(values[0])
    except ValueError:
        return None
    return wait if 0 < wait < float("inf") else None


def _events_target(path: str, pairs: list[tuple[str, str]], **replace: str | None) -> str:
    kept = [(k, v) for k, v in pairs if k not in replace]
    kept += [(k, v) for k, v in replace.items() if v is not None]
    return f"{path}?{urlencode(kept)}" if kept else path


def _items(response: Response) -> bool:
    try:
        return bool(json.loads(response.body).get("items"))
    except (ValueError, AttributeError):
        return True  # not a page of events: answer it as it is


class LocalApp:
    """The ASGI application uvicorn serves (see the module docstring for the routes)."""

    def __init__(self, backend: Backend, limits: Limits) -> None:
        self.backend = backend
        self.limits = limits
        self.api_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nexod-api")
        self.broker_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="nexod-broker")
        self._pending_api = 0  # touched only on the event loop thread

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off and websockets are not served
            return
        method = str(scope["method"])
        path = bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        body_read = False
        try:
            if method not in SERVED_METHODS:
                details = {"allowed": list(SERVED_METHODS)}
                message = f"{method} is not served here"
                raise Refusal(405, "method_not_allowed", message, details, {"Allow": ", ".join(SERVED_METHODS)})
            self._check_head_size(scope, method)
            body = await self._read_body(scope, receive)
            body_read = True
            if method == "GET" and EVENTS_PATH.match(urlsplit(path).path) and _accepts_stream(scope) and not body:
                await self._stream_events(scope, path, send, receive)
                return
            response = await self._route(scope, method, path, body)
        except ClientGone:
            return
        except Refusal as refusal:
            response = refusal_response(refusal, close=not body_read)
        except Exception:
            log.exception("local server error on %s %s", method, path)
            response = Response(500, error_body("internal", "internal error"), "application/json")
        await self._send(send, response)

    def _check_head_size(self, scope: Scope, method: str) -> None:
        # h11 bounds only what is still incomplete: headers that arrive in one read are parsed whole.
        size = len(method) + len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 12
        size += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if size > self.limits.max_header_bytes:
            message = f"request line and headers exceed {self.limits.max_header_bytes} bytes"
            raise Refusal(431, "headers_too_large", message)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.limits.max_body_bytes
        for name, value in scope["headers"]:
            # h11 has already refused a Content-Length that is not a non-negative integer (400).
            if name == b"content-length" and int(value) > limit:
                raise Refusal(413, "payload_too_large", f"request body is {int(value)} bytes; the limit is {limit}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(deadline - loop.time(), 0))
            except TimeoutError:
                raise Refusal(
                    408, "request_timeout", f"request body not received within {self.limits.body_timeout:g}s"
                ) from None
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:  # a chunked body carries no Content-Length: count as it arrives
                raise Refusal(413, "payload_too_large", f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _route(self, scope: Scope, method: str, raw_target: str, body: bytes) -> Response:
        path = urlsplit(raw_target).path
        query_string = bytes(scope.get("query_string") or b"").decode("latin-1")
        target = f"{raw_target}?{query_string}" if query_string else raw_target
        backend = self.backend
        if method == "GET" and EVENTS_PATH.match(path) and not body:  # a body: the API's door judges it
            return await self._long_poll(scope, path, query_string)
        if path.startswith("/v1/") or path == "/v1":
            return await self._api(scope, method, target, body)
        if path == "/local-issuer/.well-known/jwks.json" and backend.issuer is not None:
            return json_response(200, backend.issuer.jwks)
        if path == "/local/dev-token" and method == "POST":
            return self._dev_token(body)
        if path in ("/local/sqs", "/local/events") and method == "POST":
            return await asyncio.to_thread(self._ingress, path, body)
        if path.startswith("/demo/"):
            return self._demo(method, path, query_string, body)
        if method in ("GET", "HEAD"):
            return await asyncio.to_thread(self._static, path)
        return Response(404, error_body("not_found", f"no route {path}"), "application/json")

    async def _api(self, scope: Scope, method: str, target: str, body: bytes) -> Response:
        if self._pending_api >= self.limits.max_pending_api:
            raise Refusal(
                503, "busy", f"{self._pending_api} API requests are already waiting", None, {"Retry-After": "1"}
            )
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value  # as API Gateway joins them
        client = scope.get("client") or ("127.0.0.1", 0)
        event = apigw_v2_event(method, target, headers, body, str(client[0]))
        self._pending_api += 1
        try:
            loop = asyncio.get_running_loop()
            if target.startswith(BROKER_PREFIX) and self.backend.broker_handler is not None:
                result = await loop.run_in_executor(self.broker_executor, self._invoke_broker, event)
            elif target.startswith(HOOK_PREFIX) and self.backend.hook_handler is not None:
                result = await loop.run_in_executor(self.broker_executor, self._invoke_hook, event)
            else:
                result = await loop.run_in_executor(self.api_executor, self._invoke_api, event)
        finally:
            self._pending_api -= 1
        return lambda_response(result)

    # -- run events: long poll and Server-Sent Events, waiting here rather than on the API thread ----------
    async def _long_poll(self, scope: Scope, path: str, query_string: str) -> Response:
        pairs = parse_qsl(query_string, keep_blank_values=True)
        wait = _wait_of(pairs)
        if wait is None:  # no wait, or one the API must refuse itself (422 naming it)
            target = f"{path}?{query_string}" if query_string else path
            return await self._api(scope, "GET", target, b"")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait, 25.0)
        bell = self.backend.event_bell
        while True:
            rung = bell.rung if bell is not None else 0
            response = await self._api(scope, "GET", _events_target(path, pairs, wait="0"), b"")
            if response.status != 200 or _items(response) or loop.time() >= deadline:
                return response
            await self._until_events(bell, rung, min(EVENT_POLL_SECONDS, deadline - loop.time()))

    async def _until_events(self, bell: EventBell | None, rung: int, timeout: float) -> None:
        if timeout <= 0:
            return
        if bell is None:
            await asyncio.sleep(timeout)
        else:
            await bell.wait(rung, timeout)

    async def _stream_events(self, scope: Scope, raw_path: str, send: Send, receive: Receive) -> None:
        """The same events as a Server-Sent Events stream: `id` is the cursor, `event` the type, `data` the
        event's JSON; resumes after `Last-Event-ID` (or `after`)."""
        path = urlsplit(raw_path).path
        pairs = [(k, v) for k, v in parse_qsl(bytes(scope.get("query_string") or b"").decode("latin-1")) if k != "wait"]
        after = dict(pairs).get("after")
        for name, value in scope["headers"]:
            if name == b"last-event-id" and value:
                after = value.decode("latin-1")
        loop = asyncio.get_running_loop()
        bell = self.backend.event_bell
        rung = bell.rung if bell is not None else 0
        first = await self._api(scope, "GET", _events_target(path, pairs, after=after), b"")
        if first.status != 200:
            await self._send(send, first)
            return
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        raw = [(b"content-type", b"text/event-stream; charset=utf-8")]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        ends = loop.time() + SSE_MAX_SECONDS
        quiet_since = loop.time()
        response = first
        try:
            await send({"type": "http.response.body", "body": b"retry: 1000\n\n", "more_body": True})
            while not gone.is_set() and loop.time() < ends:
                if response.status != 200:  # the token expired, access was removed: say so and end
                    chunk = f"event: error\ndata: {response.body.decode('utf-8', 'replace')}\n\n".encode()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    break
                page = json.loads(response.body)
                chunks = [
                    f"id: {item['cursor']}\nevent: {item['type']}\ndata: {json.dumps(item)}\n\n"
                    for item in page.get("items", [])
                ]
                after = page.get("cursor", after)
                if chunks:
                    await send({"type": "http.response.body", "body": "".join(chunks).encode(), "more_body": True})
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= SSE_KEEPALIVE_SECONDS:
                    await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
                    quiet_since = loop.time()
                if not chunks:
                    waits = [
                        asyncio.ensure_future(self._until_events(bell, rung, EVENT_POLL_SECONDS)),
                        asyncio.ensure_future(gone.wait()),
                    ]
                    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    for task in pending:
                        task.cancel()
                if gone.is_set():
                    break
                rung = bell.rung if bell is not None else 0
                response = await self._api(scope, "GET", _events_target(path, pairs, after=after), b"")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            watcher.cancel()

    def _invoke_api(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = self.backend.api_handler
        if handler is None:
            raise Refusal(503, "not_ready", "the API is still starting", None, {"Retry-After": "1"})
        return handler(event, LambdaContext())

    def _invoke_hook(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = self.backend.hook_handler
        assert handler is not None
        return handler(event, LambdaContext())

    def _invoke_broker(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = self.backend.broker_handler
        assert handler is not None
        return handler(event, LambdaContext())

    def _dev_token(self, body: bytes) -> Response:
        try:
            parsed = json.loads(body or b"{}")
            user = str(parsed.get("user", "")) if isinstance(parsed, dict) else ""
        except ValueError:
            user = ""
        issuer = self.backend.issuer
        if user not in USERS or issuer is None:
            message = f"user: one of {', '.join(USERS)}"
            return Response(422, error_body("invalid_request", message), "application/json")
        return json_response(200, {"token": issuer.token(user), "user": USERS[user]})

    def _ingress(self, path: str, body: bytes) -> Response:
        """What `aws sqs send-message` / `aws events put-events` would do against moto, which lives in this
        process: the body is the message (any JSON) or `{"source", "detail-type", "detail", "bus"?}`."""
        door = getattr(self.backend, "ingress_door", None)
        if door is None:
            return Response(503, error_body("not_ready", "local ingress is not running"), "application/json")
        try:
            if path == "/local/sqs":
                if not body.strip():
                    return Response(422, error_body("invalid_request", "body: the message"), "application/json")
                return json_response(202, door.send(body.decode("utf-8", "replace")))
            try:
                entry = json.loads(body or b"{}")
            except ValueError:
                entry = None
            if not isinstance(entry, dict) or not entry.get("source") or not entry.get("detail-type"):
                message = 'body: {"source", "detail-type", "detail", "bus"?}'
                return Response(422, error_body("invalid_request", message), "application/json")
            answer = door.put_event(entry)
        except Exception as exc:  # moto refused it (e.g. a bus that does not exist)
            log.warning("local ingress door: %s", exc)
            return Response(422, error_body("invalid_request", str(exc)[:300]), "application/json")
        return json_response(422 if "error" in answer else 202, answer)

    def _demo(self, method: str, path: str, query_string: str, body: bytes) -> Response:
        # Runs on the event loop thread only, so these counters need no lock.
        hits = self.backend.demo_hits
        hits[path] = hits.get(path, 0) + 1
        query = dict(parse_qsl(query_string))
        if "effect" in query:  # lets tests count one caller's side effects exactly
            effect = "effect:" + query["effect"]
            hits[effect] = hits.get(effect, 0) + 1
        if path == "/demo/weather":
            return json_response(200, demo_weather(query.get("city", "Lisbon")))
        if path == "/demo/echo":
            try:
                echoed = json.loads(body) if body else None
            except ValueError:
                echoed = body.decode("utf-8", errors="replace")
            return json_response(200, {"method": method, "query": query, "body": echoed})
        if path == "/demo/flaky":
            # Answers 503 for the first `fail` calls of each `key`, then 200.
            key = "flaky:" + query.get("key", "")
            hits[key] = hits.get(key, 0) + 1
            try:
                fail = int(query.get("fail", "1") or 1)
            except ValueError:
                raise Refusal(422, "invalid_request", "fail: an integer", {"field": "fail"}) from None
            if hits[key] <= fail:
                return json_response(503, {"error": "temporarily unavailable", "call": hits[key]})
            return json_response(200, {"ok": True, "call": hits[key]})
        if path == "/demo/hits":
            return json_response(200, dict(hits))
        return Response(404, error_body("not_found", f"no demo endpoint {path}"), "application/json")

    def _static(self, path: str) -> Response:
        root = self.backend.static_dir
        if root is None or not (root / "index.html").exists():
            message = b"Nexod API is running. The console is not built: run `make console`.\n"
            return Response(200, message, "text/plain; charset=utf-8")
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root.resolve()) or not target.is_file():
            target = root / "index.html"
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
        return Response(200, target.read_bytes(), content_type, {"Cache-Control": cache})

    async def _send(self, send: Send, response: Response) -> None:
        headers = {**SECURITY_HEADERS, **response.headers}  # the API's own headers win, as before
        raw = [(b"content-type", response.content_type.encode("latin-1"))]
        raw.append((b"content-length", str(len(response.body)).encode()))
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw += [(b"set-cookie", c.encode("latin-1")) for c in response.cookies]
        await send({"type": "http.response.start", "status": response.status, "headers": raw})
        await send({"type": "http.response.body", "body": response.body, "more_body": False})

    def close(self) -> None:
        self.api_executor.shutdown(wait=True, cancel_futures=True)
