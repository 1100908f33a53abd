"""The local HTTP server: API Gateway HTTP API (v2) events for the real Lambda handler, plus local extras.

Routes:  /v1/*  -> functions.api.handler (exactly the deployed code path)
         /local-issuer/.well-known/jwks.json, POST /local/dev-token   (local sign-in)
         /demo/*  sample endpoints the example flows call
         /*  the console (frontend/dist) with single-page-app fallback
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .demo import demo_weather
from .issuer import USERS, LocalIssuer

log = logging.getLogger(__name__)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
    " connect-src 'self'; frame-ancestors 'none'",
}


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
    parts = urlsplit(raw_path)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    text = body.decode("utf-8", errors="replace") if body else None
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": False,
    }


class LocalServer:
    def __init__(
        self,
        issuer: LocalIssuer | None,
        api_handler: Any,
        static_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 8000,
    ) -> None:
        self.issuer = issuer
        self.api_handler = api_handler
        self.static_dir = static_dir
        self.demo_hits: dict[str, int] = {}
        # A Lambda container serves one request at a time, and Powertools' resolver keeps the current
        # event and context on a module-level object: serialise calls into the handler the same way.
        self._api_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "nexod-local"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s " + fmt, self.address_string(), *args)

            def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _json(self, status: int, value: Any) -> None:
                self._send(status, json.dumps(value).encode(), "application/json")

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                try:
                    if path.startswith("/v1/") or path == "/v1":
                        self._api(body)
                    elif path == "/local-issuer/.well-known/jwks.json" and server.issuer is not None:
                        self._json(200, server.issuer.jwks)
                    elif path == "/local/dev-token" and self.command == "POST":
                        self._dev_token(body)
                    elif path.startswith("/demo/"):
                        self._demo(path, body)
                    elif self.command in ("GET", "HEAD"):
                        self._static(path)
                    else:
                        self._json(404, {"error": {"code": "not_found", "message": f"no route {path}"}})
                except Exception:
                    log.exception("local server error on %s %s", self.command, path)
                    self._json(500, {"error": {"code": "internal", "message": "internal error", "details": None}})

            def _api(self, body: bytes) -> None:
                event = apigw_v2_event(
                    self.command, self.path, dict(self.headers.items()), body, self.client_address[0]
                )
                with server._api_lock:
                    result = server.api_handler(event, LambdaContext())
                payload = result.get("body") or ""
                data = payload.encode() if isinstance(payload, str) else payload
                headers = {k: v for k, v in (result.get("headers") or {}).items() if k.lower() != "content-length"}
                content_type = headers.pop("Content-Type", headers.pop("content-type", "application/json"))
                self._send(int(result.get("statusCode", 200)), data, content_type, headers)

            def _dev_token(self, body: bytes) -> None:
                try:
                    user = str(json.loads(body or b"{}").get("user", ""))
                except json.JSONDecodeError:
                    user = ""
                if user not in USERS or server.issuer is None:
                    self._json(
                        422,
                        {
                            "error": {
                                "code": "invalid_request",
                                "message": f"user: one of {', '.join(USERS)}",
                                "details": None,
                            }
                        },
                    )
                    return
                self._json(200, {"token": server.issuer.token(user), "user": USERS[user]})

            def _demo(self, path: str, body: bytes) -> None:
                server.demo_hits[path] = server.demo_hits.get(path, 0) + 1
                query = dict(parse_qsl(urlsplit(self.path).query))
                if "effect" in query:  # lets tests count one caller's side effects exactly
                    effect = "effect:" + query["effect"]
                    server.demo_hits[effect] = server.demo_hits.get(effect, 0) + 1
                if path == "/demo/weather":
                    self._json(200, demo_weather(query.get("city", "Lisbon")))
                elif path == "/demo/echo":
                    self._json(
                        200,
                        {"method": self.command, "query": query, "body": json.loads(body) if body else None},
                    )
                elif path == "/demo/flaky":
                    # Answers 503 for the first `fail` calls of each `key`, then 200.
                    key = "flaky:" + query.get("key", "")
                    server.demo_hits[key] = server.demo_hits.get(key, 0) + 1
                    if server.demo_hits[key] <= int(query.get("fail", "1") or 1):
                        self._json(503, {"error": "temporarily unavailable", "call": server.demo_hits[key]})
                    else:
                        self._json(200, {"ok": True, "call": server.demo_hits[key]})
                elif path == "/demo/hits":
                    self._json(200, server.demo_hits)
                else:
                    self._json(404, {"error": {"code": "not_found", "message": f"no demo endpoint {path}"}})

            def _static(self, path: str) -> None:
                root = server.static_dir
                if root is None or not (root / "index.html").exists():
                    message = b"Nexod API is running. The console is not built: run `make console`.\n"
                    self._send(200, message, "text/plain; charset=utf-8")
                    return
                target = (root / path.lstrip("/")).resolve()
                if not target.is_relative_to(root.resolve()) or not target.is_file():
                    target = root / "index.html"
                content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
                self._send(200, target.read_bytes(), content_type, {"Cache-Control": cache})

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="nexod-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
