"""Loopback HTTP servers that record what they receive and misbehave on request (redirects, endless
streams, trickles), for the outbound guard's tests."""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote


class Recorder(ThreadingHTTPServer):
    """A loopback server that records each request (path, headers, body) and streams what it is told to."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], name: str) -> None:
        super().__init__(address, _Handler)
        self.name = name
        self.requests: list[dict[str, Any]] = []
        self.bytes_sent = 0
        self.finished_streaming = threading.Event()
        self.redirect_to = ""  # where /away redirects (another origin)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def hostport(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: Recorder
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "all_headers": list(self.headers.items()),
                "body": body,
            }
        )

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.do_GET()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._record()
        path = self.path.split("?", 1)[0]
        if path.startswith("/loop/"):
            n = int(path.rsplit("/", 1)[1])
            self._send(302, Location=f"/loop/{n + 1}")
        elif path == "/to-metadata":
            self._send(302, Location="http://169.254.169.254/latest/meta-data/")
        elif path == "/hop":
            self._send(307, Location="/json")
        elif path.startswith("/away"):  # e.g. /away/307
            status = int(path.rsplit("/", 1)[1]) if path.count("/") == 2 else 302
            self._send(status, Location=f"{self.server.redirect_to}/landed")
        elif path.startswith("/same"):  # a same-origin redirect
            status = int(path.rsplit("/", 1)[1])
            self._send(status, Location="/landed")
        elif path == "/stream":  # chunked, no length, far more than any cap: stops only when the client goes
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1024):  # 64 MiB
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.server.bytes_sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            finally:
                self.server.finished_streaming.set()
        elif path == "/declared-huge":
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 40))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(b"x" * 1024)
        elif path == "/drip":  # one byte every 0.2 s: each read is quick, the whole response is not
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        elif path == "/stall":  # a byte, a pause, a byte, then silence: each read must respect the deadline
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.6)
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(5)
            except OSError:
                pass
        elif path == "/garbage":
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
        elif path == "/badutf8":
            self._send(200, b"\xff\xfeok", Content_Type="text/plain")
        elif path == "/slow":
            time.sleep(2)
            self._send(200)
        elif path.startswith("/echo-headers"):  # what a careless API does: reflect the credentials it got
            body = json.dumps({"received": dict(self.headers.items())}).encode()
            status = 401 if path.endswith("/401") else 200
            self._send(status, body, Content_Type="application/json", Set_Cookie="session=abc123secret")
        elif path.startswith("/echo-encoded"):  # reflects X-Api-Key as base64 and URL-encoded text, and the query
            key = self.headers.get("X-Api-Key", "")
            reflected = {
                "b64": base64.b64encode(key.encode()).decode(),
                "urlencoded": quote(key, safe=""),
                "query": self.path.partition("?")[2],
            }
            self._send(200, json.dumps(reflected).encode(), Content_Type="application/json")
        elif path.startswith("/big/"):  # a JSON document with an n-character string: a large node output
            n = int(path.rsplit("/", 1)[1])
            body = json.dumps({"n": n, "blob": "".join(chr(97 + i % 26) for i in range(n))}).encode()
            self._send(200, body, Content_Type="application/json")
        elif path == "/cookie":
            self._send(200, b"{}", Content_Type="application/json", Set_Cookie="session=abc123secret")
        else:
            body = json.dumps({"hello": "world", "server": self.server.name}).encode()
            self._send(200, body, Content_Type="application/json")


@contextlib.contextmanager
def serving(
    host: str = "127.0.0.1", port: int = 0, name: str = "a", tls: ssl.SSLContext | None = None
) -> Iterator[Recorder]:
    server = Recorder((host, port), name)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
